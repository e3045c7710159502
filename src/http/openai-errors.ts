/**
 * Errors in OpenAI's shape for the OpenAI-compatible routes: `{"error": {message, type, param,
 * code}}`, which the official SDKs turn into `BadRequestError`, `AuthenticationError`, … with
 * `.param` and `.code` (a problem+json body reaches them as "(no body)").
 *
 * It renders our problem document (RFC 9457, the same document every other route answers and a
 * failed job carries), so however an error became a problem, these routes say the same thing in
 * OpenAI's words with the same status, and `x-should-retry` by the rule every generating route
 * shares (./should-retry.ts).
 * https://platform.openai.com/docs/guides/error-codes
 */
import type { MiddlewareHandler } from "hono";
import type { ErrorObject } from "openai/resources/shared";
import { z } from "zod";
import { PROBLEM_CONTENT_TYPE } from "./problem";
import { retryIsSafe, SHOULD_RETRY_HEADER } from "./should-retry";

/** The members of our problem document this rendering reads. */
const ProblemDocument = z.looseObject({
  type: z.string(),
  status: z.int(),
  detail: z.string(),
  /** An OpenAI error code chosen where the problem was raised (e.g. `model_not_found`). */
  code: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  attempts: z.array(z.object({ kind: z.string() })).optional(),
});

type ProblemDocument = z.infer<typeof ProblemDocument>;

interface OpenAIErrorAnswer {
  readonly status: number;
  readonly body: { readonly error: ErrorObject };
  /** False when retrying could pay for a second generation. */
  readonly retryable: boolean;
}

function openAIError(problem: ProblemDocument): OpenAIErrorAnswer {
  const slug = problem.type.slice(problem.type.lastIndexOf(":") + 1);
  const param = problem.errors?.[0]?.field ?? null;
  return {
    status: problem.status,
    body: {
      error: {
        message: problem.detail,
        type: errorType(problem.status),
        param: param === "(body)" ? null : param,
        code: problem.code ?? errorCode(problem.status, slug, param),
      },
    },
    retryable: retryIsSafe(problem),
  };
}

/** OpenAI's `type`: what kind of failure, as its SDKs and docs name them. */
function errorType(status: number): string {
  if (status === 429) return "rate_limit_error";
  if (status === 402) return "insufficient_quota";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

function errorCode(status: number, slug: string, param: string | null): string | null {
  if (status === 401) return "invalid_api_key";
  if (status === 429) return "rate_limit_exceeded";
  if (slug === "invalid-request" && param !== null) return "invalid_value";
  return slug.replaceAll("-", "_");
}

/**
 * Middleware for the OpenAI-compatible routes (mounted before the API-key check, so a bad key is
 * answered in OpenAI's shape too): a problem+json answer becomes OpenAI's error body.
 */
export function openAIErrorShape(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.res = await inOpenAIShape(c.res);
  };
}

/** A problem+json answer as OpenAI's error body (same status and headers); any other answer as it is. */
export async function inOpenAIShape(response: Response): Promise<Response> {
  if (!response.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE)) return response;
  const parsed = ProblemDocument.safeParse(
    await response
      .clone()
      .json()
      .catch(() => null),
  );
  if (!parsed.success) return response;
  const answer = openAIError(parsed.data);
  const headers = new Headers(response.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  if (!answer.retryable) headers.set(SHOULD_RETRY_HEADER, "false");
  return new Response(JSON.stringify(answer.body), { status: answer.status, headers });
}
