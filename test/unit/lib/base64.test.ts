/** Base64 both ways (src/lib/base64.ts): uploads arrive as base64 in JSON. */
import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../../../src/lib/base64";

describe("fromBase64", () => {
  it("reverses toBase64, padding optional, whitespace ignored", () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    expect(fromBase64("aGk")).toEqual(new TextEncoder().encode("hi"));
    expect(fromBase64("aG\nk=")).toEqual(new TextEncoder().encode("hi"));
  });

  it("is null for what is not base64", () => {
    expect(fromBase64("!!not base64!!")).toBeNull();
    expect(fromBase64("aGk=x")).toBeNull();
    expect(fromBase64("a")).toBeNull();
  });
});
