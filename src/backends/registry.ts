/**
 * Every backend type, in one list. Adding a backend touches its own file and one line here.
 */
import { z } from "zod";
import type { Backend, BackendRuntime } from "./backend";
import { comfyuiBackendType } from "./comfyui";
import { mockBackendType } from "./mock";
import { openAiBackendType } from "./openai";
import { replicateBackendType } from "./replicate";
import { togetherBackendType } from "./together";

export const backendTypes = [mockBackendType, comfyuiBackendType, replicateBackendType, togetherBackendType, openAiBackendType] as const;

export const backendInstanceSchema = z.discriminatedUnion(
  "type",
  backendTypes.map((t) => t.configSchema) as unknown as [(typeof backendTypes)[number]["configSchema"], ...(typeof backendTypes)[number]["configSchema"][]],
);

export type BackendInstanceConfig = z.infer<typeof backendInstanceSchema>;

export function createBackend(name: string, config: BackendInstanceConfig, runtime: BackendRuntime): Backend {
  const type = backendTypes.find((t) => t.type === config.type);
  if (!type) throw new Error(`no backend type "${config.type}"`);
  return type.create(name, config as never, runtime);
}
