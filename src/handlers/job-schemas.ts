/** Schemas of async jobs (validation and /openapi.json from the same zod objects). */
import { z } from "@hono/zod-openapi";
import { JOB_STATUSES } from "../jobs/job-record";
import { FailedAttemptSchema, GenerateImagesResponse } from "./schemas";

/** Job ids are ulids: 26 lowercase Crockford base32 characters. */
export const jobId = () => z.string().regex(/^[0-9a-hjkmnp-tv-z]{26}$/, "a job id is 26 lowercase letters and digits (a ulid)");

export const JobIdParam = z.object({
  id: jobId().openapi({ param: { name: "id", in: "path" }, example: "01jdq7r5m4c9x2v8t6p0n3b1hw" }),
});

export const JobDocumentSchema = z
  .object({
    id: z.string(),
    status: z.enum(JOB_STATUSES).openapi({ description: "submitted → running → succeeded / failed / canceled" }),
    status_url: z.string(),
    request_id: z.string(),
    backend: z.string().nullable().openapi({ description: "The instance working on it now, or the last one that did." }),
    submitted_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    progress: z
      .object({
        state: z.enum(["queued", "running"]),
        queue_position: z.int().optional().openapi({ description: "Jobs ahead of this one (0 = next)." }),
        step: z.int().optional(),
        steps: z.int().optional(),
        updated_at: z.string(),
      })
      .nullable()
      .openapi({ description: "While active, what the backend reports (ComfyUI: queue position, sampler step x of y)." }),
    result: GenerateImagesResponse.nullable().openapi({ description: "Succeeded: the same body POST /v1/images answers with 201." }),
    error: z
      .object({
        type: z.string(),
        title: z.string(),
        status: z.int(),
        detail: z.string(),
        backend: z.string().nullable(),
        latency_ms: z.number().nullable(),
        external_id: z.string().optional(),
        invalid_fields: z
          .array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])))
          .optional()
          .openapi({ description: "The provider's field-level complaints, as on the sync answer." }),
        attempts: z.array(FailedAttemptSchema),
      })
      .nullable(),
    callback: z
      .object({
        url: z.string(),
        status: z.enum(["pending", "delivered", "failed"]),
        attempts: z.int(),
        last_attempt_at: z.string().nullable(),
        last_error: z.string().nullable(),
        next_attempt_at: z.string().nullable(),
      })
      .nullable(),
  })
  .openapi("Job");
