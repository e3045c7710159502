/** The shapes of the service's answers the CLI reads (see /openapi.json for the full documents). */
export interface ImageRecord {
  readonly id: string;
  readonly key: string;
  readonly url: string;
  readonly sidecar_url: string | null;
  readonly width: number;
  readonly height: number;
  readonly mime_type: string;
  readonly bytes: number;
}

export interface GenerateAnswer {
  readonly request_id: string;
  readonly backend: string;
  readonly model: string;
  readonly model_version: string | null;
  readonly seed: number;
  readonly latency_ms: number;
  readonly cost_usd_estimate: number | null;
  readonly images: readonly ImageRecord[];
  readonly failed_attempts: readonly { backend: string; kind: string; detail: string; latency_ms: number }[];
}

export type JobStatus = "submitted" | "running" | "succeeded" | "failed" | "canceled";

export interface JobDocument {
  readonly id: string;
  readonly status: JobStatus;
  readonly status_url: string;
  readonly request_id: string;
  readonly backend: string | null;
  readonly submitted_at: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
  readonly progress: {
    readonly state: "queued" | "running";
    readonly queue_position?: number;
    readonly step?: number;
    readonly steps?: number;
  } | null;
  readonly result: GenerateAnswer | null;
  readonly error: { readonly type: string; readonly status: number; readonly detail: string; readonly backend: string | null } | null;
}

export interface BackendInfo {
  readonly name: string;
  readonly type: string;
  readonly model: string;
  readonly default: boolean;
  readonly fallback: readonly string[];
  readonly status: string;
}

export interface ApiKeyInfo {
  readonly id: string;
  readonly caller: string;
  readonly role: "admin" | "user";
  readonly label: string | null;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

/** GET /v1/images (the caller's gallery). */
export interface ImageListing {
  readonly images: readonly {
    readonly key: string;
    readonly url: string;
    readonly width: number;
    readonly height: number;
    readonly bytes: number;
    readonly mime_type: string;
    readonly backend: string;
    readonly model: string;
    readonly seed: number;
    readonly cost_usd_estimate: number | null;
    readonly created_at: string;
  }[];
  readonly next_cursor: string | null;
}

/** GET /v1/budget: one entry per period (day, month, …). */
export interface BudgetPeriod {
  readonly caps: number | null;
  readonly spent: number;
  readonly reserved: number;
  readonly remaining: number | null;
  readonly resets_at: string | null;
}
export type BudgetAnswer = Readonly<Record<string, BudgetPeriod>>;
