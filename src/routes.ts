/**
 * Every public path of the service, spelled once: the handlers register these patterns, and the
 * URLs we hand out (image links, job status, the webhook URL given to providers) are built here.
 * No Hono: the pipeline and the job Durable Object build URLs too.
 */
export const ROUTES = {
  health: "/healthz",
  images: "/v1/images",
  image: "/v1/images/{key}",
  jobs: "/v1/jobs/{id}",
  backends: "/v1/backends",
  keys: "/v1/keys",
  key: "/v1/keys/{id}",
  usage: "/v1/usage",
  usageSummary: "/v1/usage/summary",
  pricing: "/v1/pricing",
  pricingApprove: "/v1/pricing/held/{id}/approve",
  pricingReject: "/v1/pricing/held/{id}/reject",
  webhooks: "/v1/webhooks/{type}",
} as const;

/** Where the owner fetches a stored object: `<origin>/v1/images/<url-encoded key>`. */
export function imageUrl(origin: string, key: string): string {
  return new URL(ROUTES.image.replace("{key}", encodeURIComponent(key)), origin).toString();
}

export function jobStatusUrl(origin: string, id: string): string {
  return `${origin}${ROUTES.jobs.replace("{id}", id)}`;
}

/**
 * `/v1/webhooks/{type}?job=…&backend=…&attempt=…`: providers hand query parameters back unchanged.
 * The attempt id lets a delivery be matched to its attempt even when the create's answer was lost.
 */
export function providerWebhookUrl(origin: string, backendType: string, job: string, backend: string, attempt: string): string {
  const query = new URLSearchParams({ job, backend, attempt });
  return `${origin}${ROUTES.webhooks.replace("{type}", encodeURIComponent(backendType))}?${query}`;
}
