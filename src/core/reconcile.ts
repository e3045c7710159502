/**
 * Reconciling one attempt of unknown cost (a create whose answer was lost): once its deadline has
 * passed, its work is looked up at the provider the way a job's alarm looks up a lost create
 * (`JobProtocol.findSent`, one implementation per protocol), and the attempt is
 *
 *   adopted     the provider made it: what its answer says it cost (succeeded: its images
 *               priced by the instance's model; failed or canceled: what it still billed)
 *   released    the provider lists no work for it past its deadline: it never took, nothing spent
 *   unresolved  too early, or the provider cannot be asked, or cannot tell (a one-shot call):
 *               its worst case stays held, and the next sweep asks again
 *
 * with its ledger row rewritten to the known cost. The images of adopted work that succeeded are
 * stored first (./adopt-images.ts: as the request would have stored them, and a repeat stores
 * nothing twice), so the caller finds them in its listing although its answer was a 502. Outputs
 * the provider no longer has (deleted after their lifetime) cannot be stored: the cost is adopted
 * all the same, and which images are missing is logged. A store that fails otherwise leaves the
 * attempt unresolved, to be tried again by the next sweep. Plain TypeScript: the cron
 * (src/deps/unknown-sweep.ts) applies the answer.
 */
import type { AttemptContext } from "../backends/backend";
import type { BackendError } from "../backends/errors";
import { type Usd, ZERO_USD } from "../lib/money";
import type { ReconcileHint, UnknownAttempt } from "../spend/caller-spend";
import { reservationLapseMs, SETTLE_MARGIN_MS } from "../spend/lapse";
import type { UsageEvent } from "../usage/event";
import { type AdoptionStore, storeAdoptedImages } from "./adopt-images";
import { chargedCost, estimateCost, messageOf } from "./attempt";
import { OutputConflictError } from "./errors";
import type { PipelineDeps, SuccessfulAttempt } from "./pipeline";

export type Reconciliation =
  | { readonly kind: "adopted" | "released"; readonly usd: Usd; readonly event: UsageEvent }
  | { readonly kind: "unresolved"; readonly detail: string };

type ReconcileDeps = Pick<PipelineDeps, "config" | "backend" | "pricing" | "store" | "clock" | "log">;

/** The hint as the runner keeps it: its store inputs are ./adopt-images.ts's. */
type Hint = ReconcileHint<AdoptionStore>;
type Attempt = UnknownAttempt<AdoptionStore>;

/** How long a lookup of one attempt may take. */
const LOOKUP_TIMEOUT_MS = 30_000;

export async function reconcileUnknown(attempt: Attempt, deps: ReconcileDeps): Promise<Reconciliation> {
  const hint = attempt.reconcile;
  if (!hint) return { kind: "unresolved", detail: "held without a lookup hint" };
  if (!Object.hasOwn(deps.config.backends, attempt.instance)) return { kind: "unresolved", detail: `instance ${attempt.instance} is no longer configured` };
  const backend = deps.backend(attempt.instance);
  const protocol = backend.protocol;
  if (protocol.kind !== "job" || !protocol.findSent) return { kind: "unresolved", detail: `${backend.type} keeps no record of its calls to look up` };
  // The attempt's own deadline: past it the provider stopped the work (Cancel-After), so a list without it proves it never took.
  const deadline = hint.sentAt + reservationLapseMs(deps.config, attempt.instance, 0) - SETTLE_MARGIN_MS;
  if (deps.clock.now() < deadline) return { kind: "unresolved", detail: "its deadline has not passed yet" };
  const log = deps.log.child({ request_id: attempt.requestId, backend: attempt.instance, attempt_id: attempt.attemptId });
  const ctx: AttemptContext = { signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS), clock: deps.clock, requestId: attempt.requestId, log };
  try {
    const found = await protocol.findSent(hint.spec, hint.sentAt, deadline, ctx);
    if (!found) return released(hint, "the provider lists no work for it past its deadline: the create never took and nothing was billed");
    const outcome = await protocol.poll(found, { ...ctx, deadline: deps.clock.now() + LOOKUP_TIMEOUT_MS });
    if (outcome.state === "pending") return { kind: "unresolved", detail: `its work ${found.externalId} is still running at the provider` };
    if (outcome.state === "failed") return await failedWork(hint, found.externalId, outcome.error, deps, backend, log);
    const cost = await estimateCost(backend, outcome.result, deps.pricing, log);
    // Unpriced: the worst case it was held at stands as its charge, as for any unpriced success.
    const charged = cost?.usd ?? attempt.worstCaseUsd;
    const success: SuccessfulAttempt = { backend, result: outcome.result, latencyMs: Math.max(0, deps.clock.now() - hint.sentAt), cost };
    const stored = await storeImagesOf(attempt, hint, success, deps, log);
    if (stored.retry) return { kind: "unresolved", detail: `its work ${found.externalId} succeeded, but ${stored.note}` };
    return adopted(hint, charged, found.externalId, outcome.result.images.length, `its work ${found.externalId} succeeded at the provider; ${stored.note}`);
  } catch (error) {
    return { kind: "unresolved", detail: `the provider could not be asked: ${messageOf(error)}` };
  }
}

