/**
 * Who may claim an explicit output key: callers their own folder, admins anywhere but the reserved
 * `_…` folders (the same rule through the API: test/storage/key-ownership.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { Caller } from "../../../src/lib/caller";
import { keyOwnershipProblem } from "../../../src/storage/key-ownership";

const alice: Caller = { name: "alice", role: "user" };
const admin: Caller = { name: "root", role: "admin" };

/** [who, key, allowed] */
const table: [Caller, string, boolean][] = [
  [alice, "alice/header.png", true],
  [alice, "alice/blog/2026/header.png", true],
  [alice, "bob/header.png", false],
  [alice, "alice-evil/header.png", false],
  [alice, "aliceheader.png", false],
  [alice, "header.png", false],
  [alice, "_dead-letters/usage/x.json", false],
  [alice, "_anything/x.png", false],
  [admin, "bob/header.png", true],
  [admin, "shared/header.png", true],
  [admin, "_dead-letters/usage/x.json", false],
  [admin, "_reserved/x.png", false],
  [{ name: "team/alice", role: "user" }, "teamZ002Falice/x.png", true],
  // "team-alice" is another caller's folder: one-to-one folders keep them apart.
  [{ name: "team/alice", role: "user" }, "team-alice/x.png", false],
  [{ name: "team/alice", role: "user" }, "team/x.png", false],
];

describe("who may claim an explicit output key", () => {
  it.each(table)("%o → %s: allowed=%s", (caller, key, allowed) => {
    expect(keyOwnershipProblem(key, caller) === null).toBe(allowed);
  });
});
