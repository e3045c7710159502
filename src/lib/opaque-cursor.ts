/**
 * Page cursors that callers must treat as opaque: base64url of a small JSON value. Both ends of a
 * cursor live in this service, so decoding only has to tell "ours" from "not ours".
 */
export function encodeOpaqueCursor(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The JSON value inside, or undefined when the text is not a cursor at all. */
export function decodeOpaqueCursor(cursor: string): unknown {
  try {
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
  } catch {
    return undefined;
  }
}
