/** An edit with no size is made at its input's size: the bounds and a backend's own size list decide how near. */
import { describe, expect, it } from "vitest";
import { nearestSize, withinBounds } from "../../../src/lib/size";

describe("withinBounds", () => {
  it("keeps a size already inside the bounds", () => {
    expect(withinBounds({ width: 768, height: 512 })).toEqual({ width: 768, height: 512 });
  });
  it("rounds each side to a multiple of 8 and lifts tiny sides to 64", () => {
    expect(withinBounds({ width: 1001, height: 30 })).toEqual({ width: 1000, height: 64 });
  });
  it("scales a large input down until its longer side is 2048, keeping the ratio", () => {
    expect(withinBounds({ width: 4096, height: 3072 })).toEqual({ width: 2048, height: 1536 });
    expect(withinBounds({ width: 1000, height: 4000 })).toEqual({ width: 512, height: 2048 });
  });
});

describe("nearestSize", () => {
  const gptImage = [
    { width: 1024, height: 1024 },
    { width: 1536, height: 1024 },
    { width: 1024, height: 1536 },
  ];
  it("picks the choice nearest in ratio", () => {
    expect(nearestSize(gptImage, { width: 768, height: 512 })).toEqual({ width: 1536, height: 1024 });
    expect(nearestSize(gptImage, { width: 600, height: 1000 })).toEqual({ width: 1024, height: 1536 });
    expect(nearestSize(gptImage, { width: 900, height: 880 })).toEqual({ width: 1024, height: 1024 });
  });
  it("breaks a ratio tie by area", () => {
    const squares = [256, 512, 1024].map((side) => ({ width: side, height: side }));
    expect(nearestSize(squares, { width: 480, height: 480 })).toEqual({ width: 512, height: 512 });
  });
});
