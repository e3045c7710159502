import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/app";
import { testConfig } from "../helpers/config";
import { allKeys, appWithConfig, bearer, callWorker, postJson, seedKey } from "../helpers/world";

/** A body that sends `first` and then breaks off, as a client hanging up mid-upload does. */
function brokenOffBody(first: string): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) controller.error(new Error("Network connection lost."));
      else controller.enqueue(new TextEncoder().encode(first));
      sent = true;
    },
  });
}

const ok = { prompt: "a lighthouse at dusk" };

/** Names every plain object inherits: a config table must not find them. */
const PROTOTYPE_NAMES = ["toString", "constructor", "__proto__", "valueOf", "hasOwnProperty"];

/** [case, body (object or raw string), expected status, the field the answer must name] */
const cases: [string, unknown, number, string][] = [
  ["invalid JSON", '{"prompt": "unterminated', 400, "JSON"],
  ["a JSON array instead of an object", "[1,2]", 400, "(body)"],
  ["prompt missing", {}, 400, "prompt"],
  ["prompt of the wrong type", { prompt: 42 }, 400, "prompt"],
  ["empty prompt", { prompt: "" }, 400, "prompt"],
  ["whitespace-only prompt", { prompt: "   \n" }, 400, "prompt"],
  ["oversized prompt", { prompt: "x".repeat(4001) }, 400, "prompt"],
  ["malformed size", { ...ok, size: "big" }, 400, "size"],
  ["size with a star", { ...ok, size: "512*512" }, 400, "size"],
  ["size too large", { ...ok, size: "4096x4096" }, 400, "size"],
  ["size too small", { ...ok, size: "32x32" }, 400, "size"],
  ["size not a multiple of 8", { ...ok, size: "1000x1001" }, 400, "size"],
  ["n of zero", { ...ok, n: 0 }, 400, "n"],
  ["n above the limit", { ...ok, n: 5 }, 400, "n"],
  ["n as a string", { ...ok, n: "2" }, 400, "n"],
  ["negative seed", { ...ok, seed: -1 }, 400, "seed"],
  ["fractional seed", { ...ok, seed: 1.5 }, 400, "seed"],
  ["seed beyond 2^53-1", { ...ok, seed: 2 ** 53 }, 400, "seed"],
  ["steps of zero", { ...ok, steps: 0 }, 400, "steps"],
  ["traversal in output", { ...ok, output: "../other-caller/x.png" }, 400, "output"],
  ["nested traversal in output", { ...ok, output: "a/../../x.png" }, 400, "output"],
  ["absolute output", { ...ok, output: "/etc/x.png" }, 400, "output"],
  ["odd characters in output", { ...ok, output: "a b?.png" }, 400, "output"],
  ["unknown backend", { ...ok, backend: "dall-e-9" }, 400, "backend"],
  ["unknown style", { ...ok, style: "vaporwave" }, 400, "style"],
  ["unknown field", { ...ok, seeds: 3 }, 400, "seeds"],
  ["sidecar as a string", { ...ok, sidecar: "no" }, 400, "sidecar"],
  ["source with spaces", { ...ok, source: "my script" }, 400, "source"],
  ["ref with spaces", { ...ok, ref: "post 42" }, 400, "ref"],
  ["ref longer than 200 characters", { ...ok, ref: "p".repeat(201) }, 400, "ref"],
  ["empty ref", { ...ok, ref: "" }, 400, "ref"],
  ["output in another caller's folder", { ...ok, output: "someone-else/x.png" }, 400, "output"],
  ["output in the reserved _dead-letters folder", { ...ok, output: "_dead-letters/x.png" }, 400, "output"],
  ...PROTOTYPE_NAMES.flatMap((name): [string, unknown, number, string][] => [
    [`backend named like Object.prototype's "${name}"`, { ...ok, backend: name }, 400, "backend"],
    [`style named like Object.prototype's "${name}"`, { ...ok, style: name }, 400, "style"],
  ]),
];

