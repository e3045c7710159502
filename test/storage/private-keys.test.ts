/** The shipped naming template keeps prompt text out of object keys (and so out of URLs and logs). */
import { describe, expect, it } from "vitest";
import { callWorker, postJson, seedKey } from "../helpers/world";

describe("the default object key", () => {
  it("carries date, time, id, seed and backend — and no word of the prompt", async () => {
    const key = await seedKey("privacy");
    const response = await callWorker("/v1/images", postJson("/v1/images", key, { prompt: "Grandma's Secret Recipe", seed: 7, size: "64x64" }));
    expect(response.status).toBe(201);
    const body = await response.json<{ images: { key: string; url: string }[] }>();
    const [image] = body.images;
    expect(image!.key).toMatch(/^privacy\/\d{4}-\d{2}-\d{2}\/\d{6}-[0-9a-z]{26}-7-mock\.png$/);
    expect(JSON.stringify(body)).not.toMatch(/grandma|secret|recipe/i);
  });
});
