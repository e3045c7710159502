/**
 * GenerationJob with a per-job seam: tests run in the same isolate as the job objects, so a
 * module-level map keyed by the job's Durable Object id reaches every instance of that job,
 * including a fresh one after an eviction.
 */
import { GenerationJob, type JobOverrides } from "../../src/jobs/generation-job";

const seams = new Map<string, JobOverrides>();

/** Give the job `id` (its DO id) these overrides; call before its `submit`. */
export function setJobSeam(id: DurableObjectId, overrides: JobOverrides): void {
  seams.set(id.toString(), overrides);
}

export class SeamedGenerationJob extends GenerationJob {
  protected override jobSeam(): JobOverrides {
    return seams.get(this.ctx.id.toString()) ?? {};
  }
}
