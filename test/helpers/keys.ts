/**
 * Key-shaped test values made at run time: each test gets a fresh, obviously fake one, and no
 * credential-looking literal lives in the repository.
 */
export function fakeSupabaseKey(kind: "secret" | "publishable", label = "test"): string {
  return `sb_${kind}_${label}_${crypto.randomUUID().replaceAll("-", "")}`;
}
