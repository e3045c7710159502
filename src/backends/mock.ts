/**
 * The in-tree mock backend: real PNGs whose pixels depend only on prompt, seed and image index
 * (same inputs → identical bytes), with configurable latency and failure injection for tests,
 * local runs and benchmarks. Free: it has no price row and costs 0.
 */
import { z } from "zod";
import { encodePngRgb } from "../lib/png";
import { defineBackendType, type GeneratedImage } from "./backend";
import { BackendError, type BackendErrorKind } from "./errors";
import { baseInstanceFields } from "./instance-base";

const CELL = 32;

export const mockBackendType = defineBackendType({
  type: "mock",
  configSchema: z.strictObject({
    type: z.literal("mock"),
    ...baseInstanceFields,
    /** Added to every generation, in milliseconds. */
    latency_ms: z.int().min(0).max(600_000).default(0),
    /** Fraction of attempts that fail, 0..1 (1 = always). Draws from a hash of prompt + seed, so it is repeatable. */
    failure_rate: z.number().min(0).max(1).default(0),
    /** How an injected failure presents itself. */
    failure_kind: z
      .enum(["unavailable", "timeout", "failed", "rate_limited", "invalid_request", "auth", "insufficient_credit"])
      .default("unavailable"),
  }),
  create(name, config, runtime) {
    const model = config.model ?? "mock-png";
    return {
      name,
      type: "mock",
      model,
      provider: "mock",
      status: async () => ({ state: "ok" }),
      async generate(spec, ctx) {
        const started = runtime.clock.now();
        if (config.latency_ms > 0) await ctx.clock.sleep(config.latency_ms, ctx.signal);
        const base = mix(hashString(spec.prompt), spec.seed);
        if (config.failure_rate > 0 && unitInterval(mulberry32(base ^ 0x5bd1e995)) < config.failure_rate) {
          throw new BackendError(config.failure_kind as BackendErrorKind, `mock backend "${name}" injected a ${config.failure_kind} failure`);
        }
        const images: GeneratedImage[] = [];
        for (let index = 0; index < spec.n; index++) {
          const bytes = await renderPattern(spec.width, spec.height, mix(base, index));
          images.push({ mimeType: "image/png", width: spec.width, height: spec.height, bytes });
        }
        return {
          images,
          model,
          seed: spec.seed,
          predictTimeSeconds: (runtime.clock.now() - started) / 1000,
        };
      },
    };
  },
});

/** Flat-colour cells on a two-colour ramp: cheap to compress, visibly different per input. */
async function renderPattern(width: number, height: number, seed: number): Promise<Uint8Array> {
  const next = mulberry32(seed);
  const rgb = new Uint8Array(width * height * 3);
  const cellsX = Math.ceil(width / CELL);
  const row = new Uint8Array(width * 3);
  for (let cellY = 0; cellY * CELL < height; cellY++) {
    for (let cellX = 0; cellX < cellsX; cellX++) {
      const r = next() & 0xff, g = next() & 0xff, b = next() & 0xff;
      for (let x = cellX * CELL; x < Math.min(width, (cellX + 1) * CELL); x++) {
        row[x * 3] = r;
        row[x * 3 + 1] = g;
        row[x * 3 + 2] = b;
      }
    }
    for (let y = cellY * CELL; y < Math.min(height, (cellY + 1) * CELL); y++) rgb.set(row, y * width * 3);
  }
  return encodePngRgb(width, height, rgb);
}

function hashString(text: string): number {
  // FNV-1a over UTF-8 bytes.
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

/** Fold a (possibly > 32-bit) integer into a 32-bit hash. */
function mix(hash: number, value: number): number {
  const low = value >>> 0;
  const high = Math.floor(value / 2 ** 32) >>> 0;
  return (Math.imul(hash ^ low, 0x9e3779b1) ^ Math.imul(high + 1, 0x85ebca77)) >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function unitInterval(next: () => number): number {
  return next() / 2 ** 32;
}
