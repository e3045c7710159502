/**
 * Failures the pipeline reports. Each says which part of the request or system is at fault;
 * the HTTP layer maps them to problem+json in one place.
 */
import type { BackendError } from "../backends/errors";
import type { CostExposure } from "../spend/exposure";

/** The request names something that does not exist or cannot be honoured; nothing was spent. */
export class InvalidRequestError extends Error {
  override readonly name = "InvalidRequestError";
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/**
 * An edit names an input image the caller cannot read: missing, or another caller's (said the
 * same way, so existence is never revealed). Nothing was spent.
 */
export class InputNotFoundError extends Error {
  override readonly name = "InputNotFoundError";
  constructor(
    readonly field: string,
    readonly key: string,
  ) {
    super(`${field}: no image "${key}" for this caller`);
  }
}

/** An explicit output key is already taken; objects are never overwritten. */
export class OutputConflictError extends Error {
  override readonly name = "OutputConflictError";
  constructor(readonly key: string) {
    super(`output "${key}" already exists; objects are never overwritten`);
  }
}

export interface FailedAttempt {
  readonly backend: string;
  /** `skipped`: not attempted, the backend was cooling down (no usage row; src/core/cooldown.ts). */
  readonly kind: BackendError["kind"] | "skipped";
  readonly detail: string;
  readonly latency_ms: number;
  readonly external_id?: string;
  /**
   * Could it have cost money (src/spend/exposure.ts): `none` (refused, unreached, skipped), `known`
   * (the provider took the work and said what it cost), `unknown` (it may have been billed; held
   * at its worst case until reconciled). Absent on attempts stored before it existed.
   */
  readonly cost_exposure?: CostExposure;
}

/** Every backend in the chain failed. `last` decides the answer; `attempts` tell the story. */
export class GenerationFailedError extends Error {
  override readonly name = "GenerationFailedError";
  constructor(
    readonly last: BackendError,
    readonly attempts: readonly FailedAttempt[],
  ) {
    super(last.detail);
  }
}
