/**
 * A refused `callback_url` through the real app: 400 naming the field before any job exists (the
 * address rules themselves: test/unit/net/callback-url.test.ts). Nothing is sent anywhere.
 */
import { describe, expect, it } from "vitest";
import { testConfig } from "../helpers/config";
import { appWithConfig, postJson, seedKey } from "../helpers/world";

describe("POST /v1/images with a refused callback_url", () => {
  const SECRET = `whsec_${btoa("callback-signing-key-for-tests-32b")}`;
  const app = appWithConfig(testConfig(), { IMAGEN_CALLBACK_SECRET: SECRET });

  it.each(["https://169.254.169.254/latest/meta-data/", "http://0x7f000001/", "https://[fd00::1]/", "https://hooks.example.com:0/"])(
    "%s → 400 naming callback_url, no job accepted",
    async (url) => {
      const key = await seedKey("hooker");
      const response = await app.call("/v1/images", postJson("/v1/images", key, { prompt: "p", callback_url: url }, { prefer: "respond-async" }));
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
      expect(await response.json()).toMatchObject({ type: "urn:imagen-edge:problem:invalid-request", errors: [{ field: "callback_url" }] });
    },
  );
});
