/**
 * Who may see what: a user sees what it made, an admin sees everything. One rule for images,
 * jobs, usage rows and listings, so no route can drift from the others.
 */
import type { Caller } from "../lib/caller";

/** Whether `caller` may read or act on something made by `owner` (absent: unknown owner). */
export function mayAccess(caller: Caller, owner: string | undefined): boolean {
  return caller.role === "admin" || owner === caller.name;
}

/**
 * Whose rows a report or listing covers when `requested` names a caller (or not): a user always
 * its own — naming someone else is refused (null), not silently narrowed; an admin the one named,
 * or everyone (undefined).
 */
export function readScope(caller: Caller, requested: string | undefined): { readonly caller: string | undefined } | null {
  if (caller.role === "admin") return { caller: requested };
  return requested === undefined || requested === caller.name ? { caller: caller.name } : null;
}
