/**
 * One request's admission at its caller's Durable Object: everything that must be asked of the
 * object before the first provider call goes there in ONE round trip (CallerGuard.admit). The
 * HTTP middleware describe their part (the rate-limit take, the Idempotency-Key claim), the
 * handler the reuse lookup, and the attempt guard sends it all together with the first attempt's
 * reservation (./durable-guard.ts). A request that needs no reservation (a free backend, an
 * async job, a listing) sends it with `admit()`; one that ends before it was admitted (an invalid
 * body) still counts against its rate limit (`countUnadmitted`).
 *
 * Each part is answered once, and its answer is read back here by whoever described it. When a
 * part stops the request (429, a replayed or conflicting key, a reuse hit), `admit()` throws
 * AdmissionStopped and the part's owner turns it into the answer. A 402 throws the guard's own
 * refusal (BudgetExceededError), with no key left claimed.
 *
 * Hono-free: src/http describes and renders, this module only carries.
 */
import type { RateLimit } from "../config/guard";
import type { GenerationOutcome } from "../core/pipeline";
import type { Admit, AdmitAnswer, CallerGuard } from "./caller-guard";
import type { ClaimInput, KeyClaim } from "./store/idempotency-book";
import type { RateDecision } from "./store/rate-window";
import type { ReserveAnswer, SpendReservation } from "../spend/caller-spend";

/** A part of the admission stopped the request; the part's owner renders the answer. */
export class AdmissionStopped extends Error {
  override readonly name = "AdmissionStopped";
  constructor(readonly by: "rate_limit" | "idempotency" | "reuse") {
    super(`request stopped at admission by ${by}`);
  }
}

/**
 * `work` (a request's generation) with its admission made sure of: when it failed before its
 * first attempt was admitted (a backend cooling down, a spec the instance refuses), the
 * admission is sent then, and a part that stops the request wins over the failure — a replayed
 * key still answers its stored response, a reuse hit its stored images.
 */
export async function admitted<T>(admission: Admission, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof AdmissionStopped) && admission.pending) await admission.admit();
    throw error;
  }
}

/** The caller's object, as far as admission calls it (a stub of src/guard/caller-guard.ts). */
type AdmitStub = Pick<DurableObjectStub<CallerGuard>, "admit">;

export class Admission {
  private parts: { -readonly [K in keyof Admit]?: Admit[K] } = {};
  private answer: AdmitAnswer | null = null;

  constructor(private readonly stub: AdmitStub) {}

  countRequest(keyId: string, limit: RateLimit): void {
    this.describe("rate", { keyId, limit });
  }

  claimKey(input: ClaimInput, waitMs: number): void {
    this.describe("claim", { input, waitMs });
  }

  lookUpReuse(fingerprint: string, holder: string, waitMs: number): void {
    this.describe("reuse", { fingerprint, holder, waitMs });
  }

  /** Whether the one round trip was made (then every described part has its answer). */
  get admitted(): boolean {
    return this.answer !== null;
  }

  /** Whether a reservation can still travel with the admission. */
  get pending(): boolean {
    return this.answer === null;
  }

  /**
   * The round trip, once: the described parts, and the first attempt's reservation when it has
   * one. Throws AdmissionStopped when a part stopped the request; a 402 is returned in `reserve`.
   */
  async admit(reservation?: SpendReservation): Promise<ReserveAnswer | undefined> {
    if (this.answer) throw new Error("a request is admitted once");
    const request: Admit = { ...this.parts, ...(reservation && { reservation }) };
    // Nothing to ask (no rate limit, key, seed or price): no round trip.
    this.answer = Object.keys(request).length === 0 ? { stoppedBy: null } : await this.stub.admit(request);
    const stoppedBy = this.answer.stoppedBy;
    if (stoppedBy !== null && stoppedBy !== "budget") throw new AdmissionStopped(stoppedBy);
    return this.answer.reserve;
  }

  /** The request ended without being admitted (it failed before any attempt): its rate-limit take only. */
  async countUnadmitted(): Promise<void> {
    if (this.answer || !this.parts.rate) return;
    this.answer = await this.stub.admit({ rate: this.parts.rate });
  }

  get rateDecision(): RateDecision | undefined {
    return this.answer?.rate;
  }

  /** The key's claim; undefined when it was never sent (the request stopped before it, or never got that far). */
  get keyClaim(): KeyClaim | undefined {
    return this.answer?.claim;
  }

  /** The claimed key is still held by this request (a 402 at admission gave it up). */
  get holdsKey(): boolean {
    return this.answer?.claim?.kind === "claimed" && this.answer.stoppedBy !== "budget";
  }

  get reused(): GenerationOutcome | undefined {
    return this.answer?.reused;
  }

  /** This request is the one generating for its reuse fingerprint (and must remember or abandon it). */
  get holdsReuse(): boolean {
    return this.parts.reuse !== undefined && this.answer !== null && this.answer.stoppedBy === null;
  }

  private describe<K extends keyof Admit>(part: K, value: NonNullable<Admit[K]>): void {
    if (this.answer) throw new Error(`${part} described after the request was admitted`);
    this.parts[part] = value;
  }
}
