/**
 * Queue consumers for usage events.
 *
 * `imagen-usage`: writes each batch to the ledger in one idempotent call (the same event twice is
 * one row). On failure every message is retried with exponential backoff; after the queue's
 * max_retries it moves to the dead-letter queue.
 *
 * `imagen-usage-dlq`: one more write attempt; what still fails is kept in R2 under
 * `_dead-letters/usage/` and logged as an error. Nothing is acknowledged before it is stored
 * somewhere durable.
 */
import type { Logger } from "../lib/log";
import type { UsageEvent } from "./event";
import { usageEventSchema } from "./event-schema";
import type { Ledger } from "./ledger";
import { backoffDelay } from "../lib/backoff";

export const DEAD_LETTER_PREFIX = "_dead-letters/usage/";
const MAX_BACKOFF_S = 300;

/** 10 s, 20 s, 40 s … capped at 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return backoffDelay(attempts, 10, MAX_BACKOFF_S);
}

export async function consumeUsageBatch(batch: MessageBatch<unknown>, ledger: Ledger, deadLetters: R2Bucket, log: Logger): Promise<void> {
  const valid = await validEvents(batch, deadLetters, log);
  if (valid.length === 0) return;
  try {
    await ledger.recordBatch(valid.map((v) => v.event));
    for (const { message } of valid) message.ack();
    log.info("usage events recorded", { queue: batch.queue, count: valid.length });
  } catch (error) {
    log.error("ledger refused a batch; writing its events one by one", { queue: batch.queue, count: valid.length, error: messageOf(error) });
    await recordIndividually(valid, ledger, log);
  }
}

/** Consecutive single-event failures that mean "the ledger is down", not "this event is bad". */
const OUTAGE_AFTER = 3;

/**
 * A batch is all-or-nothing, so one event the database rejects would hold back the rest. Writing
 * one by one isolates it: good events are acknowledged, the bad one retries alone until it
 * reaches the dead-letter queue. When several writes in a row fail it is an outage, and the rest
 * of the batch is retried without further probing.
 */
async function recordIndividually(valid: readonly { message: Message<unknown>; event: UsageEvent }[], ledger: Ledger, log: Logger): Promise<void> {
  let failuresInARow = 0;
  for (const { message, event } of valid) {
    if (failuresInARow >= OUTAGE_AFTER) {
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      continue;
    }
    try {
      await ledger.recordBatch([event]);
      message.ack();
      failuresInARow = 0;
    } catch (error) {
      failuresInARow++;
      log.error("usage event not written; it will be retried", { event_id: event.event_id, attempts: message.attempts, error: messageOf(error) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function consumeDeadLetters(batch: MessageBatch<unknown>, ledger: Ledger, deadLetters: R2Bucket, log: Logger): Promise<void> {
  const valid = await validEvents(batch, deadLetters, log);
  if (valid.length === 0) return;
  try {
    await ledger.recordBatch(valid.map((v) => v.event));
    log.warn("dead-lettered usage events recorded on a last attempt", { count: valid.length });
  } catch (error) {
    const reason = `ledger write failed after all retries: ${messageOf(error)}`;
    for (const { message } of valid) await keepDeadLetter(deadLetters, message, reason, log);
  }
  for (const { message } of valid) message.ack();
}

/**
 * The batch's usage events. A message that is not one cannot become valid by retrying, so it is
 * kept in R2 for a human and acknowledged.
 */
async function validEvents(batch: MessageBatch<unknown>, deadLetters: R2Bucket, log: Logger) {
  const valid: { message: Message<unknown>; event: UsageEvent }[] = [];
  for (const message of batch.messages) {
    const parsed = usageEventSchema.safeParse(message.body);
    if (parsed.success) {
      valid.push({ message, event: parsed.data });
      continue;
    }
    const problem = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    await keepDeadLetter(deadLetters, message, `invalid usage event: ${problem}`, log);
    message.ack();
  }
  return valid;
}

async function keepDeadLetter(bucket: R2Bucket, message: Message<unknown>, reason: string, log: Logger): Promise<void> {
  const key = `${DEAD_LETTER_PREFIX}${new Date().toISOString().slice(0, 10)}/${safeId(message)}.json`;
  await bucket.put(key, JSON.stringify({ reason, message_id: message.id, attempts: message.attempts, body: message.body }), {
    httpMetadata: { contentType: "application/json" },
  });
  log.error("USAGE EVENT DEAD-LETTERED", { key, reason });
}

function safeId(message: Message<unknown>): string {
  const body = message.body as { event_id?: unknown } | null;
  const id = typeof body?.event_id === "string" ? body.event_id : message.id;
  return id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100);
}
