/**
 * Which hosts an outgoing request may name. Hosts come from URLs the WHATWG parser already
 * normalised: it lowercases names and rewrites every IPv4 spelling (`127.1`, `2130706433`,
 * `0x7f000001`, `017700000001`) to dotted decimal, and IPv6 to its compressed form in brackets.
 * What is left to decide here is which addresses are not the public internet: loopback, private,
 * link-local (cloud metadata lives at 169.254.169.254), carrier-grade NAT, documentation and
 * reserved ranges, multicast, IPv4-mapped/NAT64 forms of those, IPv6 ULA and link-local, and the
 * names that mean the same (`localhost`, `*.localhost`, `metadata.google.internal`, `*.internal`,
 * `*.local`, single-label names a resolver would complete).
 *
 * A public name can still resolve to a private address (DNS rebinding); that is decided where the
 * connection is made, not here.
 */

export type HostClass =
  | { readonly kind: "public" }
  | { readonly kind: "loopback" }
  /** Private, link-local, metadata, reserved…: never a target. `why` completes "the host is …". */
  | { readonly kind: "internal"; readonly why: string };

const PUBLIC: HostClass = { kind: "public" };
const LOOPBACK: HostClass = { kind: "loopback" };
const internal = (why: string): HostClass => ({ kind: "internal", why });

/** Classifies `URL.hostname` (IPv6 in brackets, as the parser gives it). */
export function classifyHost(hostname: string): HostClass {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[") && host.endsWith("]")) return classifyIpv6(host.slice(1, -1));
  const v4 = parseIpv4(host);
  if (v4 !== null) return classifyIpv4(v4);
  return classifyName(host);
}

/** Whether `hostname` is this machine (127.0.0.0/8, ::1, localhost and its subdomains). */
export function isLoopbackHost(hostname: string): boolean {
  return classifyHost(hostname).kind === "loopback";
}

function classifyName(host: string): HostClass {
  if (host === "localhost" || host.endsWith(".localhost")) return LOOPBACK;
  if (host === "metadata.google.internal" || host === "metadata") return internal("a cloud metadata service");
  if (host.endsWith(".internal") || host.endsWith(".local") || host.endsWith(".home.arpa")) return internal("a private network name");
  if (!host.includes(".")) return internal("a single-label name, resolved only inside a private network");
  return PUBLIC;
}

/** [first address, prefix length, why] — the IPv4 ranges that are not the public internet. */
const IPV4_INTERNAL: readonly [string, number, string][] = [
  ["0.0.0.0", 8, "the unspecified network (0.0.0.0/8)"],
  ["10.0.0.0", 8, "a private address (10.0.0.0/8)"],
  ["100.64.0.0", 10, "a carrier-grade NAT address (100.64.0.0/10)"],
  ["169.254.0.0", 16, "a link-local address, where cloud metadata services live (169.254.0.0/16)"],
  ["172.16.0.0", 12, "a private address (172.16.0.0/12)"],
  ["192.0.0.0", 24, "an IETF protocol address (192.0.0.0/24)"],
  ["192.0.2.0", 24, "a documentation address (192.0.2.0/24)"],
  ["192.88.99.0", 24, "a 6to4 relay address (192.88.99.0/24)"],
  ["192.168.0.0", 16, "a private address (192.168.0.0/16)"],
  ["198.18.0.0", 15, "a benchmarking address (198.18.0.0/15)"],
  ["198.51.100.0", 24, "a documentation address (198.51.100.0/24)"],
  ["203.0.113.0", 24, "a documentation address (203.0.113.0/24)"],
  ["224.0.0.0", 4, "a multicast address (224.0.0.0/4)"],
  ["240.0.0.0", 4, "a reserved address (240.0.0.0/4)"],
];
const IPV4_RANGES = IPV4_INTERNAL.map(([first, bits, why]) => ({ first: parseIpv4(first)!, bits, why }));

function classifyIpv4(address: number): HostClass {
  if (inRange(address, parseIpv4("127.0.0.0")!, 8)) return LOOPBACK;
  const range = IPV4_RANGES.find((r) => inRange(address, r.first, r.bits));
  return range ? internal(range.why) : PUBLIC;
}

function inRange(address: number, first: number, bits: number): boolean {
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (address & mask) >>> 0 === (first & mask) >>> 0;
}

/** Dotted-decimal IPv4 (the only form left after URL parsing) as an unsigned 32-bit number. */
function parseIpv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function classifyIpv6(literal: string): HostClass {
  const groups = parseIpv6(literal);
  if (!groups) return internal("an IPv6 address that cannot be read");
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const embeddedV4 = ((g6 << 16) | g7) >>> 0;
  if (groups.every((g) => g === 0)) return internal("the unspecified address (::)");
  if (groups.slice(0, 7).every((g) => g === 0) && g7 === 1) return LOOPBACK;
  // ::ffff:a.b.c.d (mapped), 64:ff9b::a.b.c.d (NAT64), ::a.b.c.d (deprecated compatible): judge the IPv4 inside.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && (g5 === 0xffff || g5 === 0)) return classifyIpv4(embeddedV4);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return classifyIpv4(embeddedV4);
  if ((g0 & 0xfe00) === 0xfc00) return internal("an IPv6 unique local address (fc00::/7), where some cloud metadata services live");
  if ((g0 & 0xffc0) === 0xfe80) return internal("an IPv6 link-local address (fe80::/10)");
  if ((g0 & 0xffc0) === 0xfec0) return internal("an IPv6 site-local address (fec0::/10)");
  if ((g0 & 0xff00) === 0xff00) return internal("an IPv6 multicast address (ff00::/8)");
  if (g0 === 0x2001 && g1 === 0x0db8) return internal("an IPv6 documentation address (2001:db8::/32)");
  if (g0 === 0x0100 && g1 === 0 && g2 === 0 && g3 === 0) return internal("an IPv6 discard address (100::/64)");
  if (g0 === 0x2002) return classifyIpv4(((g1 << 16) | g2) >>> 0).kind === "public" ? PUBLIC : internal("a 6to4 address wrapping a non-public IPv4 address");
  return PUBLIC;
}

/** Eight 16-bit groups, or null. Accepts `::` compression and a dotted IPv4 tail. */
function parseIpv6(literal: string): number[] | null {
  let text = literal;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = parseIpv4(tail[1]!);
    if (v4 === null) return null;
    text = `${text.slice(0, -tail[1]!.length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const read = (part: string) => (part === "" ? [] : part.split(":"));
  const head = read(halves[0]!);
  const rest = halves.length === 2 ? read(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return all.map((g) => parseInt(g, 16));
}
