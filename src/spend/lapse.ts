/**
 * How long an attempt's reservation counts: its attempt's own time limit, plus the grace a job
 * waits for a late provider callback, plus a margin for the settle message itself. A sync request
 * that dies (its isolate restarted, its settle lost) gives its money back at that instant, not
 * after a fixed lease; a job's reservation lapses only past the job's attempt deadline and grace,
 * and the job settles it long before in every other case.
 *
 * An attempt that may have been billed never lapses: it is held as unknown (./book.ts).
 */
/** The instances of the config, as far as a lapse reads them (their own `timeout_s`, if any). */
type Instances = Readonly<Record<string, object>>;

/** What an instance without its own `timeout_s` may take at most (Replicate's default for non-schnell models). */
const DEFAULT_ATTEMPT_SECONDS = 120;
/** Slack for the settle call itself, and for the provider's view of the deadline. */
export const SETTLE_MARGIN_MS = 60_000;

export function reservationLapseMs(config: { readonly backends: Instances }, instance: string, deadlineGraceMs: number): number {
  const entry = Object.hasOwn(config.backends, instance) ? config.backends[instance] : undefined;
  const timeoutS = entry && "timeout_s" in entry && typeof entry.timeout_s === "number" ? entry.timeout_s : DEFAULT_ATTEMPT_SECONDS;
  return timeoutS * 1000 + deadlineGraceMs + SETTLE_MARGIN_MS;
}
