/**
 * Identifiers and randomness, injected: tests pass a deterministic source.
 */
export interface IdSource {
  /** A new unique, URL-safe, time-sortable id (e.g. for images and usage events). */
  newId(): string;
  /** A fresh random seed in [1, 2^32 - 1] for requests that do not name one. */
  randomSeed(): number;
}

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/** ULID-shaped ids: 10 chars of millisecond time + 16 chars of randomness, lowercase Crockford base32. */
export function ulid(now: number, random: Uint8Array = crypto.getRandomValues(new Uint8Array(10))): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = "";
  // 10 random bytes = 80 bits = 16 base32 characters.
  let bits = 0;
  let value = 0;
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      rand += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return time + rand;
}

export function cryptoIdSource(now: () => number = Date.now): IdSource {
  return {
    newId: () => ulid(now()),
    randomSeed: () => (crypto.getRandomValues(new Uint32Array(1))[0]! % 0xffff_fffe) + 1,
  };
}