/**
 * The adopted work's images into the store. `retry`: the store failed in a way the next sweep
 * may not meet (the provider still has the outputs for an hour; past that, the cost is adopted
 * without them).
 */
async function storeImagesOf(
  attempt: Attempt,
  hint: Hint,
  success: SuccessfulAttempt,
  deps: ReconcileDeps,
  log: ReconcileDeps["log"],
): Promise<{ readonly note: string; readonly retry?: true }> {
  const count = success.result.images.length;
  if (!hint.store) {
    log.warn("images of adopted work not stored: held by a version that kept no store inputs", { images: count });
    return { note: "its images were not stored (held without store inputs)" };
  }
  try {
    const images = await storeAdoptedImages(hint.store, { attemptId: attempt.attemptId, sentAt: hint.sentAt }, success, deps);
    log.info("images of adopted work stored", { images: images.length, keys: images.map((image) => image.key).join(", ") });
    return { note: `its ${images.length} image(s) were stored` };
  } catch (error) {
    if (error instanceof OutputConflictError) {
      log.warn("images of adopted work not stored: their explicit output key is taken", { images: count, error: error.message });
      return { note: `its images were not stored: ${error.message}` };
    }
    return { note: `its images could not be stored yet: ${messageOf(error)}`, retry: true };
  }
}

async function failedWork(
  hint: ReconcileHint,
  externalId: string,
  error: BackendError,
  deps: ReconcileDeps,
  backend: ReturnType<ReconcileDeps["backend"]>,
  log: ReconcileDeps["log"],
): Promise<Reconciliation> {
  const charged = await chargedCost(backend, error, deps.pricing, log);
  if (!charged) return released(hint, `its work ${externalId} ended without images (${error.kind}), which is not billed`);
  if (!charged.cost) return { kind: "unresolved", detail: `its work ${externalId} billed ${charged.images} image(s) that have no known price` };
  // Made and billed, but its outputs are gone (or could not be read): the money is adopted, the images are lost.
  const lost = error.kind === "paid_output_lost";
  if (lost)
    log.warn("images of adopted work could not be stored: the provider no longer has them", {
      external_id: externalId,
      images: charged.images,
      error: error.detail,
    });
  return adopted(
    hint,
    charged.cost.usd,
    externalId,
    charged.images,
    `its work ${externalId} was billed for ${charged.images} image(s) it made (${error.detail})${lost ? `; its ${charged.images} image(s) could not be stored` : ""}`,
  );
}

function adopted(hint: ReconcileHint, usd: Usd, externalId: string, images: number, why: string): Reconciliation {
  const event = corrected(hint.event, usd, why, { external_id: externalId, images_produced: images, provider_image_count: images });
  return { kind: "adopted", usd, event };
}

function released(hint: ReconcileHint, why: string): Reconciliation {
  return { kind: "released", usd: ZERO_USD, event: corrected(hint.event, ZERO_USD, why, {}) };
}

/** The attempt's row as first written, with its cost known: still a failed attempt for its caller. */
function corrected(event: UsageEvent, usd: Usd, why: string, found: Partial<UsageEvent>): UsageEvent {
  return {
    ...event,
    ...found,
    cost_usd_estimate: usd,
    cost_unknown_reason: null,
    error_message: `${event.error_message ?? "cost unknown"}; reconciled: ${why}`,
  };
}
