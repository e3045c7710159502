/**
 * Load and validate the configuration once per isolate. Errors name the bad field, e.g.
 * `backends.mock.latency_ms: expected number, received string`.
 */
import type { z } from "zod";
import { configSchema, type ImagenConfig } from "./schema";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid IMAGEN_CONFIG: ${problems.join("; ")}`);
  }
}

function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ""): string[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

export function parseConfig(raw: unknown): ImagenConfig {
  const value = typeof raw === "string" ? parseJson(raw) : raw;
  if (value === undefined || value === null) throw new ConfigError(["IMAGEN_CONFIG is not set"]);
  const result = configSchema.safeParse(value);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues));
  return result.data;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new ConfigError(["IMAGEN_CONFIG is a string but not valid JSON"]);
  }
}

const cache = new WeakMap<object, ImagenConfig>();

/** Validated config for this env; the object wrangler hands us is stable per isolate. */
export function loadConfig(raw: unknown): ImagenConfig {
  if (typeof raw !== "object" || raw === null) return parseConfig(raw);
  let config = cache.get(raw);
  if (!config) {
    config = parseConfig(raw);
    cache.set(raw, config);
  }
  return config;
}
