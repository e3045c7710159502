/**
 * The in-tree mock backend: real PNGs whose pixels depend only on prompt, seed and image index
 * (same inputs → identical bytes), with configurable latency and failure injection for tests,
 * local runs and benchmarks. Free (no price row, costs 0) unless `cost_per_image_usd` makes it a
 * paid stand-in for the spend guard's tests and benchmarks.
 *
 * Edits (a spec with reference images): each image is the first reference, scaled to the spec's
 * size, with its colours inverted — only where the mask is transparent, when there is one — so a
 * test can check, pixel by pixel, that the input reached the backend. A JPEG or WebP reference
 * (which the mock cannot decode) gives the usual pattern seeded by the reference's sha256 instead.
 *
 * It is also the example of a one-shot provider (one call returns the images, like Together or
 * OpenAI images): `protocol: oneShot(generate)`, throwing BackendError for every failure and
 * honouring `ctx.signal`. The runner does the rest (spend, usage event, fallback, cancellation).
 */
import { z } from "zod";
import { usd } from "../lib/money";
import { encodeCellPng, type Rgb } from "./mock/png";
import { type PngPixels, readPngPixels } from "./mock/png-read";
import { type AttemptContext, defineBackendType, type EditSpec, type GeneratedImage, isEdit, oneShot, referenceInputs } from "./backend";
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
    failure_kind: z.enum(["unavailable", "timeout", "failed", "rate_limited", "invalid_request", "auth", "insufficient_credit"]).default("unavailable"),
    /** Makes the mock a paid backend (tests and benchmarks of the spend guard); absent = free. */
    cost_per_image_usd: z.number().min(0).max(100).optional(),
    /** Whether it takes edits (reference images and masks); false makes a stand-in for a backend that cannot. */
    edits: z.boolean().default(true),
  }),
  create(name, config, runtime) {
    const model = config.model ?? "mock-png";
    return {
      name,
      type: "mock",
      model,
      provider: "mock",
      ...(config.cost_per_image_usd !== undefined && { configuredPricePerImage: usd(config.cost_per_image_usd) }),
      ...(config.edits && { edits: { maxImages: 16, mask: true } }),
      status: async () => ({ state: "ok" }),
      protocol: oneShot(async (spec, ctx) => {
        const started = runtime.clock.now();
        if (config.latency_ms > 0) await ctx.clock.sleep(config.latency_ms, ctx.signal);
        const base = mix(hashString(spec.prompt), spec.seed);
        if (config.failure_rate > 0 && unitInterval(mulberry32(base ^ 0x5bd1e995)) < config.failure_rate) {
          throw new BackendError(config.failure_kind as BackendErrorKind, `mock backend "${name}" injected a ${config.failure_kind} failure`);
        }
        const edited = isEdit(spec) ? await renderEdit(spec, ctx) : null;
        const images: GeneratedImage[] = [];
        for (let index = 0; index < spec.n; index++) {
          const bytes = edited ?? renderPattern(spec.width, spec.height, imageSeed(spec.prompt, spec.seed, index));
          images.push({ mimeType: "image/png", width: spec.width, height: spec.height, bytes });
        }
        return {
          images,
          model,
          seed: spec.seed,
          predictTimeSeconds: (runtime.clock.now() - started) / 1000,
        };
      }),
    };
  },
});

/**
 * The first reference at the spec's size (nearest pixel), inverted wherever the mask is
 * transparent (everywhere without a mask). A reference the mock cannot decode gives the pattern
 * seeded by its sha256.
 */
async function renderEdit(spec: EditSpec, ctx: AttemptContext): Promise<Uint8Array> {
  const inputs = referenceInputs(ctx);
  const first = spec.references[0]!;
  const source = first.mimeType === "image/png" ? await readPngPixels(await inputs.bytes(first)) : null;
  if (!source) return renderPattern(spec.width, spec.height, hashString(first.sha256));
  const mask = spec.mask ? await readPngPixels(await inputs.bytes(spec.mask)) : null;
  return encodeCellPng(spec.width, spec.height, 1, (x, y) => editedPixel(source, mask, spec, x, y));
}

/** What the mock's edit makes at (x, y) of a `size.width`×`size.height` image. */
function editedPixel(source: PngPixels, mask: PngPixels | null, size: { readonly width: number; readonly height: number }, x: number, y: number): Rgb {
  const sx = Math.floor((x * source.width) / size.width);
  const sy = Math.floor((y * source.height) / size.height);
  const [r, g, b] = source.rgba(sx, sy);
  const edit = mask === null || mask.rgba(Math.floor((x * mask.width) / size.width), Math.floor((y * mask.height) / size.height))[3] < 128;
  return edit ? [255 - r, 255 - g, 255 - b] : [r, g, b];
}

/** Flat-colour cells, each colour drawn from a PRNG seeded by prompt, seed and image index. */
function renderPattern(width: number, height: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const cellsX = Math.ceil(width / CELL);
  const colors: Rgb[] = [];
  for (let i = 0; i < cellsX * Math.ceil(height / CELL); i++) colors.push([next() & 0xff, next() & 0xff, next() & 0xff]);
  return encodeCellPng(width, height, CELL, (cx, cy) => colors[cy * cellsX + cx]!);
}

/** The colour of the cell holding pixel (x, y): what a decoder must find there (used by tests). */
export function mockPixel(width: number, seed: number, x: number, y: number): Rgb {
  const next = mulberry32(seed);
  const index = Math.floor(y / CELL) * Math.ceil(width / CELL) + Math.floor(x / CELL);
  for (let i = 0; i < index; i++) {
    next();
    next();
    next();
  }
  return [next() & 0xff, next() & 0xff, next() & 0xff];
}

/** The PRNG seed for one image of a request. */
export function imageSeed(prompt: string, seed: number, index: number): number {
  return mix(mix(hashString(prompt), seed), index);
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
