/**
 * The service configuration the CLI tests run against: only backends that never leave the
 * machine (mock instances, and a Replicate instance without a token, which reports itself
 * "not configured" without sending anything).
 */
export const SLOW_MOCK_MS = 2_500;
/** Long enough that a job on it is still running whenever a test interrupts the CLI. */
const HOLDING_MOCK_MS = 300_000;
export const CAPPED_CALLER = "budget-reader";

export const CLI_TEST_CONFIG = {
  default_backend: "mock",
  output: { naming: "{caller}/{date}/{time}-{slug}-{seed}.{ext}", sidecar: true },
  backends: {
    mock: { type: "mock", model: "mock-png", latency_ms: 0 },
    "mock-slow": { type: "mock", model: "mock-png", latency_ms: SLOW_MOCK_MS },
    "mock-hold": { type: "mock", model: "mock-png", latency_ms: HOLDING_MOCK_MS },
    "mock-broken": { type: "mock", model: "mock-png", failure_rate: 1, failure_kind: "unavailable" },
    // Makes images from text only: an edit sent to it is the service's 400 naming the ones that can.
    "text-only": { type: "mock", model: "mock-png", edits: false },
    "flux-schnell-replicate": {
      type: "replicate",
      model: "black-forest-labs/flux-schnell",
      api_token_env: "REPLICATE_API_TOKEN",
      default_steps: 4,
    },
  },
  chains: { "edit-chain": { backends: ["text-only", "mock"] } },
  styles: {
    "blog-header": { template: "{prompt}, wide editorial blog header", size: "256x128" },
  },
  // A daily cap for one caller, so `imagen budget` has a gauge to show (and one period without).
  guard: { callers: { [CAPPED_CALLER]: { daily_usd: 2 } } },
};
