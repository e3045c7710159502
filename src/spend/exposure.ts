/**
 * The one rule that answers "could this attempt have cost money?". Fallback (never move on after
 * possible spend), `x-should-retry` (never invite a retry that could pay twice) and settlement
 * (what the spend book holds for the attempt) all ask it, so they can never disagree.
 *
 *   none     provably nothing was spent: the provider refused the work or was never reached
 *            (a cooled-down skip, the home box unreachable, a 401/429/4xx, our own validation)
 *   known    the provider took the work and its answer says what it cost (a success, a
 *            prediction that failed or was canceled, images billed and then lost)
 *   unknown  the provider may have taken and billed the work and nobody knows (the create's
 *            answer was lost, the call went out and then the process restarted): the worst case
 *            stands until a reconciliation says otherwise
 */
export type CostExposure = "none" | "known" | "unknown";

/** What the rule reads about an attempt's end. */
export interface AttemptEnd {
  /** null: the attempt succeeded. */
  readonly error: { readonly kind: string; readonly extra: { readonly ambiguous?: boolean; readonly charged?: unknown } } | null;
  /** The provider took the attempt's work (a job it accepted). */
  readonly accepted: boolean;
}

export function costExposure(end: AttemptEnd): CostExposure {
  if (end.error === null) return "known";
  if (end.error.extra.ambiguous) return "unknown";
  if (end.accepted || end.error.extra.charged !== undefined || end.error.kind === "paid_output_lost") return "known";
  return "none";
}

/** Why an attempt's cost is unknown, as the ledger's `cost_unknown_reason` says it. */
export type CostUnknownReason =
  /** The create (or one-shot call) went out and its answer was lost. */
  | "ambiguous_create"
  /** The process restarted after the call went out and before its answer was stored. */
  | "restarted_after_send";
