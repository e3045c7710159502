/**
 * Reads from a storage dependency (the usage ledger, the price store) on behalf of a request.
 * When the dependency itself fails, the answer is 503 naming it, with Retry-After — an outage is
 * not the caller's fault and not a bug of ours. Errors that are already answers (a problem, or a
 * RangeError the ledgers raise for a forged cursor) pass through unchanged.
 */
import type { Logger } from "../lib/log";
import { ProblemException, problem } from "./problem";

/** Seconds a client should wait before retrying during an outage. */
const DEPENDENCY_RETRY_AFTER_S = 30;

export async function fromDependency<T>(dependency: string, log: Logger, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ProblemException || error instanceof RangeError) throw error;
    log.error("dependency unavailable", { dependency, error: error instanceof Error ? error.message : String(error) });
    throw problem("dependency-unavailable", 503, `${dependency} is unavailable right now; try again in ${DEPENDENCY_RETRY_AFTER_S} s`, {
      extra: { dependency },
      headers: { "retry-after": String(DEPENDENCY_RETRY_AFTER_S) },
    });
  }
}
