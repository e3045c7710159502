/**
 * What an upstream's error body may contribute to our own messages (problem `detail`, the
 * ledger's `error_message`, job documents). Providers answer JSON, but the proxies and load
 * balancers in front of them answer HTML pages (`<html><head><title>502 Bad Gateway…`): markup
 * is never passed on, only the page's title, and any text is cut to one short line.
 */

const MAX_SUMMARY_CHARS = 200;

/** One plain line from an upstream body: the HTML page's title, or the text itself, shortened. */
export function upstreamTextSummary(body: string, contentType: string | null = null): string {
  const html = (contentType ?? "").toLowerCase().includes("html") || /^\s*<(!doctype|html|head|body|\?xml|[a-z][\w-]*[\s>/])/i.test(body);
  if (!html) return shorten(body);
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body)?.[1];
  const plain = title === undefined ? "" : shorten(decodeBasicEntities(title.replace(/<[^>]*>/g, " ")));
  return plain ? `an HTML page titled "${plain.replace(/[<>"]/g, "")}"` : "an HTML page";
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this strips.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]+/g;

function shorten(text: string): string {
  const line = text.replace(CONTROL_CHARACTERS, " ").replace(/\s+/g, " ").trim();
  return line.length > MAX_SUMMARY_CHARS ? `${line.slice(0, MAX_SUMMARY_CHARS - 1)}…` : line;
}

function decodeBasicEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", nbsp: " " })[name] ?? "");
}
