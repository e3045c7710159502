/** Reading a prompt graph the way ComfyUI's executor walks it. */
import type { NodeClass, Prompt } from "./nodes";

/** Nodes the outputs depend on, dependencies first (what the executor walks). */
export function executionOrder(prompt: Prompt, outputs: readonly string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id) || !prompt[id]) return;
    seen.add(id);
    for (const value of Object.values(prompt[id]!.inputs)) if (Array.isArray(value)) visit(String(value[0]));
    order.push(id);
  };
  for (const id of [...outputs].sort()) visit(id);
  return order;
}

interface TracedSize {
  readonly width: number;
  readonly height: number;
  readonly batch: number;
  readonly seed: number;
}

/**
 * Follow an output back to the node that sets width/height/batch_size (or the LoadImage whose file
 * does); pick up a sampler's seed and a RepeatLatentBatch's amount on the way, and rescale where
 * an ImageScale says so (a side of 0 keeps the image's ratio).
 */
export function traceSize(
  prompt: Prompt,
  id: string,
  classes: Readonly<Record<string, NodeClass>>,
  loadedSize: (image: string) => { width: number; height: number } | undefined = () => undefined,
  depth = 0,
): TracedSize | undefined {
  const node = prompt[id];
  if (!node || depth > 50) return undefined;
  if (node.class_type === "LoadImage") {
    const size = loadedSize(String(node.inputs.image));
    return size && { ...size, batch: 1, seed: 0 };
  }
  const { width, height, batch_size: batch } = node.inputs;
  const sized = typeof width === "number" && typeof height === "number";
  if (sized && node.class_type !== "ImageScale") return { width, height, batch: typeof batch === "number" ? batch : 1, seed: 0 };
  const source = classes[node.class_type]?.source;
  const links = source ? [node.inputs[source]] : Object.values(node.inputs);
  for (const link of links) {
    if (!Array.isArray(link)) continue;
    const found = traceSize(prompt, String(link[0]), classes, loadedSize, depth + 1);
    if (!found) continue;
    switch (node.class_type) {
      case "KSampler":
        return { ...found, seed: Number(node.inputs.seed) };
      case "RepeatLatentBatch":
        return { ...found, batch: found.batch * Number(node.inputs.amount) };
      case "ImageScale":
        return sized ? { ...found, ...scaled(found, width, height) } : found;
      default:
        return found;
    }
  }
  return undefined;
}

/** comfy ImageScale: a side of 0 follows the other in the image's ratio; both 0 keeps the size. */
function scaled(image: { width: number; height: number }, width: number, height: number): { width: number; height: number } {
  if (width === 0 && height === 0) return image;
  if (width === 0) return { width: Math.max(1, Math.round((image.width * height) / image.height)), height };
  if (height === 0) return { width, height: Math.max(1, Math.round((image.height * width) / image.width)) };
  return { width, height };
}

export function loaderSignature(prompt: Prompt): string {
  return Object.values(prompt)
    .filter((node) => node.class_type.endsWith("Loader") || node.class_type === "CheckpointLoaderSimple")
    .map((node) => JSON.stringify(node.inputs))
    .join("|");
}

/** Python's json.dumps: ", " / ": " separators and ASCII-only output (ensure_ascii). */
export function pythonJson(value: unknown): string {
  const text = JSON.stringify(value, null, 0) ?? "null";
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === "\\") {
        out += ch + text[++i];
        continue;
      }
      if (ch === '"') inString = false;
      const code = ch.charCodeAt(0);
      out += code > 0x7e ? `\\u${code.toString(16).padStart(4, "0")}` : ch;
      continue;
    }
    if (ch === '"') inString = true;
    out += ch === "," ? ", " : ch === ":" ? ": " : ch;
  }
  return out;
}
