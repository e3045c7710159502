/**
 * `imagen generate`: the image lands on disk under the naming template (or --output) with its
 * sidecar beside it, and the summary names path, backend, seed, latency and cost.
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, runJson, scratchDir } from "./run-cli";
import { SLOW_MOCK_MS } from "./test-config";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface GenerateJson {
  request_id: string;
  job_id: string | null;
  backend: string;
  model: string;
  seed: number;
  latency_ms: number;
  cost_usd_estimate: number | null;
  images: { path: string; sidecar_path: string | null; key: string; width: number; height: number; mime_type: string; bytes: number }[];
}

async function writeConfig(dir: string, config: object): Promise<string> {
  const path = join(dir, "imagen.json");
  await writeFile(path, JSON.stringify(config), { mode: 0o600 });
  return path;
}

describe("imagen generate", () => {
  it("downloads the image to the naming template in the current folder and prints path, backend, seed, latency, cost", async () => {
    const dir = await scratchDir();
    const run = await runCli(["generate", "A Cat in a Fishbowl!", "--backend", "mock", "--seed", "42", "--size", "256x128"], { cwd: dir });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    const files = (await readdir(dir)).filter((f) => f.endsWith(".png"));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d{2}-\d{2}-\d{6}-a-cat-in-a-fishbowl-42-mock\.png$/);
    const bytes = await readFile(join(dir, files[0]!));
    expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    const [path, summary] = run.stdout.trimEnd().split("\n");
    expect(path).toBe(join(".", files[0]!));
    expect(summary).toMatch(/^backend mock \(mock-png\) {2}seed 42 {2}latency \d+ ms {2}cost \$0\.0000$/);
  });

  it("writes the sidecar beside the image: what was asked, what answered, where it lives", async () => {
    const dir = await scratchDir();
    const result = await runJson<GenerateJson>(
      ["generate", "a lighthouse", "--backend", "mock", "--seed", "7", "--size", "128x64", "--steps", "3", "--negative", "fog", "--source", "script"],
      { cwd: dir },
    );
    const image = result.images[0]!;
    expect(image.sidecar_path).toBe(`${image.path}.json`);
    const sidecar = JSON.parse(await readFile(join(dir, image.sidecar_path!), "utf8"));
    expect(sidecar).toMatchObject({
      file: image.path,
      key: image.key,
      request_id: result.request_id,
      source: "script",
      request: { prompt: "a lighthouse", negative: "fog", size: "128x64", seed: 7, steps: 3, n: 1, style: null },
      image: { index: 0, width: 128, height: 64, mime_type: "image/png", bytes: image.bytes },
      backend: { instance: "mock", model: "mock-png", seed: 7 },
      cost: { usd_estimate: 0 },
    });
    expect((await stat(join(dir, image.path))).size).toBe(image.bytes);
  });

  it("--no-sidecar writes the image alone", async () => {
    const dir = await scratchDir();
    const result = await runJson<GenerateJson>(["generate", "no sidecar", "--backend", "mock", "--size", "64x64", "--no-sidecar"], { cwd: dir });
    expect(result.images[0]!.sidecar_path).toBeNull();
    expect(await readdir(dir)).toEqual([result.images[0]!.path]);
  });

  it("--output writes exactly there (replacing a file), and numbers a batch as the service does (x.png, x-2.png, …)", async () => {
    const dir = await scratchDir();
    await writeFile(join(dir, "x.png"), "old");
    const one = await runJson<GenerateJson>(["generate", "one", "--backend", "mock", "--size", "64x64", "--output", join(dir, "x.png")]);
    expect(one.images.map((i) => i.path)).toEqual([join(dir, "x.png")]);
    expect([...(await readFile(join(dir, "x.png"))).subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    const two = await runJson<GenerateJson>(["generate", "two", "--backend", "mock", "--size", "64x64", "--n", "2", "--output", join(dir, "pair.png")]);
    expect(two.images.map((i) => i.path)).toEqual([join(dir, "pair.png"), join(dir, "pair-2.png")]);
    expect((await readdir(dir)).sort()).toEqual(["pair-2.png", "pair-2.png.json", "pair.png", "pair.png.json", "x.png", "x.png.json"]);
  });

  it("follows the config's naming template and folder, and never overwrites a templated file", async () => {
    const dir = await scratchDir();
    const config = await writeConfig(dir, { output: { dir: join(dir, "out"), naming: "{backend}/{slug}-{seed}.{ext}", sidecar: false } });
    const args = ["--config", config, "generate", "Über café", "--backend", "mock", "--seed", "5", "--size", "64x64"];
    const first = await runJson<GenerateJson>(args);
    const second = await runJson<GenerateJson>(args);
    expect(first.images[0]!.path).toBe(join(dir, "out", "mock", "uber-cafe-5.png"));
    expect(second.images[0]!.path).toBe(join(dir, "out", "mock", "uber-cafe-5-2.png"));
    expect(first.images[0]!.sidecar_path).toBeNull();
  });

  it("--async runs as a job: the JSON names the job, and the result is the same image", async () => {
    const dir = await scratchDir();
    const result = await runJson<GenerateJson>(["generate", "async cat", "--backend", "mock", "--seed", "9", "--size", "64x64", "--async"], { cwd: dir });
    expect(result.job_id).toMatch(/^[0-9a-z]{26}$/);
    expect(result.seed).toBe(9);
    expect([...(await readFile(join(dir, result.images[0]!.path))).subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    const job = await runJson<{ id: string; status: string; result: { seed: number } }>(["jobs", result.job_id!]);
    expect(job).toMatchObject({ id: result.job_id, status: "succeeded", result: { seed: 9 } });
  });

  it("shows a progress line (state, backend, elapsed) on a terminal while a slow job runs", async () => {
    const dir = await scratchDir();
    const run = await runCli(["generate", "slow cat", "--backend", "mock-slow", "--size", "64x64", "--no-preview"], {
      cwd: dir,
      env: { IMAGEN_TTY: "1" },
    });
    expect(run.code).toBe(0);
    const frames = run.stderr.split("\r\x1b[2K").filter(Boolean);
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.at(-1)).toMatch(/^\[#{24}\] {2}succeeded {2}mock-slow {2}\d+\.\ds\n$/);
    const seconds = Number(/(\d+\.\d)s\n$/.exec(frames.at(-1)!)![1]);
    expect(seconds * 1000).toBeGreaterThanOrEqual(SLOW_MOCK_MS - 100);
    expect(run.stdout).toMatch(/backend mock-slow/);
  });

  it("uses the config's default_backend when --backend is absent", async () => {
    const dir = await scratchDir();
    const config = await writeConfig(dir, { default_backend: "mock-broken" });
    const run = await runCli(["--config", config, "generate", "a cat", "--size", "64x64"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('mock backend "mock-broken" injected a unavailable failure');
  });

  it("renders the service's problem+json readably, field by field, and exits 1", async () => {
    const run = await runCli(["generate", "huge", "--backend", "mock", "--size", "4000x4000"]);
    expect(run.code).toBe(1);
    // Once: the detail already is the field's complaint.
    expect(run.stderr).toMatch(/^imagen: Invalid request \(HTTP 400\): size: .+\n {2}request id: [0-9a-f-]{36}\n$/);
  });
});
