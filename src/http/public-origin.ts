/**
 * The origin our own URLs start with. The request's Host header is the client's to choose, so
 * once `public_base_url` is configured it is the only origin any URL we hand out starts with:
 * image URLs in answers, job status and webhook URLs, `/openapi.json` servers.
 *
 * Without the setting, two cases differ. URLs handed to third parties (the webhook URL a provider
 * calls, status and image URLs in job documents and callbacks, read later by others) use the
 * request's origin only when it is loopback — `wrangler dev` on this machine, where a forged Host
 * could only point at the machine itself — and are refused otherwise. An answer to the request
 * itself (the 201 body, a listing) goes back only to whoever chose the Host, so it uses the
 * request's origin; /healthz warns while the setting is missing.
 */
import { isLoopbackHost } from "../net/address-rules";

/** For URLs third parties receive: `public_base_url` when set; else the request's origin if it is loopback; else null. */
export function publicOrigin(configured: string | undefined, requestUrl: string): string | null {
  if (configured !== undefined) return withoutTrailingSlash(configured);
  const request = new URL(requestUrl);
  return isLoopbackHost(request.hostname) ? request.origin : null;
}

/** For URLs in the answer to this request: `public_base_url` when set, else the request's own origin. */
export function answerOrigin(configured: string | undefined, requestUrl: string): string {
  return configured !== undefined ? withoutTrailingSlash(configured) : new URL(requestUrl).origin;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

export const PUBLIC_BASE_URL_MISSING =
  "public_base_url is not set: async jobs (webhook, status and callback URLs) are refused except on a loopback origin (local development), and image URLs in answers follow the request's Host header";
