/**
 * `[vars.IMAGEN_CONFIG.jobs]`: how async generation jobs (`Prefer: respond-async`) behave. Every
 * key has a default, so the table may be left out.
 */
import { z } from "zod";

/** An http(s) origin such as `https://imagen.example.com`. */
export const publicBaseUrl = z.url({ protocol: /^https?$/ });

export const jobsConfigSchema = z.strictObject({
  /** Deprecated: the old name of the top-level `public_base_url` (src/config/schema.ts). */
  public_base_url: publicBaseUrl.optional(),
  /** How long past an attempt's deadline a webhook may still arrive before the job polls (and cancels). */
  deadline_grace_s: z.int().min(0).max(3600).default(30),
  /**
   * Local development only: let `callback_url` name this machine (127.0.0.1, ::1, localhost), over
   * http and on any port. Off in the shipped config; production callbacks go to public https hosts.
   */
  allow_loopback_callbacks: z.boolean().default(false),
  /** Tries to POST a finished job to its `callback_url` (exponential backoff between them). */
  callback_max_attempts: z.int().min(1).max(20).default(6),
  /** Wait before the second try; doubles for every further one (10 s → 10, 20, 40, 80, 160 s). */
  callback_retry_base_s: z.number().min(0.01).max(3600).default(10),
  /** A finished job is deleted this long after it ended (GET /v1/jobs/{id} answers 404 then). */
  retention_days: z.number().min(0.001).max(365).default(7),
});

export type JobsConfig = z.infer<typeof jobsConfigSchema>;
