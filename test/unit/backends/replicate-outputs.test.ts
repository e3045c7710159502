/**
 * Which output URLs the Replicate backend will fetch, and which seed it reports (fetching the
 * outputs from the fake Replicate: test/backends/replicate-protocol.test.ts).
 */
import { describe, expect, it } from "vitest";
import { isDeliveryUrl, seedUsed } from "../../../src/backends/replicate/outputs";

describe("isDeliveryUrl", () => {
  const hosts = ["replicate.delivery", "*.replicate.delivery"];
  it.each([
    ["https://replicate.delivery/xezq/abc/out-0.webp", true],
    ["https://pbxt.replicate.delivery/abc/out-0.png", true],
    ["https://replicate.delivery.evil.example/out-0.png", false],
    ["https://evilreplicate.delivery/out-0.png", false],
    ["http://replicate.delivery/xezq/abc/out-0.webp", false],
    ["ftp://replicate.delivery/out-0.png", false],
    ["not a url", false],
  ])("%s → %s", (url, expected) => {
    expect(isDeliveryUrl(url, hosts)).toBe(expected);
  });

  it("allows plain http only for loopback hosts listed explicitly (local fakes)", () => {
    expect(isDeliveryUrl("http://127.0.0.1:9010/delivery/x/out-0.png", ["127.0.0.1"])).toBe(true);
    expect(isDeliveryUrl("http://127.0.0.1:9010/delivery/x/out-0.png", hosts)).toBe(false);
  });
});

describe("seedUsed", () => {
  const base = { id: "p", status: "succeeded" as const, input: {} };
  it("prefers the seed FLUX logged over the one sent", () => {
    expect(seedUsed({ ...base, input: { seed: 0 }, logs: "Using seed: 4242\n" })).toBe(4242);
  });
  it("falls back to the seed sent when the logs do not say", () => {
    expect(seedUsed({ ...base, input: { seed: 99 }, logs: "" })).toBe(99);
  });
});
