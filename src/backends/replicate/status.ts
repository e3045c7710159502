/**
 * Replicate's status from a real, cheap call: GET /v1/account answers only a working token, so a
 * revoked or mistyped token shows up in /v1/backends instead of at the first paid request.
 * Docs: https://replicate.com/docs/reference/http#accounts.get
 */
import type { BackendRuntime, BackendStatus } from "../backend";
import { cachedStatus, DEFAULT_STATUS_TTL_S, probeWithKey } from "../probe-cache";

export function replicateStatus(baseUrl: string, token: string, tokenEnv: string, runtime: BackendRuntime): Promise<BackendStatus> {
  const url = `${baseUrl.replace(/\/+$/, "")}/account`;
  return cachedStatus(`Replicate\u0000${url}\u0000${token}`, { clock: runtime.clock, ttlMs: DEFAULT_STATUS_TTL_S * 1000 }, () =>
    probeWithKey({ label: "Replicate", url, key: token, keyEnv: tokenEnv, fetch: runtime.fetch }, runtime.clock),
  );
}
