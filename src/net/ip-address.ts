import { isIP } from 'node:net';

/**
 * What an IP address is, for deciding whether a client-controlled URL may be fetched:
 * - `public`: globally routable unicast; always allowed.
 * - `loopback`, `private`: this machine or a private network (RFC 1918, CGNAT, unique-local,
 *   documentation, benchmarking and other special-purpose ranges); allowed only in development.
 * - `never`: unspecified, broadcast, multicast and link-local (cloud metadata lives there);
 *   no legitimate document is served from them, so they stay refused even in development.
 */
export type AddressKind = 'public' | 'loopback' | 'private' | 'never';

export interface AddressClass {
  readonly kind: AddressKind;
  /** The special-purpose range it fell in, for the log. */
  readonly range: string;
}

type V4Range = readonly [base: string, prefix: number, kind: AddressKind, label: string];

const IPV4_RANGES: readonly V4Range[] = [
  ['0.0.0.0', 8, 'never', 'this network (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'private', 'private (10/8)'],
  ['100.64.0.0', 10, 'private', 'carrier-grade NAT (100.64/10)'],
  ['127.0.0.0', 8, 'loopback', 'loopback (127/8)'],
  ['169.254.0.0', 16, 'never', 'link-local (169.254/16)'],
  ['172.16.0.0', 12, 'private', 'private (172.16/12)'],
  ['192.0.0.0', 24, 'private', 'IETF protocol assignments (192.0.0/24)'],
  ['192.0.2.0', 24, 'private', 'documentation (192.0.2/24)'],
  ['192.88.99.0', 24, 'private', '6to4 relay anycast (192.88.99/24)'],
  ['192.168.0.0', 16, 'private', 'private (192.168/16)'],
  ['198.18.0.0', 15, 'private', 'benchmarking (198.18/15)'],
  ['198.51.100.0', 24, 'private', 'documentation (198.51.100/24)'],
  ['203.0.113.0', 24, 'private', 'documentation (203.0.113/24)'],
  ['224.0.0.0', 4, 'never', 'multicast (224/4)'],
  ['255.255.255.255', 32, 'never', 'broadcast'],
  ['240.0.0.0', 4, 'private', 'reserved (240/4)'],
];

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

const V4_TABLE = IPV4_RANGES.map(([base, prefix, kind, label]) => ({
  start: ipv4ToNumber(base),
  size: 2 ** (32 - prefix),
  kind,
  label,
}));

function classifyIpv4Number(value: number): AddressClass {
  for (const range of V4_TABLE) {
    if (value >= range.start && value < range.start + range.size) return { kind: range.kind, range: range.label };
  }
  return { kind: 'public', range: 'global unicast' };
}

/** Eight 16-bit groups, or undefined when the text is not an IPv6 address. Zone ids are dropped. */
export function parseIpv6(text: string): number[] | undefined {
  let address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  if (isIP(address) !== 6) return undefined;
  const lastColon = address.lastIndexOf(':');
  const dotted = address.slice(lastColon + 1);
  if (dotted.includes('.')) {
    const v4 = ipv4ToNumber(dotted);
    address = `${address.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const [head = '', rest] = address.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const groups = [...left, ...new Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0), ...right];
  return groups.length === 8 ? groups : undefined;
}

function embeddedIpv4(groups: number[], high: number): number {
  return groups[high]! * 65536 + groups[high + 1]!;
}

function embedded(groups: number[], high: number, via: string): AddressClass {
  const inner = classifyIpv4Number(embeddedIpv4(groups, high));
  return { kind: inner.kind, range: `${via} of ${inner.range}` };
}

function classifyIpv6(groups: number[]): AddressClass {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const zeroUpTo = (count: number) => groups.slice(0, count).every((group) => group === 0);
  if (zeroUpTo(8)) return { kind: 'never', range: 'unspecified (::)' };
  if (zeroUpTo(7) && g7 === 1) return { kind: 'loopback', range: 'loopback (::1)' };
  if (zeroUpTo(5) && g5 === 0xffff) return embedded(groups, 6, 'IPv4-mapped form');
  if (zeroUpTo(4) && g4 === 0xffff && g5 === 0) return embedded(groups, 6, 'IPv4-translated form');
  if (zeroUpTo(6)) return embedded(groups, 6, 'IPv4-compatible form');
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embedded(groups, 6, 'NAT64 form');
  if (g0 === 0x2002) return embedded(groups, 1, '6to4 form');
  if ((g0 & 0xff00) === 0xff00) return { kind: 'never', range: 'multicast (ff00::/8)' };
  if ((g0 & 0xffc0) === 0xfe80) return { kind: 'never', range: 'link-local (fe80::/10)' };
  if ((g0 & 0xfe00) === 0xfc00) return { kind: 'private', range: 'unique-local (fc00::/7)' };
  if ((g0 & 0xffc0) === 0xfec0) return { kind: 'private', range: 'site-local (fec0::/10)' };
  if (g0 === 0x2001 && g1 === 0) return { kind: 'private', range: 'Teredo (2001::/32)' };
  if (g0 === 0x2001 && g1 === 0xdb8) return { kind: 'private', range: 'documentation (2001:db8::/32)' };
  if ((g0 & 0xe000) !== 0x2000) return { kind: 'private', range: 'outside global unicast (2000::/3)' };
  return { kind: 'public', range: 'global unicast' };
}

/** Classifies an IPv4 or IPv6 address (brackets and zone ids allowed); undefined when it is not one. */
export function classifyAddress(address: string): AddressClass | undefined {
  if (isIP(address) === 4) return classifyIpv4Number(ipv4ToNumber(address));
  const groups = parseIpv6(address);
  return groups ? classifyIpv6(groups) : undefined;
}

const LOCAL_SUFFIXES = ['.localhost', '.local', '.localdomain', '.internal', '.home.arpa', '.lan', '.intranet'];

/**
 * Names that point inside the network whatever DNS says of them today:
 * `localhost` and its subdomains (RFC 6761), mDNS, private-use TLDs, and single-label names.
 */
export function isLocalHostname(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || !name.includes('.')) return true;
  return LOCAL_SUFFIXES.some((suffix) => name.endsWith(suffix));
}
