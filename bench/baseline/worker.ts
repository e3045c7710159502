/**
 * The benchmark's baseline: the least a generation endpoint could do — take the same PNG bytes
 * the mock produces (uploaded once via PUT /bytes) and write them to R2 under a fresh key.
 */
interface Env {
  readonly IMAGES: R2Bucket;
}

let bytes: Uint8Array | null = null;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "PUT" && url.pathname === "/bytes") {
      bytes = new Uint8Array(await request.arrayBuffer());
      return new Response(null, { status: 204 });
    }
    if (request.method === "POST" && url.pathname === "/v1/images") {
      if (!bytes) return new Response("upload bytes first", { status: 409 });
      await request.json();
      const key = `baseline/${crypto.randomUUID()}.png`;
      await env.IMAGES.put(key, bytes, { httpMetadata: { contentType: "image/png" } });
      return Response.json({ key }, { status: 201 });
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
