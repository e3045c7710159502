/** Service configs for tests: the same shape as wrangler.toml's [vars.IMAGEN_CONFIG]. */
export function testConfig(overrides: Record<string, unknown> = {}) {
  return {
    default_backend: "mock",
    output: { naming: "{caller}/{date}/{time}-{slug}-{seed}.{ext}", sidecar: true },
    backends: {
      mock: { type: "mock", model: "mock-png" },
      // Fails every time and is never skipped (cooldown_s 0), so each test sees its attempt.
      "mock-down": { type: "mock", model: "mock-down", failure_rate: 1, failure_kind: "unavailable", cooldown_s: 0 },
      "mock-refuses": { type: "mock", model: "mock-refuses", failure_rate: 1, failure_kind: "invalid_request" },
      "mock-with-fallback": { type: "mock", model: "mock-down", failure_rate: 1, failure_kind: "timeout", fallback: ["mock-down", "mock"] },
    },
    // URLs handed out never come from the Host header.
    public_base_url: "http://imagen.test",
    styles: {
      "blog-header": { template: "{prompt}, editorial header", size: "1536x768", negative: "text" },
    },
    ...overrides,
  };
}
