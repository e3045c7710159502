/**
 * Turn a finished history entry into GeneratedImages: pick the saved outputs, fetch each via
 * GET /view and read its size from the PNG header. An image streams when ComfyUI told us its
 * length (R2 needs a known length); otherwise it is buffered.
 */
import { readPngSize } from "../image-size";
import type { GeneratedImage } from "../backend";
import { BackendError } from "../errors";
import type { CallOptions, ComfyClient } from "./client";
import type { HistoryEntry, OutputImage } from "./protocol";
import { sortedNodeIds } from "./workflow";

/** PNG signature (8) + IHDR length and type (8) + width and height (8). */
const PNG_HEADER_BYTES = 24;

/**
 * Workers allow six simultaneous outbound connections, and every streamed image holds one until
 * the caller drains it: stream the first few, buffer the rest, so fetching image 7 cannot wait
 * forever on a connection that only the caller would free.
 */
const MAX_STREAMED = 4;

/** Saved images (type "output"; PreviewImage's "temp" files are not results), in node order. */
export function savedImages(entry: HistoryEntry): OutputImage[] {
  const images: OutputImage[] = [];
  for (const nodeId of sortedNodeIds(entry.outputs as Record<string, never>)) {
    for (const image of entry.outputs[nodeId]?.images ?? []) if (image.type === "output") images.push(image);
  }
  return images;
}

export async function fetchImages(client: ComfyClient, images: readonly OutputImage[], options: CallOptions): Promise<GeneratedImage[]> {
  const results: GeneratedImage[] = [];
  for (const [index, image] of images.entries()) {
    results.push(await fetchImage(client, image, index < MAX_STREAMED, options));
  }
  return results;
}

async function fetchImage(client: ComfyClient, image: OutputImage, mayStream: boolean, options: CallOptions): Promise<GeneratedImage> {
  const response = await client.view(image, options);
  const length = Number(response.headers.get("content-length") ?? Number.NaN);
  const body = response.body;
  if (!body) throw new BackendError("failed", `ComfyUI sent an empty body for output ${image.filename}`);

  if (!mayStream || !Number.isSafeInteger(length) || length < PNG_HEADER_BYTES) {
    const bytes = new Uint8Array(await new Response(body).arrayBuffer());
    return { mimeType: "image/png", ...sizeOf(bytes, image), bytes };
  }
  const { head, rest } = await peek(body, PNG_HEADER_BYTES);
  const size = sizeOf(head, image);
  // The declared length travels with the stream; the image store pipes it through a
  // FixedLengthStream, which tells R2 the length and fails the upload if the tunnel cuts the body
  // short. (Wrapping it in a FixedLengthStream here as well made that a pipe between two native
  // transform streams, which workerd refuses: "Inter-TransformStream pipeTo() is not implemented".)
  return { mimeType: "image/png", ...size, stream: rest, byteLength: length };
}

function sizeOf(bytes: Uint8Array, image: OutputImage): { width: number; height: number } {
  const size = readPngSize(bytes);
  if (!size) {
    throw new BackendError("failed", `ComfyUI output ${image.filename} is not a PNG; end the workflow in SaveImage (PNG)`);
  }
  return size;
}

/**
 * Read at least `n` bytes off a stream and hand back those bytes plus a stream that replays them
 * followed by the rest, so the header can be inspected without buffering the image.
 */
async function peek(body: ReadableStream<Uint8Array>, n: number): Promise<{ head: Uint8Array; rest: ReadableStream<Uint8Array> }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < n) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  const head = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    head.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let replayed = false;
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!replayed) {
        replayed = true;
        if (head.byteLength > 0) {
          controller.enqueue(head);
          return;
        }
      }
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { head, rest };
}
