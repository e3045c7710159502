import { describe, expect, it } from "vitest";
import { callerSegment, keyProblem, renderNamingTemplate, sidecarKey, slugify, withSuffix } from "../../../src/storage/naming";

const values = {
  now: new Date("2026-05-08T14:30:15.123Z"),
  prompt: "A wide editorial blog header about RAG systems",
  seed: 42,
  backend: "flux-schnell-local",
  ext: "png",
  caller: "otto/head",
  id: "01hx0000000000000000000000",
};

describe("naming template", () => {
  it.each([
    ["{date}", "2026-05-08"],
    ["{time}", "143015"],
    ["{slug}", "a-wide-editorial-blog-header-about-rag-s"],
    ["{seed}", "42"],
    ["{backend}", "flux-schnell-local"],
    ["{ext}", "png"],
    ["{caller}", "ottoZ002Fhead"],
    ["{id}", "01hx0000000000000000000000"],
  ])("replaces %s", (template, expected) => {
    expect(renderNamingTemplate(template, values)).toBe(expected);
  });

  it("renders a whole template and leaves unknown placeholders literal", () => {
    expect(renderNamingTemplate("{caller}/{date}/{time}-{slug}-{seed}.{ext}", values)).toBe(
      "ottoZ002Fhead/2026-05-08/143015-a-wide-editorial-blog-header-about-rag-s-42.png",
    );
    expect(renderNamingTemplate("{date}/{model}/{Slug}-{seed}.{ext}", values)).toBe("2026-05-08/{model}/{Slug}-42.png");
  });

  it("slugs are lowercased ASCII of at most 40 characters with no dangling dashes", () => {
    expect(slugify("Crème Brûlée — à la minute!")).toBe("creme-brulee-a-la-minute");
    expect(slugify("🐱🐟")).toBe("image");
    expect(slugify(`${"x".repeat(39)} yz`)).toBe("x".repeat(39));
    expect(slugify("a".repeat(100))).toHaveLength(40);
  });
});

describe("caller folders", () => {
  it("keep a plain caller name as it is", () => {
    for (const plain of ["alice", "otto-head", "a.b_c-9", "0"]) expect(callerSegment(plain)).toBe(plain);
  });

  it("are one-to-one, and every one is a valid key segment", () => {
    const names = [
      "otto/head",
      "otto-head",
      "otto//head",
      "otto--head",
      "ottoZ002Fhead",
      "Otto-head",
      "otto/Head",
      "-otto",
      ".otto",
      "otto/",
      "/otto",
      "é",
      "e\u0301",
      "😀",
      "",
      "Z",
      "z",
    ];
    const segments = names.map(callerSegment);
    expect(new Set(segments).size).toBe(names.length);
    for (const segment of segments) expect(keyProblem(`${segment}/x.png`)).toBeNull();
  });
});

describe("object keys", () => {
  it.each([
    ["blog/header.png", null],
    ["a/b/c-1_2.webp", null],
    ["../etc/passwd", "must not contain '.' or '..' segments"],
    ["a/../../b.png", "must not contain '.' or '..' segments"],
    ["/abs/path.png", "must be relative (no leading '/')"],
    ["a//b.png", "must not contain empty path segments ('//')"],
    ["dir/", "must name a file, not a folder"],
    ["a/.hidden.png", "must not contain hidden segments starting with '.'"],
    ["spaces in name.png", "may only contain letters, digits, '.', '_', '-' and '/'"],
    ["back\\slash.png", "may only contain letters, digits, '.', '_', '-' and '/'"],
    ["{seed}.png", "may only contain letters, digits, '.', '_', '-' and '/'"],
    ["", "is empty"],
    ["a".repeat(513), "is longer than 512 characters"],
  ])("%s → %s", (key, problem) => {
    expect(keyProblem(key)).toBe(problem);
  });

  it("allows literal braces only in rendered templates", () => {
    expect(keyProblem("{model}/x.png", { allowBraces: true })).toBeNull();
  });

  it("suffixes before the extension, and after the name when there is none", () => {
    expect(withSuffix("a/b.png", 2)).toBe("a/b-2.png");
    expect(withSuffix("a.b/c", 3)).toBe("a.b/c-3");
    expect(withSuffix(".png", 2)).toBe(".png-2");
    expect(sidecarKey("a/b.png")).toBe("a/b.png.json");
  });
});
