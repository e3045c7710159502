/**
 * Where a downloaded image lands and what its sidecar says. Without --output the path comes from
 * the naming template ({date} {time} {slug} {seed} {backend} {ext}, plus {id});
 * a template path never overwrites an existing file, an explicit --output does.
 */
import { mkdir, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { renderNamingTemplate, sidecarKey, withSuffix } from "../../src/storage/naming.js";
import type { GenerateAnswer, ImageRecord } from "./api-types.js";

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

function extensionFor(mimeType: string): string {
  return EXTENSIONS[mimeType] ?? mimeType.split("/")[1]?.replace(/[^a-z0-9]/g, "") ?? "bin";
}

export type Destination = { readonly kind: "explicit"; readonly path: string } | { readonly kind: "template"; readonly path: string };

export interface NamingInput {
  readonly template: string;
  readonly dir: string;
  readonly prompt: string;
  readonly now: Date;
}

/** The path for image `index` (0-based) of a batch. */
export function destinationFor(image: ImageRecord, index: number, answer: GenerateAnswer, output: string | undefined, naming: NamingInput): Destination {
  // One numbering for every batch, the service's own: x.png, x-2.png, x-3.png, …
  if (output !== undefined) return { kind: "explicit", path: index === 0 ? output : withSuffix(output, index + 1) };
  const name = renderNamingTemplate(naming.template, {
    now: naming.now,
    prompt: naming.prompt,
    seed: answer.seed,
    backend: answer.backend,
    ext: extensionFor(image.mime_type),
    caller: "",
    id: image.id,
  });
  return { kind: "template", path: join(naming.dir, name) };
}

/** Writes the bytes; a template path that exists gets -2, -3, … rather than replacing a file. */
export async function writeImage(destination: Destination, bytes: Uint8Array): Promise<string> {
  await mkdir(dirname(destination.path), { recursive: true });
  if (destination.kind === "explicit") {
    await writeWith(destination.path, bytes, "w");
    return destination.path;
  }
  for (let attempt = 1; ; attempt++) {
    const path = attempt === 1 ? destination.path : withSuffix(destination.path, attempt);
    try {
      await writeWith(path, bytes, "wx");
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

async function writeWith(path: string, bytes: Uint8Array, flags: "w" | "wx"): Promise<void> {
  const file = await open(path, flags);
  try {
    await file.writeFile(bytes);
  } finally {
    await file.close();
  }
}

export interface SidecarRequest {
  readonly prompt: string;
  readonly style: string | null;
  readonly negative: string | null;
  readonly size: string | null;
  readonly seed: number | null;
  readonly steps: number | null;
  readonly n: number;
  readonly source: string | null;
  /** An edit's inputs as given: `{file}` paths and `{key}`s (empty for a text prompt). */
  readonly reference_images: readonly ({ readonly file: string } | { readonly key: string })[];
  readonly mask: { readonly file: string } | { readonly key: string } | null;
}

/** The request whose images an identical seeded request was answered with (cost 0), or null for a fresh generation. */
export function reusedFrom(answer: GenerateAnswer): string | null {
  const marker = (answer as GenerateAnswer & { readonly reused_from?: unknown }).reused_from;
  return typeof marker === "string" ? marker : null;
}

/** The local sidecar: what was asked, what answered, where the image lives — enough to reproduce it. */
export function sidecarFor(image: ImageRecord, index: number, answer: GenerateAnswer, request: SidecarRequest, file: string, now: Date) {
  return {
    id: image.id,
    file,
    key: image.key,
    url: image.url,
    created_at: now.toISOString(),
    request_id: answer.request_id,
    reused_from: reusedFrom(answer),
    source: request.source,
    request: {
      prompt: request.prompt,
      style: request.style,
      negative: request.negative,
      size: request.size,
      seed: request.seed,
      steps: request.steps,
      n: request.n,
      reference_images: request.reference_images,
      mask: request.mask,
    },
    image: { index, width: image.width, height: image.height, mime_type: image.mime_type, bytes: image.bytes },
    backend: { instance: answer.backend, model: answer.model, model_version: answer.model_version, seed: answer.seed },
    cost: { usd_estimate: answer.cost_usd_estimate },
    timings: { latency_ms: answer.latency_ms },
    failed_attempts: answer.failed_attempts,
  };
}

/** `<image>.json`, as the service names its own sidecars. */
export const sidecarPath = sidecarKey;
