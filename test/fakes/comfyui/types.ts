/**
 * Options of one fake ComfyUI "box" (ComfyUI + the tunnel and Access in front of it). Shared by
 * the node server and the tests that steer it (types only: importable from workerd).
 */
export type AccessMode =
  /** Access' default for a browser-style request: 302 to the team's login page. */
  | "redirect"
  /** Strict service-auth policy: 403 with Access' HTML "Forbidden" page. */
  | "forbidden"
  /** 401 with an empty body. */
  | "unauthorized"
  /** 200 with the Access login page, as if a proxy had followed the redirect. */
  | "login_page";

interface AccessOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** What a request without the right CF-Access-Client-Id / Secret gets. Default "redirect". */
  readonly mode?: AccessMode;
  /** The Zero Trust team name in the login URL. Default "mrock". */
  readonly team?: string;
}

type TunnelMode =
  | "up"
  /** cloudflared not connected: Cloudflare answers 530 with its error 1033 page. */
  | "down"
  /** Tunnel up but nothing on the origin port: 502 Bad gateway page. */
  | "bad_gateway"
  /** Connection reset without an answer (box unreachable at the network level). */
  | "reset"
  /** Connection taken, no answer ever (a wedged tunnel or box): held until the client hangs up. */
  | "hang";

/** Model files the fake box "has", per ComfyUI models/ folder. */
export interface ModelFolders {
  readonly checkpoints?: readonly string[];
  readonly diffusion_models?: readonly string[];
  readonly vae?: readonly string[];
  readonly text_encoders?: readonly string[];
  readonly loras?: readonly string[];
}

export interface BoxOptions {
  /** Wall time per sampler step (EmptyImage-only jobs take one step). */
  readonly stepMs?: number;
  /** Extra wall time when a job loads a model the previous job did not. */
  readonly loadMs?: number;
  /** Put Cloudflare Access in front; null/absent = the box is not behind Access. */
  readonly access?: AccessOptions | null;
  readonly tunnel?: TunnelMode;
  readonly models?: ModelFolders;
  /** false: /view answers chunked, without Content-Length. Default true (aiohttp FileResponse). */
  readonly viewContentLength?: boolean;
  /** Like `--disable-metadata`: no prompt/workflow text chunks in saved PNGs. */
  readonly disableMetadata?: boolean;
  /** Servers before v0.38 ignore the client's prompt_id and make their own. */
  readonly legacyPromptIds?: boolean;
  /** While true the queue does not start jobs (they stay pending). */
  readonly paused?: boolean;
  readonly gpu?: { readonly name: string; readonly vramTotal: number; readonly vramFree: number };
}

export interface FailNext {
  /** Node that raises; default the first KSampler, else the first node. */
  readonly node_id?: string;
  readonly exception_type?: string;
  readonly exception_message?: string;
}

/** One request the box received (control endpoints excluded). Header names are lowercase. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface BoxState {
  readonly running: string[];
  readonly pending: string[];
  readonly history: string[];
  readonly interrupts: { readonly promptId: string | null; readonly interrupted: boolean }[];
}

/** One file `/upload/image` stored, as the box saw it. */
export interface UploadRecord {
  /** The name it answered (after any " (1)" renaming). */
  readonly name: string;
  readonly subfolder: string;
  readonly type: string;
  readonly sha256: string;
  readonly byte_length: number;
  /** The multipart part's Content-Type. */
  readonly content_type: string | null;
}
