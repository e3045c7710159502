/**
 * Async jobs in tests: submit straight to a job's Durable Object (with the test entry's seam, see
 * test/entry/: an in-memory usage sink, a clock, secrets), read it, force its alarm, wait for it.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { parseConfig } from "../../src/config/load";
import { prepareGeneration } from "../../src/core/pipeline";
import type { Caller } from "../../src/lib/caller";
import type { GenerationRequest } from "../../src/core/request";
import type { Clock } from "../../src/lib/clock";
import { cryptoIdSource } from "../../src/lib/ids";
import type { GenerationJob } from "../../src/jobs/generation-job";
import type { JobDocument } from "../../src/jobs/job-document";
import type { JobRecord, JobSubmission } from "../../src/jobs/job-record";
import { backendResolver } from "../../src/deps";
import { R2ImageStore } from "../../src/storage/image-store";
import type { UsageEvent } from "../../src/usage/event";
import { eventually } from "../fakes/replicate/kit";
import { BASE } from "./world";
import { setJobSeam } from "../entry/seamed-generation-job";

export const alice: Caller = { name: "alice", role: "user" };

function jobStub(id: string): DurableObjectStub<GenerationJob> {
  return env.JOBS.get(env.JOBS.idFromName(id));
}

export interface SubmittedJob {
  readonly id: string;
  /** What was handed to the job's `submit`. */
  readonly submission: JobSubmission;
  stub(): DurableObjectStub<GenerationJob>;
  /** Usage events the job emitted (its in-memory sink). */
  readonly events: UsageEvent[];
  document(): Promise<JobDocument>;
  /** The stored record (white box: attempt, submission). */
  record(): Promise<JobRecord>;
  /** Run the job's next alarm now, as if its time had come (waits until one is scheduled). */
  forceAlarm(): Promise<boolean>;
  /** Wait (really) until the document satisfies `check`. */
  until(check: (document: JobDocument) => boolean, what?: string): Promise<JobDocument>;
}

export async function submitJob(options: {
  config: unknown;
  request: Partial<GenerationRequest> & { prompt: string };
  caller?: Caller;
  secrets?: Record<string, string>;
  clock?: Clock;
  callbackUrl?: string;
  /** The public origin the job builds its URLs from (default: the test app's BASE). */
  origin?: string;
}): Promise<SubmittedJob> {
  const config = parseConfig(options.config);
  const ids = cryptoIdSource();
  const id = ids.newId();
  const events: UsageEvent[] = [];
  const overrides = {
    usage: { record: async (event: UsageEvent) => void events.push(event) },
    ...(options.clock && { clock: options.clock }),
    ...(options.secrets && { env: options.secrets }),
  };
  const stub = () => jobStub(id);
  setJobSeam(env.JOBS.idFromName(id), overrides);
  const prepared = await prepareGeneration({ n: 1, ...options.request }, options.caller ?? alice, `req-${id}`, {
    config,
    ids,
    backend: backendResolver(config, env),
    store: new R2ImageStore(env.IMAGES),
  });
  const submission: JobSubmission = {
    id,
    prepared,
    config: options.config,
    origin: options.origin ?? BASE,
    ...(options.callbackUrl && { callbackUrl: options.callbackUrl }),
  };
  await stub().submit(submission);
  const document = async () => (await stub().view())!.document;
  return {
    id,
    submission,
    stub,
    events,
    document,
    record: () => runInDurableObject(stub(), (_job: GenerationJob, state) => state.storage.get<JobRecord>("job")).then((r) => r!),
    // A step saves the record before it sets the next alarm: between the two, none is scheduled.
    // Keep trying until one is (the job always has one until its retention ends).
    forceAlarm: () => eventually(async () => ((await runDurableObjectAlarm(stub())) ? true : undefined)),
    until: (check, what = "the expected state") =>
      eventually(async () => {
        const current = await document();
        return check(current) ? current : undefined;
      }).catch(async (error: unknown) => {
        expect.fail(`job never reached ${what}; last: ${JSON.stringify(await document())} (${String(error)})`);
      }) as Promise<JobDocument>,
  };
}
