/** The shapes of the service's answers the CLI reads (see /openapi.json for the full documents). */
// The service's own types for the documents it answers with, so the two cannot drift apart.
import type { OutcomeBody, OutcomeImageBody } from "../../src/core/outcome-body.js";
import type { JobDocument } from "../../src/jobs/job-document.js";

export type ImageRecord = OutcomeImageBody;
export type GenerateAnswer = OutcomeBody;
export type { JobDocument };

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
