/**
 * Which local namespace `npm run keys` opens: the one `wrangler dev` binds, so both see the same keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localNamespaceId } from "../../scripts/local-kv";

const dir = mkdtempSync(join(tmpdir(), "imagen-local-kv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(toml: string): string {
  const path = join(dir, `${crypto.randomUUID()}.toml`);
  writeFileSync(path, toml);
  return path;
}

describe("localNamespaceId", () => {
  it("is the id the project's wrangler.toml gives API_KEYS", () => {
    expect(localNamespaceId("API_KEYS")).toBe("00000000000000000000000000000000");
  });

  it("is the binding's name when the binding has no id, as wrangler dev names it", () => {
    const path = config('[[kv_namespaces]]\nbinding = "OTHER"\nid = "abc"\n\n[[kv_namespaces]]\nbinding = "API_KEYS"\n');
    expect(localNamespaceId("API_KEYS", path)).toBe("API_KEYS");
  });

  it("names the config and the binding when the config binds no such namespace", () => {
    const path = config('name = "x"\n');
    expect(() => localNamespaceId("API_KEYS", path)).toThrow(`${path} binds no KV namespace as API_KEYS`);
  });
});
