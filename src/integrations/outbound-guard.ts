import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, isIPv4 } from 'node:net';
import { BadInput } from '../errors.ts';

/**
 * Where Gatehouse may call out to. Webhook URLs and GitHub `apiUrl`s are typed in by users,
 * so without this guard they could make the server call its own loopback, the cloud
 * metadata address (169.254.169.254) or the private network it sits in. Checked twice:
 * when the URL is saved (literal addresses and localhost names, no DNS in a request) and
 * when it is called, on the addresses DNS gives (a name that resolves, or later rebinds,
 * to 127.0.0.1 is refused too).
 */
export interface OutboundPolicy {
  /** GATEHOUSE_OUTBOUND_ALLOW_PRIVATE=1: local setups and tests that call 127.0.0.1. */
  readonly allowPrivate: boolean;
}

const V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const V6: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const BLOCKED = new BlockList();
for (const [net, prefix] of V4) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of V6) BLOCKED.addSubnet(net, prefix, 'ipv6');

const LOCAL_NAMES = new Set([
  'localhost',
  'localhost.localdomain',
  'ip6-localhost',
  'ip6-loopback',
]);

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part allowed). */
function ipv6Groups(address: string): number[] | null {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const bytes = dotted[1]!.split('.').map(Number);
    const hex = [(bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!].map((n) =>
      n.toString(16),
    );
    text = text.slice(0, -dotted[1]!.length) + hex.join(':');
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...Array<number>(fill).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), if any. */
function embeddedIPv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (g === null) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated)
  if (zero(0, 5) && (g[5] === 0xffff || g[5] === 0)) return v4(g[6]!, g[7]!);
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(g[6]!, g[7]!);
  // 2002:AABB:CCDD::/48 (6to4)
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  return null;
}

/**
 * True for loopback, private, link-local, unique-local, multicast, documentation and other
 * non-public addresses, IPv4 or IPv6 (including IPv4 addresses carried inside IPv6).
 * Anything that is not an IP address at all is treated as not public.
 */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return BLOCKED.check(bare, 'ipv4');
  if (family !== 6) return true;
  if (BLOCKED.check(bare, 'ipv6')) return true;
  const inner = embeddedIPv4(bare);
  return inner !== null && isIPv4(inner) && BLOCKED.check(inner, 'ipv4');
}

/** A name that always means this machine, whatever DNS says. */
export function isLocalName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  return LOCAL_NAMES.has(name) || name.endsWith('.localhost');
}

/**
 * What is wrong with calling this URL, in words that follow its field name ("must be ..."),
 * or null when it may be called. No DNS: literal addresses and localhost names only.
 */
export function outboundUrlProblem(raw: string, policy: OutboundPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'must be an absolute http(s) URL';
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  if (policy.allowPrivate) return null;
  // URL has already normalized odd IPv4 forms (0x7f.1, 2130706433) to dotted quads.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isLocalName(host))
    return `must not point at this machine (${host}); GATEHOUSE_OUTBOUND_ALLOW_PRIVATE=1 allows it`;
  if (isIP(host) !== 0 && isPrivateAddress(host)) {
    return `must not point at a loopback or private address (${host}); GATEHOUSE_OUTBOUND_ALLOW_PRIVATE=1 allows it`;
  }
  return null;
}

/** Checks a URL a user gives (create time); a 400 naming `field` when it may not be called. */
export function assertOutboundUrl(raw: string, policy: OutboundPolicy, field: string): URL {
  const problem = outboundUrlProblem(raw, policy);
  if (problem !== null)
    throw new BadInput(`${field} ${problem}`, [{ path: field, message: problem }]);
  return new URL(raw);
}

/** A call refused because its destination is not public (or not a URL that may be called). */
export class OutboundRefused extends Error {
  constructor(message: string) {
    super(`refused: ${message}`);
    this.name = 'OutboundRefused';
  }
}

function resolvesPrivate(host: string, address: string): OutboundRefused {
  return new OutboundRefused(
    `${host} resolves to a loopback or private address (${address}); GATEHOUSE_OUTBOUND_ALLOW_PRIVATE=1 allows it`,
  );
}

/** How names become addresses: node:dns's lookup, or another resolver of the same shape. */
export type Resolver = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for node:net, node:http(s) agents and requests: resolves the name, and refuses
 * (OutboundRefused) when any address it resolves to is not public. The socket then connects
 * to exactly the address checked, so a DNS answer that changes between check and connect
 * (rebinding) cannot slip through. Literal IP hosts never reach a lookup: check the URL
 * with outboundUrlProblem as well.
 */
export function guardedLookup(policy: OutboundPolicy, resolve: Resolver = dnsLookup) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) return callback(err, []);
      if (!policy.allowPrivate) {
        const bad = addresses.find((a) => isPrivateAddress(a.address));
        if (bad !== undefined) return callback(resolvesPrivate(hostname, bad.address), []);
      }
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined)
        return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * Resolves a URL's host and throws OutboundRefused when it is not public (or the URL fails
 * outboundUrlProblem). For clients that cannot take a `lookup` (fetch-based ones such as
 * Octokit): call it right before the call; the window between this check and the client's
 * own resolution is what guardedLookup closes where it can be used.
 */
export async function assertPublicDestination(
  raw: string,
  policy: OutboundPolicy,
  resolve: Resolver = dnsLookup,
): Promise<void> {
  const problem = outboundUrlProblem(raw, policy);
  if (problem !== null) throw new OutboundRefused(`the URL ${problem}`);
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  if (policy.allowPrivate || isIP(host) !== 0) return;
  await new Promise<void>((done, fail) => {
    guardedLookup(policy, resolve)(host, { all: true }, (err) =>
      err === null ? done() : fail(err),
    );
  });
}
