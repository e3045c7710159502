/** Reading the D1 ledger in tests: usage rows arrive through the queue, so reads wait (bounded). */
import { env } from "cloudflare:workers";

/** The request's usage rows by attempt, once there are at least `count`. */
export async function ledgerRows(requestId: string, count: number): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 100; i++) {
    const { results } = await env.LEDGER.prepare("SELECT * FROM imagen_usage WHERE request_id = ? ORDER BY attempt").bind(requestId).all();
    if (results.length >= count) return results;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ledger rows for ${requestId}`);
}

/** The price row a usage row points at. */
export function priceRow(id: unknown): Promise<Record<string, unknown> | null> {
  return env.LEDGER.prepare("SELECT * FROM imagen_pricing WHERE id = ?").bind(id).first();
}
