import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readPngSize } from "../../src/backends/image-size";
import { allKeys, bearer, callWorker, eventuallyStored, postJson, seedKey } from "../helpers/world";

describe("POST /v1/images with the mock backend", () => {
  it("returns 201 with a stored PNG of the requested size, its metadata and a sidecar", async () => {
    const key = await seedKey("otto/head");
    const response = await callWorker(
      "/v1/images",
      postJson("/v1/images", key, { prompt: "a cat in a fishbowl", size: "512x256", seed: 42, source: "script" }),
    );
    expect(response.status).toBe(201);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    const body = await response.json<any>();
    expect(body).toMatchObject({ backend: "mock", model: "mock-png", seed: 42, cost_usd_estimate: 0, failed_attempts: [] });
    expect(body.request_id).toBe(response.headers.get("x-request-id"));
    expect(body.images).toHaveLength(1);
    const image = body.images[0];
    expect(image).toMatchObject({ width: 512, height: 256, mime_type: "image/png" });
    expect(image.key).toMatch(/^ottoZ002Fhead\/\d{4}-\d{2}-\d{2}\/\d{6}-[0-9a-z]{26}-42-mock\.png$/);

    const object = await env.IMAGES.get(image.key);
    expect(object).not.toBeNull();
    const bytes = new Uint8Array(await object!.arrayBuffer());
    expect(readPngSize(bytes)).toEqual({ width: 512, height: 256 });
    expect(object!.customMetadata).toMatchObject({ caller: "otto/head", backend: "mock", seed: "42", image_id: image.id });
    expect(JSON.stringify(object!.customMetadata)).not.toContain("fishbowl");

    // Written after the answer (its bytes are not what the caller waits for), so it is polled for.
    const sidecar = await eventuallyStored(`${image.key}.json`);
    const sidecarBody = await sidecar.json<any>();
    expect(sidecarBody).toMatchObject({
      id: image.id,
      caller: "otto/head",
      source: "script",
      request: { prompt: "a cat in a fishbowl", size: "512x256", seed: 42, n: 1 },
      backend: { instance: "mock", model: "mock-png", seed: 42 },
      cost: { usd_estimate: 0 },
    });

    const fetched = await callWorker(new URL(image.url).pathname, { headers: bearer(key) });
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(bytes);
  });

  it("gives callers whose names differ only in '/' and '-' folders of their own: none can probe (409) or take another's keys", async () => {
    const twins = ["otto/twin", "otto-twin", "otto//twin"];
    const keys = await Promise.all(twins.map((caller) => seedKey(caller)));
    const made = await Promise.all(
      keys.map(
        async (key) =>
          (await (await callWorker("/v1/images", postJson("/v1/images", key, { prompt: "twin", size: "64x64" }))).json<any>()).images[0].key as string,
      ),
    );
    const folders = made.map((key) => key.slice(0, key.indexOf("/") + 1));
    expect(new Set(folders).size).toBe(twins.length);
    // The plain name keeps the folder it always had.
    expect(folders[1]).toBe("otto-twin/");
    for (const [i, key] of keys.entries()) {
      for (const [j, taken] of made.entries()) {
        if (i === j) continue;
        const squat = await callWorker("/v1/images", postJson("/v1/images", key, { prompt: "squat", size: "64x64", output: taken }));
        expect(squat.status).toBe(400);
        expect((await squat.json<any>()).detail).toContain(`must be in your own folder "${folders[i]}"`);
      }
    }
  });

  it("gives identical bytes for the same prompt and seed, different bytes for another seed", async () => {
    const key = await seedKey("repeat");
    const make = async (seed: number) => {
      const res = await callWorker("/v1/images", postJson("/v1/images", key, { prompt: "same", size: "128x128", seed }));
      const body = await res.json<any>();
      return new Uint8Array(await (await env.IMAGES.get(body.images[0].key))!.arrayBuffer());
    };
    const [a, b, c] = [await make(7), await make(7), await make(8)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("rejects a missing key with 401 problem+json and writes nothing", async () => {
    const before = await allKeys();
    const response = await callWorker("/v1/images", postJson("/v1/images", null, { prompt: "x" }));
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("www-authenticate")).toContain("Bearer");
    expect(await allKeys()).toEqual(before);
  });
});
