/** Reading the real local D1 ledger from tests. */
import { env } from "cloudflare:workers";

/** Queue delivery is asynchronous: wait (bounded) until the ledger holds `count` rows for the request. */
export async function ledgerRowsFor(requestId: string, count: number) {
  for (let i = 0; i < 100; i++) {
    const { results } = await env.LEDGER.prepare("SELECT * FROM imagen_usage WHERE request_id = ?").bind(requestId).all();
    if (results.length >= count) return results;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ledger never got ${count} row(s) for ${requestId}`);
}
