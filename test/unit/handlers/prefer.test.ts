/** RFC 7240 preferences as POST /v1/images reads them (the async path itself: test/handlers/jobs.test.ts). */
import { describe, expect, it } from "vitest";
import { prefers } from "../../../src/http/prefer";

describe("the Prefer header", () => {
  it("finds respond-async among other preferences, in any case, with or without values", () => {
    expect(prefers("respond-async", "respond-async")).toBe(true);
    expect(prefers("wait=10, Respond-Async", "respond-async")).toBe(true);
    expect(prefers("respond-async; foo=bar", "respond-async")).toBe(true);
    expect(prefers("wait=10", "respond-async")).toBe(false);
    expect(prefers("respond-asyncish", "respond-async")).toBe(false);
    expect(prefers(undefined, "respond-async")).toBe(false);
  });
});
