/**
 * Usage events shared by the ledger tests (SQL tests in Node, the D1/Supabase contract suite in
 * workerd). Ten attempts over three ISO weeks, two callers, several sources, successes, failures
 * and a fallback chain; the expected totals are written out by hand in the tests that use them.
 *
 * Week boundaries on purpose: 2026-05-03 and 2026-05-10 are Sundays, 2026-05-04 and 2026-05-11
 * Mondays, so the ISO week's Monday is exercised on both sides.
 */
import type { UsageEvent } from "../../src/usage/event";
import { usd } from "../../src/lib/money";

/** A distinct, valid sha256 hex for a fixture prompt (the ledger never sees prompts). */
function promptHash(n: number): string {
  return n.toString(16).padStart(64, "0");
}

/**
 * A valid successful event; tests override what they are about. Every column is present, so a
 * stored row equals the event it came from (plus its id).
 */
export function usageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    event_id: "evt-default",
    occurred_at: "2026-05-04T08:00:00.000Z",
    request_id: "req-default",
    caller: "otto/head",
    source: "webhook",
    backend: "flux-schnell-replicate",
    backend_type: "replicate",
    model: "black-forest-labs/flux-schnell",
    model_version: null,
    seed: 42,
    prompt_hash: promptHash(1),
    width: 1024,
    height: 1024,
    images_requested: 1,
    images_produced: 1,
    latency_ms: 1200,
    cost_usd_estimate: usd(0.003),
    price_id: null,
    success: true,
    error_code: null,
    error_message: null,
    external_id: null,
    attempt: 1,
    client_request_id: null,
    ref: null,
    reserved_usd: null,
    provider_predict_time_s: null,
    provider_image_count: null,
    cost_unknown_reason: null,
    ...overrides,
  };
}

const failed = { success: false, images_produced: 0, cost_usd_estimate: null } as const;

/** What a Replicate attempt reports beside our estimate: the reservation and the provider's own figures. */
const reconciled = (reserved: number, predictTimeS: number | null, providerImages: number | null) =>
  ({ reserved_usd: usd(reserved), provider_predict_time_s: predictTimeS, provider_image_count: providerImages }) as const;

/*
 * Attribution: refs "post/cats" (evt-01, evt-02, evt-05) and "post/dogs" (evt-08, evt-09); the
 * client X-Request-Id "cli-1" is sent by otto/head (evt-01, evt-09) and by mai/hermes (evt-05).
 * Reconciliation: reservations on evt-01, 02, 08, 09 (0.112 in all); provider figures on evt-01,
 * 02, 09 (8.5 s, 7 images).
 */
export const FIXTURE_EVENTS: readonly UsageEvent[] = [
  // Sunday 2026-05-03 → week of Monday 2026-04-27.
  usageEvent({
    event_id: "evt-01",
    request_id: "req-01",
    occurred_at: "2026-05-03T23:30:00.000Z",
    price_id: 1,
    external_id: "pred-01",
    ref: "post/cats",
    client_request_id: "cli-1",
    ...reconciled(0.003, 1.25, 1),
  }),
  usageEvent({
    event_id: "evt-02",
    request_id: "req-02",
    occurred_at: "2026-05-04T08:00:00.000Z",
    images_requested: 2,
    images_produced: 2,
    cost_usd_estimate: usd(0.006),
    price_id: 1,
    seed: 7,
    prompt_hash: promptHash(2),
    ref: "post/cats",
    ...reconciled(0.006, 2.5, 2),
  }),
  // A fallback chain: Together fails, Replicate (attempt 2) succeeds.
  usageEvent({
    event_id: "evt-03",
    request_id: "req-03",
    occurred_at: "2026-05-04T09:00:00.000Z",
    source: "admin",
    backend: "flux-schnell-together",
    backend_type: "together",
    model: "black-forest-labs/flux.1-schnell",
    ...failed,
    error_code: "provider_unavailable",
    error_message: "Together answered 503",
    latency_ms: 300,
  }),
  usageEvent({ event_id: "evt-04", request_id: "req-03", occurred_at: "2026-05-04T09:00:01.000Z", source: "admin", attempt: 2 }),
  usageEvent({
    event_id: "evt-05",
    request_id: "req-05",
    occurred_at: "2026-05-06T12:00:00.000Z",
    caller: "mai/hermes",
    source: "script",
    backend: "gpt-image",
    backend_type: "openai",
    model: "gpt-image-1.5",
    seed: null,
    cost_usd_estimate: usd(0.133),
    width: 1024,
    height: 1024,
    prompt_hash: promptHash(5),
    ref: "post/cats",
    client_request_id: "cli-1",
  }),
  // A local backend nobody prices: no estimate.
  usageEvent({
    event_id: "evt-06",
    request_id: "req-06",
    occurred_at: "2026-05-06T12:05:00.000Z",
    caller: "mai/hermes",
    source: null,
    backend: "flux-schnell-local",
    backend_type: "comfyui",
    model: "flux1-schnell",
    cost_usd_estimate: null,
    width: 768,
    height: 512,
  }),
  // Last millisecond of Sunday 2026-05-10 → still the week of 2026-05-04.
  usageEvent({
    event_id: "evt-07",
    request_id: "req-07",
    occurred_at: "2026-05-10T23:59:59.999Z",
    caller: "mai/hermes",
    source: "script",
    backend: "flux-dev-replicate",
    model: "black-forest-labs/flux-dev",
    cost_usd_estimate: usd(0.025),
    model_version: "abc123",
  }),
  usageEvent({
    event_id: "evt-08",
    request_id: "req-08",
    occurred_at: "2026-05-11T00:00:00.000Z",
    ...failed,
    error_code: "timeout",
    error_message: "prediction did not finish in 60s",
    latency_ms: 60000,
    external_id: "pred-08",
    ref: "post/dogs",
    ...reconciled(0.003, null, null),
  }),
  usageEvent({
    event_id: "evt-09",
    request_id: "req-09",
    occurred_at: "2026-05-12T10:00:00.000Z",
    backend: "flux-dev-replicate",
    model: "black-forest-labs/flux-dev",
    images_requested: 4,
    images_produced: 4,
    cost_usd_estimate: usd(0.1),
    ref: "post/dogs",
    client_request_id: "cli-1",
    ...reconciled(0.1, 4.75, 4),
  }),
  // Same instant as evt-09: the row id breaks the tie (newest first = higher id first).
  usageEvent({
    event_id: "evt-10",
    request_id: "req-10",
    occurred_at: "2026-05-12T10:00:00.000Z",
    source: null,
    backend: "mock",
    backend_type: "mock",
    model: "mock-png",
    ...failed,
    error_code: "invalid_request",
    error_message: "size 10x10 is below the minimum",
    latency_ms: 0,
    seed: 0,
  }),
];
