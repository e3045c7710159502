/**
 * A dependency outage is a 503 that names the dependency and says when to retry — never a 500.
 * The ledger here is a (fake) Supabase project whose gateway answers 503 for a while.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "../helpers/config";
import { newSupabaseProject, type FakeSupabaseProject } from "../usage/ledger-world";
import { appWithConfig, bearer, seedKey } from "../helpers/world";

const GATEWAY_DOWN = { status: 503, body: { message: "upstream connect error or disconnect/reset before headers" } };

let project: FakeSupabaseProject;
beforeAll(async () => {
  project = await newSupabaseProject();
}, 120_000);
afterAll(() => project?.drop());

describe("while the ledger is down", () => {
  it.each([
    ["/v1/usage", "usage ledger"],
    ["/v1/usage?raw=1", "usage ledger"],
    ["/v1/usage/summary", "usage ledger"],
    ["/v1/pricing", "price store"],
  ])(
    "GET %s → 503 naming the %s, with Retry-After",
    async (path, dependency) => {
      // Enough failures for every read and each of supabase-js's own retries of them.
      await project.scenario({ fail_next: Array.from({ length: 40 }, () => GATEWAY_DOWN) });
      const app = appWithConfig(testConfig({ ledger: { backend: "supabase" } }), { SUPABASE_URL: project.url, SUPABASE_SECRET_KEY: project.secretKey });
      const key = await seedKey("patient", "admin");
      const response = await app.call(path, { headers: bearer(key) });
      expect(response.status).toBe(503);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      const problem = await response.json<{ type: string; detail: string; dependency: string; request_id: string }>();
      expect(problem.type).toBe("urn:imagen-edge:problem:dependency-unavailable");
      expect(problem.detail).toContain(`the ${dependency} (Supabase)`);
      expect(problem.dependency).toBe(`the ${dependency} (Supabase)`);
      expect(problem.request_id).toBe(response.headers.get("x-request-id"));
    },
    60_000,
  ); // supabase-js retries reads with backoff before it gives up
});
