/**
 * One spelling for stored times: `2026-05-04T08:00:00.000Z` (UTC, milliseconds). D1 keeps times
 * as text, so one spelling makes text order time order; Postgres answers in its own spelling
 * (`2026-05-04 08:00:00+00`), which reads back through `isoTime` so both stores answer alike.
 */
import { z } from "zod";

export function canonicalTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 time: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

/** Parses any time spelling Date understands into the canonical one. */
export const isoTime = z.string().transform((s, ctx) => {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: `not a time: ${s}` });
    return z.NEVER;
  }
  return new Date(ms).toISOString();
});
