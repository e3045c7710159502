// Talking to the API from the browser: the stored key, JSON requests, problem+json as errors,
// and the one place that turns an image URL into something an <img> can show.

const KEY_STORAGE = "imagen.apiKey";

export const apiKey = {
  get: () => localStorage.getItem(KEY_STORAGE) ?? "",
  set: (key) => localStorage.setItem(KEY_STORAGE, key),
  forget: () => localStorage.removeItem(KEY_STORAGE),
};

/** A non-2xx answer: the problem+json body plus what a person needs to act on it. */
export class ApiProblem extends Error {
  constructor(status, body, retryAfter) {
    super(body?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.type = body?.type ?? "unknown";
    this.body = body ?? {};
    /** Field errors from a 400: [{field, message}]. */
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
    /** Seconds, from Retry-After, when rate limited. */
    this.retryAfter = retryAfter;
  }
}

/** JSON in, JSON out, with the bearer key. Throws ApiProblem for any non-2xx answer. */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${apiKey.get()}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text ? safeJson(text) : null;
  if (!response.ok) {
    const retry = Number(response.headers.get("retry-after"));
    throw new ApiProblem(response.status, parsed, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  return parsed;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/** "2026-05-04T08:00:00.000Z" → local date and time, for people. */
export function when(iso) {
  return new Date(iso).toLocaleString();
}

export function usd(amount) {
  return amount === null || amount === undefined ? "unknown" : `$${Number(amount).toFixed(4)}`;
}

/** Builds an element: el("p", {class: "note"}, "text", child…). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** The message a person can act on for an authentication or throttling problem, else null. */
export function accessMessage(problem) {
  if (problem.status === 401) {
    return /revoked/i.test(problem.message)
      ? "This API key was revoked. Ask the operator for a new one and paste it above."
      : "This API key is not known here. Check it was copied completely, or ask the operator for one.";
  }
  if (problem.status === 403) return `Not allowed with this key: ${problem.message}`;
  if (problem.status === 429) {
    const wait = problem.retryAfter ? ` Try again in ${problem.retryAfter} s.` : " Wait a moment and try again.";
    return `Rate limited: ${problem.message}.${wait}`;
  }
  return null;
}
