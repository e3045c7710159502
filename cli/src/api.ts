/**
 * The HTTPS API as the CLI uses it: one `request()` that sends the bearer key, turns
 * problem+json into an ApiError and a connection failure into a message naming the URL tried.
 */
import { ApiError, CliError, type ProblemBody } from "./errors.js";
import { normalizeServiceUrl } from "./service-url.js";
import type { Settings } from "./settings.js";

export interface RequestOptions {
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** The client for these settings, or an error that says what to configure. */
  static from(settings: Settings): ApiClient {
    if (!settings.url) {
      throw new CliError(`no service URL: set IMAGEN_URL or run \`imagen config init --url URL\` (config file: ${settings.configPath})`);
    }
    if (!settings.apiKey) {
      throw new CliError(`no API key: set IMAGEN_API_KEY or run \`imagen config init\` (config file: ${settings.configPath})`);
    }
    return new ApiClient(normalizeServiceUrl(settings.url, settings.urlOrigin), settings.apiKey);
  }

  /** `path` starts with "/"; a base URL with a path prefix (https://host/imagen) keeps it. */
  url(path: string, query: RequestOptions["query"] = {}): string {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
    return url.toString();
  }

  /** Sends one request; resolves with the successful response (the caller reads the body). */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const target = this.url(path, options.query);
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(options.body !== undefined && { "content-type": "application/json" }),
          ...options.headers,
        },
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach the ImaGen service at ${new URL(target).origin} (${cause?.code ?? cause?.message ?? (error as Error).message}); ` +
          "check IMAGEN_URL or the url in your config (`imagen config path`)",
      );
    }
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response;
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return (await (await this.send(method, path, options)).json()) as T;
  }

  async text(method: string, path: string, options: RequestOptions = {}): Promise<string> {
    return (await this.send(method, path, options)).text();
  }
}

async function problemOf(response: Response): Promise<ProblemBody> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === "object") return body as ProblemBody;
  } catch {
    // Not JSON (a proxy's HTML page, say): show its start instead.
  }
  return { title: response.statusText || "Request failed", detail: text.slice(0, 200) || "empty answer" };
}
