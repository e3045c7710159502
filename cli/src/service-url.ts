/**
 * The service URL as people type it: `https://imagen.example`, or a bare `host:port` the way a
 * dev server prints it. A bare loopback host means the local dev server (plain http); any other
 * bare host gets https, so a key is never sent in clear to a remote machine by accident.
 */
import { UsageError } from "./errors.js";

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function hostOf(bare: string): string {
  const authority = bare.split(/[/?#]/, 1)[0] ?? "";
  const bracketed = /^\[[^\]]*\]/.exec(authority);
  return bracketed ? bracketed[0] : (authority.split(":", 1)[0] ?? "");
}

/** The URL with a scheme, or a usage error naming where the bad value came from. */
export function normalizeServiceUrl(raw: string, origin: string): string {
  const value = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `${LOOPBACK.test(hostOf(value)) ? "http" : "https"}://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`${origin} is not a URL: ${JSON.stringify(raw)} (expected e.g. http://127.0.0.1:8787 or https://imagen.example.com)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${origin} must be an http or https URL, not ${url.protocol.replace(/:$/, "")}: ${raw}`);
  }
  return withScheme.replace(/\/+$/, "");
}
