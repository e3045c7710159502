import { describe, expect, it } from "vitest";
import { upstreamTextSummary } from "../../../src/lib/upstream-text";

describe("upstreamTextSummary", () => {
  it.each([
    ["a proxy's 502 page", "<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>", null, 'an HTML page titled "502 Bad Gateway"'],
    [
      "a page with a doctype and entities in the title",
      "<!DOCTYPE html><html><title>Error &amp; outage</title></html>",
      null,
      'an HTML page titled "Error & outage"',
    ],
    ["an HTML page without a title", "<html><body>down</body></html>", null, "an HTML page"],
    ["HTML declared only by its content type", "  oops <b>bold</b>", "text/html; charset=utf-8", "an HTML page"],
    ["markup smuggled into the title", "<html><title>&lt;script&gt;x&lt;/script&gt;</title></html>", null, 'an HTML page titled "scriptx/script"'],
    ["plain text with real line breaks", "upstream\n\tconnect   error", "text/plain", "upstream connect error"],
  ])("%s", (_name, body, contentType, expected) => {
    expect(upstreamTextSummary(body, contentType)).toBe(expected);
  });

  it("cuts long text to one short line", () => {
    const summary = upstreamTextSummary("x".repeat(5000));
    expect(summary.length).toBeLessThanOrEqual(200);
    expect(summary.endsWith("…")).toBe(true);
  });
});
