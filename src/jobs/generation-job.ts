/**
 * One async generation job = one Durable Object (SQLite-backed), addressed by
 * `JOBS.idFromName(jobId)`. It survives restarts: everything it knows is in its storage, and its
 * single alarm is the next thing to do — start (or resume) an attempt, read waiting webhooks,
 * poll the provider (the fallback when a webhook never comes), retry the caller's callback, and
 * finally forget the job after its retention.
 *
 * RPC surface (called by the Hono handlers; this file imports no Hono):
 *   submit(JobSubmission) → JobView       the 202 of `POST /v1/images` with `Prefer: respond-async`
 *   view() → JobView | null              `GET /v1/jobs/{id}`
 *   cancel() → JobView | null            `DELETE /v1/jobs/{id}`
 *   deliver(InboxEntry) → DeliveryAnswer a verified provider webhook (`POST /v1/webhooks/{type}`)
 *
 * One step at a time: every transition runs under an in-memory lock, so a webhook, a poll and a
 * cancel never finish the same attempt twice (the step re-reads the record and finds it moved
 * on). Webhooks are only queued (dedupe by delivery id, then the inbox) and answered at once;
 * the alarm processes them. Reads never wait for the lock.
 */
import { DurableObject } from "cloudflare:workers";
import type { AsyncProgress } from "../backends/backend";
import { providerWebhookUrl } from "../routes";
import { parseConfig } from "../config/load";
import type { Caller } from "../lib/caller";
import type { Env } from "../env";
import { type Clock, systemClock } from "../lib/clock";
import { consoleLogger, logLevelOf, type Logger } from "../lib/log";
import { Cancellation, GenerationRunner } from "../core/runner";
import { pipelineDepsFor } from "../deps";
import type { UsageSink } from "../usage/event";
import { jobDocument, type JobDocument } from "./job-document";
import { isActive, KEYS, mergeProgress, type InboxEntry, type JobRecord, type JobSubmission, type StoredProgress } from "./job-record";
import { abandonJob, advanceJob, applyCallback, cancelJob, deliverCallback, newJob, nextAlarmAt, OWNER_CANCELED, type JobServices } from "./job-steps";

/** What the handlers get back: the document, and its owner for the authorization check. */
export interface JobView {
  readonly caller: Caller;
  readonly document: JobDocument;
}

/** How a webhook delivery was taken (the handler answers 2xx for all but `unknown_job`). */
export type DeliveryAnswer = "accepted" | "duplicate" | "ignored" | "unknown_job";

/**
 * What a subclass may supply in place of the Worker's own (`jobSeam()`): a usage sink, a clock,
 * extra env. The shipped class supplies none; the test entry registers a subclass that does.
 */
export interface JobOverrides {
  readonly usage?: UsageSink;
  readonly clock?: Clock;
  /** Merged over the Worker's env (secrets such as REPLICATE_API_TOKEN, IMAGEN_CALLBACK_SECRET). */
  readonly env?: Readonly<Record<string, unknown>>;
}

/** The runtime retries a throwing alarm (exponential backoff); after this many the job is failed. */
const ALARM_RETRIES_BEFORE_GIVING_UP = 5;

export class GenerationJob extends DurableObject<Env> {
  private cachedServices: JobServices | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  /** The step in progress, so a cancel can stop a provider call at once. */
  private stepAbort: AbortController | null = null;
  private canceling = false;
  /** The live progress feed of the current attempt (ComfyUI's websocket), if any. */
  private watcher: { readonly eventId: string; readonly stop: () => void } | null = null;
  private cachedLog: Logger | null = null;

  /** The console at the LOG_LEVEL of the job's env (seam included). */
  private get log(): Logger {
    const level = logLevelOf({ ...this.env, ...this.jobSeam().env }.LOG_LEVEL);
    return (this.cachedLog ??= consoleLogger({ service: "imagen-edge", component: "generation-job" }, level));
  }

  /** Not RPC: protected, read when the job's services are built. See JobOverrides. */
  protected jobSeam(): JobOverrides {
    return {};
  }

  async submit(submission: JobSubmission): Promise<JobView> {
    return this.serial(async () => {
      const existing = await this.record();
      if (existing) return this.viewOf(existing);
      const record = newJob(submission, (this.jobSeam().clock ?? systemClock).now());
      const services = this.services(record);
      await this.save(record);
      await this.reschedule(record, services);
      this.log.info("job submitted", { job_id: record.id, request_id: record.requestId, callback: record.callback !== null });
      return this.viewOf(record);
    });
  }

