/**
 * One KV namespace of the local state `wrangler dev` uses, opened without the rest of the Worker:
 * a runtime holding just that namespace starts in a fraction of the time (and without the warnings)
 * of one built from the whole wrangler.toml with its Durable Objects, queues and D1.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { parse } from "smol-toml";
import type { KeyValueStore } from "../src/auth/api-keys";

type MiniflareModule = typeof import("miniflare");

export interface LocalKv {
  readonly kv: KeyValueStore;
  close(): Promise<void>;
}

/**
 * The namespace id `wrangler dev` gives a binding locally: the configured id, else the binding's
 * name. The local storage is keyed by that id, so the same id finds the same records.
 */
export function localNamespaceId(binding: string, configPath = "wrangler.toml"): string {
  const config = parse(readFileSync(configPath, "utf8")) as { kv_namespaces?: { binding: string; id?: string }[] };
  const namespace = config.kv_namespaces?.find((entry) => entry.binding === binding);
  if (!namespace) throw new Error(`${configPath} binds no KV namespace as ${binding}`);
  return namespace.id ?? binding;
}

/** `binding` in the local state at `persistTo` (as given to `wrangler dev --persist-to`); `close` ends its runtime. */
export async function openLocalKv(binding: string, persistTo: string, configPath = "wrangler.toml"): Promise<LocalKv> {
  const { Miniflare, convertV4MiniflareOptions } = wranglersMiniflare();
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      // The runtime needs a Worker to host the binding; this one is never called.
      modules: true,
      script: "",
      // wrangler keeps every local resource under <persist-to>/v3 (KV in v3/kv).
      resourcePersistencePath: resolve(persistTo, "v3"),
      kvNamespaces: { [binding]: localNamespaceId(binding, configPath) },
    }),
  );
  try {
    const kv: KeyValueStore = await miniflare.getKVNamespace(binding);
    return { kv, close: () => miniflare.dispose() };
  } catch (error) {
    await miniflare.dispose();
    throw error;
  }
}

/**
 * The Miniflare wrangler itself runs (wrangler pins its own version, which may differ from the
 * copy other packages hoist), so the storage it reads and writes is the one `wrangler dev` uses.
 */
function wranglersMiniflare(): MiniflareModule {
  const fromProject = createRequire(import.meta.url);
  return createRequire(fromProject.resolve("wrangler/package.json"))("miniflare") as MiniflareModule;
}
