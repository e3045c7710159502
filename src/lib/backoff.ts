/** Exponential backoff, the one formula every retry here uses: base, 2×base, 4×base… up to a cap. */
export function backoffDelay(retry: number, baseMs: number, maxMs = Number.POSITIVE_INFINITY): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
}
