/** GET /v1/images: the caller's own stored images, newest first, paginated (admins: anyone's). */
import { createRoute, z } from "@hono/zod-openapi";
import { readScope } from "../auth/ownership";
import { rateLimit } from "../http/rate-limit";
import { admitNow } from "../http/request-guard";
import type { App } from "../http/context";
import { problem } from "../http/problem";
import { answerOrigin } from "../http/public-origin";
import { systemClock } from "../lib/clock";
import { ROUTES } from "../routes";
import { listImages } from "../storage/image-listing";
import { imageUrlsFromEnv } from "../storage/signed-urls";
import { utcDate } from "./usage";
import { problemResponses } from "./schemas";

const MAX_IMAGE_PAGE = 200;

const ImageListQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_IMAGE_PAGE)
    .default(50)
    .openapi({ description: `Images per page, 1..${MAX_IMAGE_PAGE}.` }),
  cursor: z.string().max(1200).optional().openapi({ description: "next_cursor from the previous page." }),
  prefix: z.string().min(1).max(512).optional().openapi({ description: "Only keys starting with this, e.g. `alice/2026-05-04/`.", example: "blog/" }),
  since: utcDate.optional().openapi({ description: "Only images stored on or after this UTC date (YYYY-MM-DD)." }),
  caller: z.string().min(1).max(64).optional().openapi({ description: "Admins: one caller's images (default: everyone's). Users may only name themselves." }),
});

const ListedImageSchema = z
  .object({
    key: z.string(),
    url: z.string().openapi({ description: "Where the image is fetched: signed, so it opens without a key until it expires." }),
    caller: z.string(),
    width: z.int().nullable().openapi({ description: "null for images stored before listing existed." }),
    height: z.int().nullable(),
    bytes: z.int(),
    mime_type: z.string(),
    backend: z.string(),
    model: z.string().nullable(),
    seed: z.int().nullable(),
    cost_usd_estimate: z.number().nullable().openapi({ description: "This image's share of its request's estimate; null when unpriced." }),
    created_at: z.string().openapi({ description: "When the image was stored (UTC)." }),
  })
  .openapi("ListedImage");

const listRoute = createRoute({
  method: "get",
  path: ROUTES.images,
  operationId: "listImages",
  // A page of everyone's images (or one while the index is first filled) reads the whole bucket listing: limited like a generation.
  middleware: [rateLimit(), admitNow()] as const,
  summary: "The caller's stored images, newest first (admins: everyone's, or one caller's)",
  security: [{ bearer: [] }],
  request: { query: ImageListQuery },
  responses: {
    200: {
      description: "A page of images",
      content: { "application/json": { schema: z.object({ images: z.array(ListedImageSchema), next_cursor: z.string().nullable() }).openapi("ImagePage") } },
    },
    ...problemResponses(400, 401, 403, 429),
  },
});

export function registerImageListRoute(app: App): void {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const who = c.get("caller");
    const scope = readScope(who, query.caller);
    if (!scope) throw problem("forbidden", 403, "only admins can list other callers' images");
    const caller = scope.caller ?? null;
    const page = await listImages(c.env.IMAGES, { ...query, caller }).catch((error: unknown) => {
      throw error instanceof RangeError ? problem("invalid-request", 400, `cursor: ${error.message}`) : error;
    });
    const { config, env } = c.var.deps;
    const urlFor = await imageUrlsFromEnv(env, config.image_urls, answerOrigin(config.public_base_url, c.req.url), systemClock);
    const images = await Promise.all(page.images.map(async (image) => ({ ...image, url: await urlFor(image.key) })));
    return c.json({ images, next_cursor: page.next_cursor }, 200);
  });
}
