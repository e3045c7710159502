import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { jsonLogger, type LogLevel } from "../../src/lib/log";
import { callerIndexPrefix } from "../../src/storage/image-index";
import { writeFollowUps } from "../../src/storage/image-follow-ups";
import { R2ImageStore } from "../../src/storage/image-store";

const PNG = { bytes: new Uint8Array([137, 80, 78, 71]), mimeType: "image/png" as const, width: 1, height: 1 };

function capturingLog() {
  const lines: { level: LogLevel; line: string }[] = [];
  return { lines, log: jsonLogger({ service: "test" }, (line, level) => lines.push({ line, level })) };
}

function metadata(caller: string, imageId: string) {
  return { caller, backend: "mock", model: "mock-png", seed: "1", image_id: imageId, request_id: "r", width: "1", height: "1", cost_usd_estimate: "" };
}

async function markersOf(caller: string): Promise<string[]> {
  const listed = await env.IMAGES.list({ prefix: callerIndexPrefix(caller), include: ["customMetadata"] });
  return listed.objects.map((marker) => marker.customMetadata?.key ?? "");
}

describe("an image's sidecar and index marker, written after the answer", () => {
  it("are handed to waitUntil: putImage returns once the image is stored, and the work it handed over writes both", async () => {
    const pending: Promise<unknown>[] = [];
    const { log } = capturingLog();
    const store = new R2ImageStore(env.IMAGES, { waitUntil: (work) => pending.push(work), log });
    const stored = await store.putImage("later/a.png", PNG, {
      metadata: metadata("later", "img-a"),
      allowSuffix: true,
      sidecar: (key, size) => ({ key, size }),
    });
    expect(stored).toMatchObject({ key: "later/a.png", sidecarKey: "later/a.png.json" });
    expect(await env.IMAGES.head("later/a.png")).not.toBeNull();
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(await (await env.IMAGES.get("later/a.png.json"))!.json()).toEqual({ key: "later/a.png", size: 4 });
    expect(await markersOf("later")).toEqual(["later/a.png"]);
  });

  it("never overwrite another object at the sidecar's key: the sidecar is logged whole instead, and the image is still indexed", async () => {
    await env.IMAGES.put("taken/b.png.json", "someone else's", { customMetadata: { image_id: "other" } });
    const { lines, log } = capturingLog();
    const sidecar = { key: "taken/b.png.json", json: '{"prompt":"kept in the log"}', write: async () => null };
    await writeFollowUps(env.IMAGES, { caller: "taken", imageKey: "taken/b.png", imageId: "img-b", uploaded: new Date(), sidecar }, log);
    expect(await (await env.IMAGES.get("taken/b.png.json"))!.text()).toBe("someone else's");
    const errors = lines.filter((l) => l.level === "error").map((l) => JSON.parse(l.line));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: "SIDECAR NOT WRITTEN", key: "taken/b.png.json", sidecar: '{"prompt":"kept in the log"}' });
    expect(await markersOf("taken")).toEqual(["taken/b.png"]);
  });

  it("take a sidecar already there with this image's id as written (a retry whose first answer was lost)", async () => {
    await env.IMAGES.put("lost/c.png.json", "{}", { customMetadata: { image_id: "img-c" } });
    const { lines, log } = capturingLog();
    const sidecar = { key: "lost/c.png.json", json: "{}", write: async () => null };
    await writeFollowUps(env.IMAGES, { caller: "lost", imageKey: "lost/c.png", imageId: "img-c", uploaded: new Date(), sidecar }, log);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  });

  it("retry a write that failed, then succeed", async () => {
    const { lines, log } = capturingLog();
    let tries = 0;
    const sidecar = {
      key: "flaky/d.png.json",
      json: "{}",
      write: async () => {
        if (++tries === 1) throw new Error("R2 blip");
        return env.IMAGES.put("flaky/d.png.json", "{}", { onlyIf: { etagDoesNotMatch: "*" } });
      },
    };
    await writeFollowUps(env.IMAGES, { caller: "flaky", imageKey: "flaky/d.png", imageId: "img-d", uploaded: new Date(), sidecar }, log);
    expect(tries).toBe(2);
    expect(await env.IMAGES.head("flaky/d.png.json")).not.toBeNull();
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  });
});
