/** A validated generation request as the pipeline sees it (no HTTP); who asked is src/lib/caller.ts. */
import type { InputFidelity, OutputFormat, ReferenceImage } from "../backends/backend";
import type { Size } from "../lib/size";

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
  /**
   * An edit's input images, already checked and stored (./references.ts turns what the caller
   * sent into these); only backends that edit are tried.
   */
  readonly references?: readonly ReferenceImage[];
  readonly mask?: ReferenceImage;
  /** Passed to backends that take it (OpenAI's GPT image edits); the others ignore it. */
  readonly inputFidelity?: InputFidelity;
}