  async view(): Promise<JobView | null> {
    const record = await this.record();
    return record ? this.viewOf(record) : null;
  }

  async cancel(): Promise<JobView | null> {
    this.canceling = true;
    this.stepAbort?.abort(new Cancellation(OWNER_CANCELED));
    try {
      return await this.serial(async () => {
        let record = await this.record();
        if (!record) return null;
        const services = this.services(record);
        if (isActive(record.status)) {
          record = await cancelJob(record, services);
          await this.save(record);
          await this.forgetActiveState();
        }
        await this.reschedule(record, services);
        return this.viewOf(record);
      });
    } finally {
      this.canceling = false;
    }
  }

  /**
   * Take a verified webhook: remember its id (a repeat is a duplicate), queue it for the alarm.
   * Quick by design: providers want a 2xx within seconds, and the downloads happen in the alarm.
   */
  async deliver(entry: InboxEntry): Promise<DeliveryAnswer> {
    const record = await this.record();
    if (!record) return "unknown_job";
    const storage = this.ctx.storage;
    const seen = KEYS.seen(entry.deliveryId);
    if ((await storage.get(seen)) !== undefined) return "duplicate";
    await storage.put(seen, Date.now());
    const attempt = record.chain.attempt;
    if (!isActive(record.status) || attempt?.backend !== entry.backend || (entry.attemptId !== undefined && entry.attemptId !== attempt.eventId))
      return "ignored";
    await storage.put(KEYS.inbox, [...(await this.inbox()), entry]);
    await storage.setAlarm(Date.now());
    return "accepted";
  }

