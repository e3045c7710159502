/**
 * The origin our own URLs start with when they are handed to third parties (the webhook URL a
 * provider calls, status and image URLs in job documents and callbacks). The request's Host
 * header is the client's to choose, so it is never used for that — except on a loopback origin,
 * which is `wrangler dev` on this machine, where a forged Host could only point at the machine itself.
 */
import { isLoopbackHost } from "../net/address-rules";

/** `jobs.public_base_url` when set; else the request's origin if it is loopback; else null. */
export function publicOrigin(configured: string | undefined, requestUrl: string): string | null {
  if (configured !== undefined) return configured.replace(/\/+$/, "");
  const request = new URL(requestUrl);
  return isLoopbackHost(request.hostname) ? request.origin : null;
}

export const PUBLIC_BASE_URL_MISSING =
  "jobs.public_base_url is not set: async jobs (webhook, status and callback URLs) are refused except on a loopback origin (local development)";
