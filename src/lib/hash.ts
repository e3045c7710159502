/** sha256 of a UTF-8 string as lowercase hex: how prompts are recorded (never the prompt itself). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** sha256 of bytes as lowercase hex: how input images of an edit are recorded. */
export async function sha256HexOfBytes(bytes: Uint8Array): Promise<string> {
  // Request bodies and R2 reads are never backed by a SharedArrayBuffer, which is all the cast rules out.
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