  /**
   * A step that throws is retried by the runtime (with backoff, `retryCount` counting); once
   * those retries are spent the job is failed instead of being left running forever.
   */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    await this.serial(async () => {
      try {
        await this.step();
      } catch (error) {
        const retry = info?.retryCount ?? 0;
        const detail = error instanceof Error ? error.message : String(error);
        this.log.error("job step failed", { retry, error: detail });
        if (retry < ALARM_RETRIES_BEFORE_GIVING_UP) throw error;
        const record = await this.record();
        if (!record) return;
        const abandoned = abandonJob(record, `the job could not continue: ${detail}`, Date.now());
        await this.save(abandoned);
        await this.forgetActiveState();
        // Its callback and retention still run (they need no backend).
        await this.ctx.storage.setAlarm(Date.now() + 60_000);
      }
    });
  }

  // ---- one alarm = one step ------------------------------------------------------------------

  private async step(): Promise<void> {
    let record = await this.record();
    if (!record) return void (await this.ctx.storage.deleteAlarm());
    const services = this.services(record);
    const now = services.deps.clock.now();
    if (!isActive(record.status) && record.callback?.status !== "pending" && now >= nextAlarmAt(record, false, now, services.settings)) {
      this.log.info("job retention over; deleted", { job_id: record.id });
      await this.ctx.storage.deleteAlarm();
      return void (await this.ctx.storage.deleteAll());
    }
    if (isActive(record.status) && !this.canceling) {
      const inbox = await this.inbox();
      // A delivery may be about an attempt whose create answer was lost (no submission yet): the runner matches it by the attempt id.
      record = record.chain.attempt && inbox.length > 0 ? await this.processInbox(record, inbox, services) : await this.advance(record, services);
    }
    if (!isActive(record.status)) {
      await this.forgetActiveState();
      if (record.callback?.status === "pending") {
        record = await deliverCallback(record, services);
        await this.save(record);
      }
    }
    await this.reschedule(record, services);
  }

  /** Runner steps until it waits for something: the provider, a callback, the next poll. */
  private async advance(record: JobRecord, services: JobServices): Promise<JobRecord> {
    const controller = new AbortController();
    this.stepAbort = controller;
    try {
      do {
        const previous = record.chain.attempt?.eventId;
        const step = await advanceJob(record, services, controller.signal);
        record = step.record;
        await this.save(record);
        if (record.chain.attempt?.eventId !== previous) await this.ctx.storage.delete(KEYS.progress);
        if (step.progress && isActive(record.status)) await this.saveProgress(step.progress);
      } while (isActive(record.status) && !this.canceling && (record.chain.nextStepAt ?? 0) <= services.deps.clock.now());
    } finally {
      this.stepAbort = null;
    }
    await this.watch(record, services);
    return record;
  }

  private async processInbox(record: JobRecord, inbox: readonly InboxEntry[], services: JobServices): Promise<JobRecord> {
    for (const entry of inbox) {
      if (!isActive(record.status)) break;
      const applied = await applyCallback(record, entry, services, new AbortController().signal);
      record = applied.record;
      await this.save(record);
      if (applied.progress && isActive(record.status)) await this.saveProgress(applied.progress);
      // Removed only once applied: a crash in between replays it, and a replay changes nothing.
      await this.ctx.storage.put(
        KEYS.inbox,
        (await this.inbox()).filter((e) => e.deliveryId !== entry.deliveryId),
      );
    }
    await this.watch(record, services);
    return record;
  }

  /** Keep a live progress feed for the current attempt when its backend offers one. */
  private async watch(record: JobRecord, services: JobServices): Promise<void> {
    const attempt = record.chain.attempt;
    if (!isActive(record.status) || !attempt?.submission) return this.stopWatching();
    if (this.watcher?.eventId === attempt.eventId) return;
    this.stopWatching();
    const stop = await services.runner?.watch(attempt, new AbortController().signal, (progress) => {
      if (this.watcher?.eventId === attempt.eventId) void this.saveProgress(progress).catch(() => {});
    });
    if (stop) this.watcher = { eventId: attempt.eventId, stop };
  }

  private stopWatching(): void {
    this.watcher?.stop();
    this.watcher = null;
  }

  /** The job ended: no more progress, inbox or feed. */
  private async forgetActiveState(): Promise<void> {
    this.stopWatching();
    await this.ctx.storage.delete([KEYS.progress, KEYS.inbox]);
  }

  /** Alarms run on real time; the job's clock may be a test's, so only its distances count. */
  private async reschedule(record: JobRecord, services: JobServices): Promise<void> {
    const inboxWaiting = isActive(record.status) && (await this.inbox()).length > 0;
    const now = services.deps.clock.now();
    const at = nextAlarmAt(record, inboxWaiting, now, services.settings);
    await this.ctx.storage.setAlarm(Date.now() + Math.max(0, at - now));
  }

  // ---- storage and services ------------------------------------------------------------------

  private record(): Promise<JobRecord | undefined> {
    return this.ctx.storage.get<JobRecord>(KEYS.record);
  }

  private save(record: JobRecord): Promise<void> {
    return this.ctx.storage.put(KEYS.record, record);
  }

  private async inbox(): Promise<InboxEntry[]> {
    return (await this.ctx.storage.get<InboxEntry[]>(KEYS.inbox)) ?? [];
  }

  private async saveProgress(progress: AsyncProgress): Promise<void> {
    const previous = await this.ctx.storage.get<StoredProgress>(KEYS.progress);
    const now = (this.jobSeam().clock ?? systemClock).now();
    await this.ctx.storage.put(KEYS.progress, { ...mergeProgress(previous, progress), updatedAt: now } satisfies StoredProgress);
  }

  private async viewOf(record: JobRecord): Promise<JobView> {
    return { caller: record.caller, document: jobDocument(record, await this.ctx.storage.get<StoredProgress>(KEYS.progress)) };
  }

  /**
   * The pipeline's dependencies with the job's own config snapshot (one job per object, so built
   * once per instance), never the Worker's live config: a job finishes with the config it was
   * accepted under. Store, usage sink and pricing come from the Worker's env as for a sync request.
   */
  private services(record: JobRecord): JobServices {
    if (this.cachedServices) return this.cachedServices;
    const seam = this.jobSeam();
    const env = { ...this.env, ...seam.env } as Env;
    const config = parseConfig(record.config);
    const log = this.log.child({ job_id: record.id });
    const spender = { caller: record.caller.name, ...(record.keyLimits && { keyLimits: record.keyLimits }) };
    const base = pipelineDepsFor(config, env, log, { spender, ...(seam.clock && { clock: seam.clock }) });
    const deps = { ...base, ...(seam.usage && { usage: seam.usage }) };
    const settings = config.jobs;
    // An ended job keeps no work: its services only deliver the callback and forget it.
    const runner = record.work
      ? new GenerationRunner(record.work, deps, {
          deadlineGraceMs: settings.deadline_grace_s * 1000,
          holdSubmit: false,
          webhookUrl: (backend, attemptId) => providerWebhookUrl(record.origin, backend.type, record.id, backend.name, attemptId),
          log,
          // "Sent" is stored before a paid call goes out: after a restart it is never sent again.
          beforeSend: async (chain) => {
            const current = await this.record();
            if (current) await this.save({ ...current, status: "running", startedAt: current.startedAt ?? chain.attempt?.startedAt ?? null, chain });
          },
        })
      : null;
    this.cachedServices = { deps, settings, runner, env, fetch: (input, init) => fetch(input, init), log };
    return this.cachedServices;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
