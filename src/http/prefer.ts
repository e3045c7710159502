/**
 * The `Prefer` request header (RFC 7240): a comma-separated list of preferences, each a token
 * with optional `=value` and `;parameters`, e.g. `Prefer: respond-async, wait=10`.
 * https://www.rfc-editor.org/rfc/rfc7240
 */

/** Whether the header asks for `preference` (case-insensitive, any position, values ignored). */
export function prefers(header: string | undefined, preference: string): boolean {
  if (!header) return false;
  const wanted = preference.toLowerCase();
  return header.split(",").some((item) => item.split(";")[0]!.split("=")[0]!.trim().toLowerCase() === wanted);
}
