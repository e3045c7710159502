/**
 * A Standard Webhooks v1 signature made with WebCrypto, independently of the code under test:
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the base64 part of `whsec_…`.
 * (The fake Replicate signs with node:crypto on its side of the wire.)
 */
export async function signV1(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}
