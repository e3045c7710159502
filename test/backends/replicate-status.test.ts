/**
 * Replicate's status in /v1/backends comes from GET /v1/account with the configured token
 * (cached), not from the token variable merely being set.
 */
import { describe, expect, inject, it } from "vitest";
import { describeStatus } from "../../src/backends/backend";
import { replicateBackendType, replicateConfigSchema } from "../../src/backends/replicate";
import { newToken, requestsOf } from "../fakes/replicate/kit";
import { steppedClock } from "../helpers/clock";

const fake = inject("fakes").replicate!;

function backendWith(token: string) {
  const config = replicateConfigSchema.parse({ type: "replicate", model: "black-forest-labs/flux-schnell", base_url: `${fake}/v1` });
  return replicateBackendType.create("r", config, { env: { REPLICATE_API_TOKEN: token }, fetch: (...a) => fetch(...a), clock: steppedClock() });
}

describe("replicate backend: status from a real probe", () => {
  it("is ok when Replicate accepts the token at GET /v1/account, and asks once per TTL", async () => {
    const token = newToken();
    const backend = backendWith(token);
    expect(describeStatus(await backend.status())).toBe("ok");
    expect(describeStatus(await backend.status())).toBe("ok");
    expect((await requestsOf(fake, token)).map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1/account"]);
  });

  it("says the token is rejected, naming its variable, when Replicate answers 401", async () => {
    const backend = backendWith("not-a-replicate-token");
    expect(describeStatus(await backend.status())).toBe("key rejected (check REPLICATE_API_TOKEN): Replicate answered 401");
  });
});
