/**
 * Failures the CLI reports, each with its exit code: 2 for a usage error (the command line is
 * wrong), 1 for everything else. Messages say what to do next.
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A failure with a message meant for the person at the terminal. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
  ) {
    super(message);
  }
}

/** The command line itself is wrong (a bad flag value, a malformed date). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/** RFC 9457 problem details as the service sends them. */
export interface ProblemBody {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly request_id?: string;
  readonly errors?: readonly { readonly field: string; readonly message: string }[];
  readonly [extension: string]: unknown;
}

/** The service answered with an error. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: ProblemBody,
  ) {
    super(renderProblem(status, problem));
  }
}

const HINTS: Record<number, string> = {
  401: "set IMAGEN_API_KEY or run `imagen config init`",
  403: "this needs an admin API key",
};

/** A problem+json answer as lines a person can read. */
function renderProblem(status: number, problem: ProblemBody): string {
  const lines = [`${problem.title ?? "Request failed"} (HTTP ${status}): ${problem.detail ?? "no detail given"}`];
  for (const { field, message } of problem.errors ?? []) lines.push(`  ${field}: ${message}`);
  const hint = HINTS[status];
  if (hint) lines.push(`  → ${hint}`);
  if (problem.request_id) lines.push(`  request id: ${problem.request_id}`);
  return lines.join("\n");
}
