/**
 * Tenant isolation of object keys: an explicit `output` stays in the caller's own folder (admins:
 * anywhere but the reserved `_…` folders), and no answer reveals whether another caller's object exists.
 */
import { describe, expect, it } from "vitest";
import { generate } from "../../src/core/generate";
import { OutputConflictError } from "../../src/core/errors";
import type { Caller } from "../../src/lib/caller";
import { pipelineWorld } from "../helpers/pipeline";
import { allKeys, callWorker, postJson, seedKey } from "../helpers/world";

const alice: Caller = { name: "alice", role: "user" };
const admin: Caller = { name: "root", role: "admin" };

describe("explicit outputs through the API", () => {
  it("refuses another caller's folder with 400, the same answer whether the object exists or not", async () => {
    const bob = await seedKey("bob-owner");
    const mallory = await seedKey("mallory");
    const created = await callWorker("/v1/images", postJson("/v1/images", bob, { prompt: "p", size: "64x64", output: "bob-owner/secret.png" }));
    expect(created.status).toBe(201);
    const before = await allKeys();

    const existing = await callWorker("/v1/images", postJson("/v1/images", mallory, { prompt: "p", size: "64x64", output: "bob-owner/secret.png" }));
    const missing = await callWorker("/v1/images", postJson("/v1/images", mallory, { prompt: "p", size: "64x64", output: "bob-owner/nothing.png" }));
    expect([existing.status, missing.status]).toEqual([400, 400]);
    const [a, b] = [await existing.json<any>(), await missing.json<any>()];
    expect(a.detail).toBe(b.detail.replace("nothing", "secret"));
    expect(a.detail).not.toMatch(/exist|taken/);
    expect(await allKeys()).toEqual(before);
  });

  it("lets an admin write into a user's folder but not into _dead-letters/", async () => {
    const root = await seedKey("root-admin", "admin");
    const placed = await callWorker("/v1/images", postJson("/v1/images", root, { prompt: "p", size: "64x64", output: "someone/placed.png" }));
    expect(placed.status).toBe(201);
    const reserved = await callWorker("/v1/images", postJson("/v1/images", root, { prompt: "p", size: "64x64", output: "_dead-letters/usage/x.png" }));
    expect(reserved.status).toBe(400);
    expect((await reserved.json<any>()).errors).toEqual([{ field: "output", message: expect.stringContaining("_dead-letters/") }]);
  });
});

describe("an image and its sidecar are claimed together", () => {
  it("a taken <key>.json refuses the request (409) before any backend is paid: no usage event, nothing written", async () => {
    const world = pipelineWorld();
    await generate({ prompt: "p", n: 1, output: "alice/k.png.json", sidecar: false }, alice, "r1", world.deps);
    world.events.length = 0;
    const before = await allKeys();

    const conflict = await generate({ prompt: "p", n: 1, output: "alice/k.png" }, alice, "r2", world.deps).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(OutputConflictError);
    expect((conflict as OutputConflictError).key).toBe("alice/k.png");
    expect(world.events).toEqual([]);
    expect(await allKeys()).toEqual(before);
  });

  it("without a sidecar, the same key is free", async () => {
    const world = pipelineWorld();
    await generate({ prompt: "p", n: 1, output: "alice/solo.png.json", sidecar: false }, alice, "r1", world.deps);
    const outcome = await generate({ prompt: "p", n: 1, output: "alice/solo.png", sidecar: false }, alice, "r2", world.deps);
    expect(outcome.images.map((i) => i.key)).toEqual(["alice/solo.png"]);
  });

  it("an admin writing into a user's folder is still refused when the key is taken", async () => {
    const world = pipelineWorld();
    await generate({ prompt: "p", n: 1, output: "alice/mine.png" }, alice, "r1", world.deps);
    const conflict = await generate({ prompt: "p", n: 1, output: "alice/mine.png" }, admin, "r2", world.deps).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(OutputConflictError);
  });
});
