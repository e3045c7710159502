/** Who is calling: the API key's owner as every layer sees it, from the ledger to object keys. */
export type Role = "admin" | "user";

export interface Caller {
  /** What usage rows and sidecars record (replaces the old Go CLI's MAI_FROM_ID / tmux identity). */
  readonly name: string;
  readonly role: Role;
}