describe("bad input to POST /v1/images", () => {
  it.each(cases)("%s → clear %i naming the field, nothing written", async (_name, body, status, field) => {
    const key = await seedKey("validator");
    const before = await allKeys();
    const response = await callWorker("/v1/images", postJson("/v1/images", key, body));
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("x-request-id")).toBeTruthy();
    const problem = await response.json<{ type: string; detail: string; status: number; request_id: string }>();
    expect(problem.status).toBe(status);
    expect(problem.type).toBe("urn:imagen-edge:problem:invalid-request");
    expect(problem.detail).toContain(field);
    expect(problem.request_id).toBe(response.headers.get("x-request-id"));
    expect(await allKeys()).toEqual(before);
  });

  it("answers 413 for a body over the limit, and writes nothing", async () => {
    const key = await seedKey("big");
    const before = await allKeys();
    const response = await callWorker("/v1/images", postJson("/v1/images", key, { prompt: "x".repeat(MAX_BODY_BYTES) }));
    expect(response.status).toBe(413);
    expect((await response.json<{ type: string }>()).type).toBe("urn:imagen-edge:problem:payload-too-large");
    expect(await allKeys()).toEqual(before);
  });

  it("answers 413 for an undeclared-length (chunked) body over the limit", async () => {
    const key = await seedKey("big-chunked");
    const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await callWorker("/v1/images", { method: "POST", headers: { ...bearer(key), "content-type": "application/json" }, body });
    expect(response.status).toBe(413);
  });

  it("logs a client that hangs up mid-upload as a client abort (499, info), not as an unhandled error", async () => {
    const key = await seedKey("hangs-up");
    const app = appWithConfig(testConfig());
    const response = await app.call("/v1/images", {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json" },
      body: brokenOffBody('{"prompt": "half a'),
    });
    expect(response.status).toBe(499);
    expect((await response.json<{ type: string }>()).type).toBe("urn:imagen-edge:problem:canceled");
    expect(app.logs.filter((l) => l.level === "error")).toEqual([]);
    expect(app.logs.some((l) => l.level === "info" && l.line.includes("client went away mid-upload"))).toBe(true);
    expect(app.logs.some((l) => l.line.includes('"status":499'))).toBe(true);
  });

  it("answers 415 when the body is not declared as JSON", async () => {
    const key = await seedKey("form");
    const response = await callWorker("/v1/images", {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/x-www-form-urlencoded" },
      body: "prompt=cat",
    });
    expect(response.status).toBe(415);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("names a plain object inherits, sent as backend or style", () => {
  it.each(
    PROTOTYPE_NAMES.flatMap((name) => [
      ["backend", name],
      ["style", name],
    ]),
  )("with Prefer: respond-async: %s %s → 400 naming the field at once, no job accepted", async (field, name) => {
    const key = await seedKey("validator");
    const before = await allKeys();
    const response = await callWorker("/v1/images", postJson("/v1/images", key, { ...ok, [field]: name }, { prefer: "respond-async" }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ field }] });
    expect(await allKeys()).toEqual(before);
  });
});

describe("bad input to GET /v1/images/{key}", () => {
  it("answers 404 for a key longer than any stored object's name (R2 refuses names over 1024 bytes)", async () => {
    const key = await seedKey("reader");
    const response = await callWorker(`/v1/images/${encodeURIComponent(`reader/${"k".repeat(1100)}.png`)}`, { headers: bearer(key) });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect((await response.json<{ detail: string }>()).detail).toMatch(/^no image "reader\/k+\.png" for this caller$/);
  });
});

describe("bad input to the usage reports", () => {
  it.each(["/v1/usage?caller=", "/v1/usage/summary?caller=", "/v1/usage?raw=1&caller="])(
    "an admin's empty caller filter (%s) → 400 naming caller",
    async (path) => {
      const key = await seedKey("auditor", "admin");
      const response = await callWorker(path, { headers: bearer(key) });
      expect(response.status).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect((await response.json<{ detail: string }>()).detail).toContain("caller");
    },
  );
});
