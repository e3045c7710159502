/**
 * Object keys from the output naming template. Placeholders are the ones `imagen` users already write
 * ({date}, {time}, {slug}, {seed}, {backend}, {ext}) plus {caller} and {id}; unknown placeholders stay literal so a
 * typo shows up in the key instead of vanishing.
 */
// With its extension: the `imagen` CLI runs this module in Node as compiled ESM.
import { ownEntry } from "../config/lookup.js";

export interface NamingValues {
  readonly now: Date;
  readonly prompt: string;
  readonly seed: number;
  readonly backend: string;
  readonly ext: string;
  readonly caller: string;
  readonly id: string;
}

const SLUG_MAX = 40;

/** Lowercased ASCII slug of the prompt, at most 40 characters. */
export function slugify(prompt: string): string {
  const ascii = prompt
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // drop the accents NFKD split off
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const cut = ascii.slice(0, SLUG_MAX).replace(/-+$/, "");
  return cut || "image";
}

/** A caller name made safe for a key segment. */
export function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "") || "unknown";
}

export function renderNamingTemplate(template: string, values: NamingValues): string {
  const iso = values.now.toISOString(); // 2026-05-08T14:30:15.123Z — the template is in UTC
  const replacements: Record<string, string> = {
    date: iso.slice(0, 10),
    time: iso.slice(11, 19).replaceAll(":", ""),
    slug: slugify(values.prompt),
    seed: String(values.seed),
    backend: safeSegment(values.backend),
    ext: values.ext,
    caller: safeSegment(values.caller),
    id: values.id,
  };
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => ownEntry(replacements, name) ?? whole);
}

const MAX_KEY_LENGTH = 512;

/**
 * Why a key is unacceptable, or null when it is fine. Applies to explicit `output` keys and to
 * rendered templates alike: no traversal, no absolute paths, a conservative character set.
 */
export function keyProblem(key: string, { allowBraces = false } = {}): string | null {
  if (key.length === 0) return "is empty";
  if (key.length > MAX_KEY_LENGTH) return `is longer than ${MAX_KEY_LENGTH} characters`;
  if (key.startsWith("/")) return "must be relative (no leading '/')";
  if (key.endsWith("/")) return "must name a file, not a folder";
  // Braces only appear in rendered templates, where unknown placeholders stay literal.
  const allowed = allowBraces ? /^[A-Za-z0-9._\-/{}]+$/ : /^[A-Za-z0-9._\-/]+$/;
  if (!allowed.test(key)) return "may only contain letters, digits, '.', '_', '-' and '/'";
  const segments = key.split("/");
  if (segments.some((s) => s === "")) return "must not contain empty path segments ('//')";
  if (segments.some((s) => s === "." || s === "..")) return "must not contain '.' or '..' segments";
  if (segments.some((s) => s.startsWith("."))) return "must not contain hidden segments starting with '.'";
  return null;
}

/** `a/b.png` → `a/b-2.png`: the n-th alternative when a key is taken (n >= 2). */
export function withSuffix(key: string, n: number): string {
  const slash = key.lastIndexOf("/");
  const dot = key.lastIndexOf(".");
  if (dot > slash + 1) return `${key.slice(0, dot)}-${n}${key.slice(dot)}`;
  return `${key}-${n}`;
}

/** The sidecar sits next to its image: `<image key>.json`. */
export function sidecarKey(imageKey: string): string {
  return `${imageKey}.json`;
}
