import { describe, expect, it } from "vitest";
import { jsonDepthWithin } from "../../../src/lib/json-depth";

describe("jsonDepthWithin", () => {
  it("counts arrays and objects, not brackets inside strings or after escapes", () => {
    expect(jsonDepthWithin(`{"a":[{"b":[]}]}`, 4)).toBe(true);
    expect(jsonDepthWithin(`{"a":[{"b":[]}]}`, 3)).toBe(false);
    expect(jsonDepthWithin(JSON.stringify({ s: "[[[[[[{{{{" }), 1)).toBe(true);
    expect(jsonDepthWithin(JSON.stringify({ s: 'quote \\" then [[[[' }), 1)).toBe(true);
    expect(jsonDepthWithin(`${JSON.stringify({ s: "\\" })}[[`, 1)).toBe(false);
    expect(jsonDepthWithin("[]".repeat(10_000), 1)).toBe(true);
  });

  it("scans 5,000 levels without recursion", () => {
    expect(jsonDepthWithin("[".repeat(5000) + "]".repeat(5000), 64)).toBe(false);
    expect(jsonDepthWithin("[".repeat(5000) + "]".repeat(5000), 5000)).toBe(true);
  });
});
