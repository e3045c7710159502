/**
 * The Worker's non-HTTP entry points: the usage queues and the scheduled price refresh. Each is a
 * few lines that resolve dependencies from the environment and call plain functions.
 */
import type { Env } from "./env";
import { systemClock } from "./lib/clock";
import { consoleLogger, logLevelOf, type Logger } from "./lib/log";
import { runConfiguredRefresh } from "./pricing/run";
import { appDeps } from "./deps";
import { consumeDeadLetters, consumeUsageBatch } from "./usage/consumer";

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
  const { config, backend: resolve, priceStore } = appDeps(env);
  const refreshLog = rootLog(env).child({ cron: controller.cron });
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
