/**
 * Looking a caller-supplied name up in a configuration table. The tables are plain objects parsed
 * from JSON/TOML, so `config.styles["toString"]` would find `Object.prototype.toString`; every
 * lookup by a name that came from outside goes through here and sees own entries only.
 */

/** The table's own entry for `name`, or undefined — never an inherited property. */
export function ownEntry<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** Whether `name` is an own entry of `table` (the `in` operator also sees the prototype). */
export function hasOwnEntry(table: Readonly<Record<string, unknown>>, name: string): boolean {
  return Object.hasOwn(table, name);
}
