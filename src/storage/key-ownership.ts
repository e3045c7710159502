/**
 * Who may claim which object key. Generated keys start with the caller's own folder (the naming
 * template's `{caller}`); an explicit `output` must stay in that folder too, so one caller can
 * neither write into another's namespace nor learn, from a conflict, that another's object exists.
 * Admins may place objects anywhere except the service's reserved folders (`_dead-letters/`, …:
 * every top-level folder starting with `_`).
 */
import type { Caller } from "../core/request";
import { safeSegment } from "./naming";

/** The folder every key of `caller` lives in: `alice/`. */
function callerFolder(callerName: string): string {
  return `${safeSegment(callerName)}/`;
}

/** Why `caller` may not claim `key` (already a well-formed key), or null when it may. */
export function keyOwnershipProblem(key: string, caller: Caller): string | null {
  const top = key.split("/", 1)[0] ?? "";
  if (top.startsWith("_")) return `must not be in the reserved folder "${top}/"`;
  if (caller.role === "admin") return null;
  const folder = callerFolder(caller.name);
  return key.startsWith(folder) ? null : `must be in your own folder "${folder}"`;
}
