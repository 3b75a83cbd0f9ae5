import { AddressRange, elementRange, isWholeFamily, unionRanges } from '../core/net/address-range';
import { Allowance } from '../core/policy/host-policy';
import { IpFamily } from '../core/values/family';
import { Port } from '../core/values/port';

/** Whether a port (range or ICMP type) includes a given TCP/UDP port number. */
export function portIncludes(port: Port, protocol: string, number: number): boolean {
  return port.protocol === protocol && port.fromPort !== undefined && port.fromPort <= number && number <= port.toPort!;
}

/** The peers' address ranges of one family, unioned. */
export function familyRanges(allowances: readonly Allowance[], family: IpFamily): AddressRange[] {
  return unionRanges(allowances.flatMap((a) => a.peers.flatMap((p) => p._ranges)).filter((r) => r.family === family));
}

/** Whether the ranges cover the whole address space of the family. */
export function coversWholeFamily(ranges: readonly AddressRange[]): boolean {
  return ranges.length === 1 && isWholeFamily(ranges[0]);
}

/**
 * Peers that cover at least this share of a family's routable (public unicast) space
 * count as "the world" for SFW1, SFW2 and SFW3: `1.0.0.0-255.255.255.255` or `2000::/3`
 * is as open as `Peer.any()`, while a /8 of someone's own space is not.
 */
export const WORLD_THRESHOLD = 0.5;

function cidr(family: IpFamily, text: string): AddressRange {
  const range = elementRange(text);
  if (!range || range.family !== family) throw new Error(`port-coverage: bad block '${text}'`);
  return range;
}

/** Address blocks that are not public unicast (RFC 6890 special-purpose, multicast, reserved). */
const NOT_ROUTABLE_V4 = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/3',
].map((c) => cidr(IpFamily.IPV4, c));

/** The routable space of each family: public unicast IPv4, and IPv6 global unicast (2000::/3). */
function routable(family: IpFamily): AddressRange[] {
  if (family === IpFamily.IPV6) return [cidr(IpFamily.IPV6, '2000::/3')];
  const out: AddressRange[] = [];
  let next = 0n;
  for (const r of unionRanges(NOT_ROUTABLE_V4)) {
    if (r.first > next) out.push({ family, first: next, last: r.first - 1n });
    next = r.last + 1n;
  }
  if (next <= 0xffffffffn) out.push({ family, first: next, last: 0xffffffffn });
  return out;
}

const ROUTABLE = new Map<IpFamily, AddressRange[]>([IpFamily.IPV4, IpFamily.IPV6].map((f) => [f, routable(f)]));

/** The share (0 to 1) of the family's routable space that the (unioned) ranges cover. */
export function routableShare(ranges: readonly AddressRange[], family: IpFamily): number {
  const space = ROUTABLE.get(family)!;
  let total = 0n;
  let covered = 0n;
  for (const s of space) {
    total += s.last - s.first + 1n;
    for (const r of ranges) {
      if (r.family !== family) continue;
      const first = r.first > s.first ? r.first : s.first;
      const last = r.last < s.last ? r.last : s.last;
      if (first <= last) covered += last - first + 1n;
    }
  }
  // in thousandths: exact enough for a threshold, and bigint-safe
  return Number((covered * 1000n) / total) / 1000;
}

/** Whether the ranges (unioned, of one family) are open to the world: `WORLD_THRESHOLD` of its routable space. */
export function opensToWorld(ranges: readonly AddressRange[], family: IpFamily): boolean {
  return ranges.length > 0 && routableShare(ranges, family) >= WORLD_THRESHOLD;
}

/** Whether every range of `inner` lies inside the union `outer`. */
export function rangesContained(inner: readonly AddressRange[], outer: readonly AddressRange[]): boolean {
  return inner.every((r) => outer.some((o) => o.family === r.family && o.first <= r.first && r.last <= o.last));
}

/** One "open to the world" finding: the ports, the families, and the declarations that open them. */
export interface WorldFinding {
  /** e.g. `SSH (tcp/22)` or `SSH (tcp/22), telnet (tcp/23) and RDP (tcp/3389)` */
  readonly ports: string;
  /** Whether several ports are named. */
  readonly plural: boolean;
  /** e.g. `ipv4` or `ipv4 and ipv6` */
  readonly families: string;
  /** The declarations' origins, comma separated. */
  readonly by: string;
}

function listing(items: string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * The well-known ports open to the world, grouped so that one set of declarations opening
 * many of them (e.g. `Port.allTcp()` to anyone) is one finding, not one per port and family.
 */
export function worldFindings(
  allowances: readonly Allowance[],
  ports: readonly { protocol: string; port: number; name: string }[],
  families: readonly IpFamily[],
): WorldFinding[] {
  const groups = new Map<string, { names: string[]; families: IpFamily[]; by: string[] }>();
  for (const { protocol, port, name } of ports) {
    const openers = allowances.filter((a) => a.ports.some((p) => portIncludes(p, protocol, port)));
    if (openers.length === 0) continue;
    const open = families.filter((f) => opensToWorld(familyRanges(openers, f), f));
    if (open.length === 0) continue;
    const ofFamilies = openers.filter((a) => a.peers.some((p) => p.families.some((f) => open.includes(f))));
    // name the declarations that open it to the world by themselves, if any
    const alone = ofFamilies.filter((a) => open.some((f) => opensToWorld(familyRanges([a], f), f)));
    const by = [...new Set((alone.length > 0 ? alone : ofFamilies).map((a) => a.origin))];
    const key = `${open.join(',')}|${by.join('\n')}`;
    const group = groups.get(key) ?? { names: [], families: open, by };
    group.names.push(`${name} (${protocol}/${port})`);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({
    ports: listing(g.names), plural: g.names.length > 1, families: g.families.join(' and '), by: g.by.join(', '),
  }));
}
