/** The shapes of the service's answers the CLI reads (see /openapi.json for the full documents). */
// The service's own types for the documents it answers with, so the two cannot drift apart.
import type { OutcomeBody, OutcomeImageBody } from "../../src/core/outcome-body.js";
import type { JobDocument } from "../../src/jobs/job-document.js";
import type { ListedImage } from "../../src/storage/image-listing.js";

export type ImageRecord = OutcomeImageBody;
export type GenerateAnswer = OutcomeBody;
export type { JobDocument };

export interface BackendInfo {
  readonly name: string;
  readonly type: string;
  readonly model: string;
  readonly default: boolean;
  readonly fallback: readonly string[];
  /** What it edits, or null when it only makes images from text. */
  readonly edits: { readonly max_images: number; readonly mask: boolean } | null;
  readonly status: string;
}

export interface ChainInfo {
  readonly name: string;
  readonly default: boolean;
  readonly backends: readonly string[];
  /** Some member edits: an edit on the chain runs on those. */
  readonly edits: boolean;
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

/** GET /v1/images (the caller's gallery): each listed image with its signed URL. */
export interface ImageListing {
  readonly images: readonly (ListedImage & { readonly url: string })[];
  readonly next_cursor: string | null;
}

/** One period of GET /v1/budget; a null cap means no cap. */
export interface BudgetPeriod {
  readonly cap_usd: number | null;
  readonly spent_usd: number;
  readonly reserved_usd: number;
  readonly remaining_usd: number | null;
  readonly resets_at: string;
}
/** GET /v1/budget. */
export interface BudgetAnswer {
  readonly caller: string;
  readonly daily: BudgetPeriod;
  readonly monthly: BudgetPeriod;
  readonly limits: Readonly<Record<string, unknown>>;
}
