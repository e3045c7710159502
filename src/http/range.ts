/**
 * Single byte-range requests (RFC 9110 §14). Multi-range and malformed headers are ignored —
 * the full object is served, as the RFC allows — so only one shape reaches R2.
 */
export type ByteRange = { readonly offset: number; readonly length?: number } | { readonly suffix: number };

export function parseRangeHeader(header: string | undefined): ByteRange | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match) return null;
  const [, start, end] = match;
  if (start === "" && end === "") return null;
  if (start === "") return Number(end) > 0 ? { suffix: Number(end) } : null;
  const offset = Number(start);
  if (end === "") return { offset };
  const last = Number(end);
  return last >= offset ? { offset, length: last - offset + 1 } : null;
}

/** A range whose first byte lies beyond the object cannot be served (416). */
export function isSatisfiable(range: ByteRange, size: number): boolean {
  return "suffix" in range ? size > 0 : range.offset < size;
}

export function contentRange(offset: number, length: number, size: number): string {
  return `bytes ${offset}-${offset + length - 1}/${size}`;
}
