/**
 * The Worker's non-HTTP entry points: the usage queues, and the crons (wrangler.toml
 * `[triggers]`): every one sweeps attempts of unknown cost (src/deps/unknown-sweep.ts), and every
 * one but the frequent sweep's own refreshes prices. Each is a few lines that resolve
 * dependencies from the environment and call plain functions.
 */
import type { Env } from "./env";
import { systemClock } from "./lib/clock";
import { consoleLogger, logLevelOf, type Logger } from "./lib/log";
import { runConfiguredRefresh } from "./pricing/run";
import { appDeps } from "./deps";
import { consumeDeadLetters, consumeUsageBatch } from "./usage/consumer";
import { sweepUnknownAttempts } from "./deps/unknown-sweep";

/** The frequent cron (wrangler.toml): it only sweeps; prices are refreshed by the daily one. */
const SWEEP_ONLY_CRON = "*/15 * * * *";

/** Queue names as in wrangler.toml; a dead-letter queue is recognised by its suffix. */
const DEAD_LETTER_SUFFIX = "-dlq";

function rootLog(env: Env): Logger {
  return consoleLogger({ service: "imagen-edge" }, logLevelOf(env.LOG_LEVEL));
}

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const ledger = appDeps(env).ledger();
  const queueLog = rootLog(env).child({ queue: batch.queue });
  if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) await consumeDeadLetters(batch, ledger, env.IMAGES, queueLog);
  else await consumeUsageBatch(batch, ledger, env.IMAGES, queueLog);
}

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const cronLog = rootLog(env).child({ cron: controller.cron });
  // Neither waits for the other, and either failing fails the cron run.
  const [swept, refreshed] = await Promise.allSettled([
    sweepUnknownAttempts(env, cronLog.child({ task: "unknown-cost sweep" })),
    controller.cron === SWEEP_ONLY_CRON ? Promise.resolve() : refreshPrices(env, cronLog),
  ]);
  if (swept.status === "fulfilled") cronLog.info("unknown-cost sweep finished", { ...swept.value });
  else cronLog.error("unknown-cost sweep failed; held attempts stay held until the next one", { error: String(swept.reason) });
  if (refreshed.status === "rejected") throw refreshed.reason;
  if (swept.status === "rejected") throw swept.reason;
}

async function refreshPrices(env: Env, refreshLog: Logger): Promise<void> {
  const { config, backend: resolve, priceStore } = appDeps(env);
  const wanted = Object.keys(config.backends).map((name) => {
    const { provider, model } = resolve(name);
    return { provider, model };
  });
  const report = await runConfiguredRefresh(config.pricing, {
    store: priceStore(),
    fetch: (input, init) => fetch(input, init),
    clock: systemClock,
    log: refreshLog,
    wanted,
  });
  const outcome = { ok: report.ok, error: report.error, sources: report.sources.length };
  if (report.ok) refreshLog.info("price refresh finished", outcome);
  else refreshLog.error("price refresh had failures; last known prices stay in force", outcome);
}
