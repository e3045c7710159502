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

/** Follow an output back to the node that sets width/height/batch_size; pick up a sampler's seed on the way. */
export function traceSize(
  prompt: Prompt,
  id: string,
  classes: Readonly<Record<string, NodeClass>>,
  depth = 0,
): { width: number; height: number; batch: number; seed: number } | undefined {
  const node = prompt[id];
  if (!node || depth > 50) return undefined;
  const { width, height, batch_size: batch } = node.inputs;
  if (typeof width === "number" && typeof height === "number") return { width, height, batch: typeof batch === "number" ? batch : 1, seed: 0 };
  const source = classes[node.class_type]?.source;
  const links = source ? [node.inputs[source]] : Object.values(node.inputs);
  for (const link of links) {
    if (!Array.isArray(link)) continue;
    const found = traceSize(prompt, String(link[0]), classes, depth + 1);
    if (found) return node.class_type === "KSampler" ? { ...found, seed: Number(node.inputs.seed) } : found;
  }
  return undefined;
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
