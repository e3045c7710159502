/**
 * `[vars.IMAGEN_CONFIG.edits]`: the bounds on the input images of an edit (reference images and
 * masks) and how providers that fetch inputs by URL get them. Every key has a default.
 */
import { z } from "zod";

const MIB = 1024 * 1024;

/** Bodies that upload the input images of an edit (each image is bounded again by `[edits]`). */
export const MAX_UPLOAD_BODY_BYTES = 32 * MIB;

/** A bare host name (`api.replicate.com`, `127.0.0.1`): what `input_url_hosts` lists. */
const hostName = z.string().regex(/^[a-z0-9.-]{1,253}$|^\[[0-9a-f:]+\]$/i, "a host name, e.g. api.replicate.com");

export const editsConfigSchema = z.strictObject({
  /** Reference images one request may carry (OpenAI's GPT image models take up to 16). */
  max_images: z.int().min(1).max(16).default(4),
  /** Bytes of each input image or mask. */
  max_input_bytes: z
    .int()
    .min(1024)
    .max(50 * MIB)
    .default(10 * MIB),
  /** Pixels (width × height) of each input image or mask. */
  max_input_pixels: z
    .int()
    .min(64 * 64)
    .max(8192 * 8192)
    .default(4096 * 4096),
  /** How long the signed URL a provider fetches an input from stays valid. */
  input_url_ttl_s: z.int().min(30).max(3600).default(300),
  /**
   * Hosts, besides those of the configured backends' `base_url`, that may be handed a signed input
   * URL. A provider elsewhere (not named by this config) never receives one.
   */
  input_url_hosts: z.array(hostName).max(32).default([]),
});
