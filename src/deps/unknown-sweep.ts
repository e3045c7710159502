/**
 * The cron's sweep of attempts of unknown cost (src/core/reconcile.ts decides each one): every
 * caller's object is asked for its unknown attempts; each one whose deadline has passed is looked
 * up at its provider, and an adopted one's images are stored (by the reconciliation, repeatably:
 * src/core/adopt-images.ts), then an adopted or released one gets its ledger row corrected (an
 * upsert by event id, idempotent) and its book settled last (which drops what storing needed) —
 * so a sweep that dies anywhere in between is simply repeated by the next one, and ends in the
 * same state: the images stored once, one ledger row, one charge. An attempt the provider cannot
 * answer for stays held.
 *
 * Callers are those with an API key and those named in `guard.callers`: one KV read per key and
 * one call per caller's object per sweep.
 */
import { ApiKeyStore } from "../auth/api-keys";
import { reconcileUnknown } from "../core/reconcile";
import type { Env } from "../env";
import { callerGuard } from "../guard/durable-guard";
import { type Clock, systemClock } from "../lib/clock";
import type { Logger } from "../lib/log";
import { appDeps } from "./index";

export interface SweepReport {
  readonly callers: number;
  readonly adopted: number;
  readonly released: number;
  readonly unresolved: number;
}

export async function sweepUnknownAttempts(env: Env, log: Logger, clock: Clock = systemClock): Promise<SweepReport> {
  const deps = appDeps(env);
  const pipeline = deps.pipeline(log, { clock });
  const keys = await new ApiKeyStore(env.API_KEYS).list();
  const callers = [...new Set([...Object.keys(deps.config.guard.callers), ...keys.map((record) => record.caller)])];
  const counts = { adopted: 0, released: 0, unresolved: 0 };
  for (const caller of callers) {
    const stub = callerGuard(env.GUARDS, caller);
    for (const attempt of await stub.unknownAttempts()) {
      const answer = await reconcileUnknown(attempt, pipeline);
      if (answer.kind === "unresolved") {
        counts.unresolved++;
        log.info("attempt of unknown cost left held", { caller, attempt_id: attempt.attemptId, detail: answer.detail });
        continue;
      }
      await deps.ledger().correct([answer.event]);
      await stub.settle({ attemptId: attempt.attemptId, requestId: attempt.requestId, instance: attempt.instance }, { kind: "charged", usd: answer.usd });
      counts[answer.kind]++;
      log.info(`attempt of unknown cost ${answer.kind}`, { caller, attempt_id: attempt.attemptId, cost_usd: answer.usd, held_usd: attempt.worstCaseUsd });
    }
  }
  return { callers: callers.length, ...counts };
}
