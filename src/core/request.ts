/** A validated generation request and its caller, as the pipeline sees them (no HTTP). */
import type { OutputFormat } from "../backends/backend";
import type { Size } from "../config/size";

export type Role = "admin" | "user";

export interface Caller {
  /** What usage rows and sidecars record as the caller: the name stored with the API key, never one the client sends. */
  readonly name: string;
  readonly role: Role;
}

export interface GenerationRequest {
  readonly prompt: string;
  readonly backend?: string;
  readonly size?: Size;
  /** 0 or absent = a fresh random seed (0 keeps the meaning `imagen` users know: "let the backend pick"). */
  readonly seed?: number;
  readonly steps?: number;
  readonly style?: string;
  readonly negative?: string;
  readonly n: number;
  /** Explicit object key instead of the naming template. */
  readonly output?: string;
  /** Overrides config's output.sidecar for this request. */
  readonly sidecar?: boolean;
  /** Free attribution label for usage reports. */
  readonly source?: string;
  /** The caller's own attribution (e.g. a post id), kept on every usage row: UsageEvent.ref. */
  readonly ref?: string;
  /** The caller's X-Request-Id, kept on every usage row: UsageEvent.client_request_id. */
  readonly clientRequestId?: string;
  /** Passed to backends that take them (OpenAI images); the others ignore them. */
  readonly quality?: string;
  readonly outputFormat?: OutputFormat;
}
