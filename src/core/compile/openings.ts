import { groupPorts, PortDeclaration } from './port-segments';
import { SetBuilder } from './sets';
import { ConnectionState } from '../ir/connection-state';
import { Rule } from '../ir/rule';
import { PortRange } from '../ir/rule-match';
import { LateMember } from '../ir/set-definition';
import { Verdict } from '../ir/verdict';
import { AddressRange, formatRange, isWholeFamily, rangesKey, rangesSize, unionRanges } from '../net/address-range';
import { HostPolicy } from '../policy/host-policy';
import { ALL_FAMILIES, IpFamily } from '../values/family';
import { Peer } from '../values/peer';
import { Protocol } from '../values/protocol';

// Declarations become openings (one protocol, ports or an ICMP type, one peer list per
// family), merged, ordered widest first, and turned into model rules.

/** A service rule before it becomes a model rule: one protocol, ports or ICMP types, one peer set. */
export interface Opening {
  readonly family?: IpFamily;
  readonly protocol: Protocol;
  readonly ports?: PortRange[];
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly ranges: AddressRange[];
  readonly origins: string[];
  /** Addresses known only at deploy time: the opening matches them through one late-bound set (and `ranges` is empty). */
  readonly late?: LateMember[];
}

const PROTOCOL_ORDER = [Protocol.TCP, Protocol.UDP, Protocol.ICMP, Protocol.ICMPV6];

/** A declaration's addresses of `family` known only at deploy time, as set members. */
export function lateMembers(peers: readonly Peer[], family: IpFamily, origin: string): LateMember[] {
  const label = origin.split('/').filter((x) => x.length > 0).pop() ?? 'peer';
  return peers.flatMap((p) => p._late).filter((l) => l.family === family)
    .map((l) => ({ label: l.label ?? label, origin: l.origin ?? origin, value: l.value, net: l.net }));
}

/**
 * The openings of declarations with addresses known only at deploy time: per declaration,
 * family and protocol, their ports to one late-bound set (kept apart from the merged
 * openings, whose addresses are known).
 */
export function lateOpenings(policy: HostPolicy, family: IpFamily): Opening[] {
  const openings: Opening[] = [];
  for (const allowance of policy.allowances) {
    const late = lateMembers(allowance.peers, family, allowance.origin);
    if (late.length === 0) continue;
    const byProtocol = new Map<Protocol, PortRange[]>();
    for (const port of allowance.ports) {
      if (port.family !== undefined && port.family !== family) continue;
      if (port.isIcmp) {
        openings.push({
          family,
          protocol: family === IpFamily.IPV4 ? Protocol.ICMP : Protocol.ICMPV6,
          icmpType: port.icmpTypeNumber,
          icmpCode: port.icmpCodeNumber,
          ranges: [],
          origins: [allowance.origin],
          late,
        });
      } else {
        byProtocol.set(port.protocol, [...(byProtocol.get(port.protocol) ?? []), { from: port.fromPort!, to: port.toPort! }]);
      }
    }
    for (const [protocol, ports] of byProtocol) {
      openings.push({ family, protocol, ports: mergePortRanges(ports), ranges: [], origins: [allowance.origin], late });
    }
  }
  return openings;
}

/** Port ranges sorted, overlapping and adjacent ones joined. */
export function mergePortRanges(ports: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const p of [...ports].sort((a, b) => a.from - b.from)) {
    const last = out[out.length - 1];
    if (last && p.from <= last.to + 1) out[out.length - 1] = { from: last.from, to: Math.max(last.to, p.to) };
    else out.push({ ...p });
  }
  return out;
}

/** Per family and protocol, the declarations turned into merged openings. */
export function collectOpenings(policy: HostPolicy): Opening[] {
  const openings: Opening[] = [];
  for (const family of ALL_FAMILIES.filter((f) => (policy.families ?? ALL_FAMILIES).includes(f))) {
    openings.push(...lateOpenings(policy, family));
    const byProtocol = new Map<Protocol, PortDeclaration[]>();
    const icmp = new Map<string, { type: number; code?: number; ranges: AddressRange[]; origins: Set<string> }>();
    for (const allowance of policy.allowances) {
      const ranges = allowance.peers.flatMap((p) => p._ranges).filter((r) => r.family === family);
      if (ranges.length === 0) continue;
      for (const port of allowance.ports) {
        if (port.family !== undefined && port.family !== family) continue;
        if (port.isIcmp) {
          const key = `${port.icmpTypeNumber}/${port.icmpCodeNumber ?? ''}`;
          const entry = icmp.get(key) ?? { type: port.icmpTypeNumber!, code: port.icmpCodeNumber, ranges: [], origins: new Set<string>() };
          entry.ranges.push(...ranges);
          entry.origins.add(allowance.origin);
          icmp.set(key, entry);
        } else {
          const list = byProtocol.get(port.protocol) ?? [];
          list.push({ ports: { from: port.fromPort!, to: port.toPort! }, ranges, origin: allowance.origin });
          byProtocol.set(port.protocol, list);
        }
      }
    }
    for (const [protocol, declarations] of byProtocol) {
      for (const group of groupPorts(declarations)) {
        openings.push({ family, protocol, ports: group.ports, ranges: group.ranges, origins: group.origins });
      }
    }
    for (const entry of icmp.values()) {
      openings.push({
        family,
        protocol: family === IpFamily.IPV4 ? Protocol.ICMP : Protocol.ICMPV6,
        icmpType: entry.type,
        icmpCode: entry.code,
        ranges: unionRanges(entry.ranges),
        origins: [...entry.origins].sort(),
      });
    }
  }
  return openings;
}

export function isOpenToAll(o: Opening): boolean {
  return o.ranges.length === 1 && isWholeFamily(o.ranges[0]);
}

export function portsKey(o: Opening): string {
  return `${o.protocol}|${(o.ports ?? []).map((p) => `${p.from}-${p.to}`).join(',')}|${o.icmpType ?? ''}/${o.icmpCode ?? ''}`;
}

/** An opening open to every IPv4 and every IPv6 address becomes one family-less opening. */
export function mergeAcrossFamilies(openings: Opening[]): Opening[] {
  const out: Opening[] = [];
  const v6Open = new Map<string, Opening>();
  for (const o of openings) if (o.family === IpFamily.IPV6 && isOpenToAll(o)) v6Open.set(portsKey(o), o);
  const merged = new Set<Opening>();
  for (const o of openings) {
    if (o.family === IpFamily.IPV4 && isOpenToAll(o) && o.protocol !== Protocol.ICMP) {
      const twin = v6Open.get(portsKey(o));
      if (twin) {
        merged.add(twin);
        out.push({ ...o, family: undefined, ranges: [], origins: [...new Set([...o.origins, ...twin.origins])].sort() });
        continue;
      }
    }
    if (!merged.has(o)) out.push(o);
  }
  return out.filter((o) => !merged.has(o));
}

/**
 * Rules most packets match first: openings for everyone before restricted ones, then
 * wider peer sets first; ties broken by protocol, family and ports so output is stable.
 */
export function sortOpenings(openings: Opening[]): Opening[] {
  const size = (o: Opening): bigint => {
    if (o.family === undefined) return 1n << 200n;
    // deploy-time addresses: ordered as single addresses
    if (o.late) return (BigInt(o.late.length) << 160n) >> (o.family === IpFamily.IPV4 ? 32n : 128n);
    // compare families on equal footing: fraction of the family's space, scaled
    const bits = o.family === IpFamily.IPV4 ? 32n : 128n;
    return (rangesSize(o.ranges) << 160n) >> bits;
  };
  // the sort keys once per opening, not once per comparison
  const keyed = openings.map((o) => ({
    o,
    size: size(o),
    protocol: PROTOCOL_ORDER.indexOf(o.protocol),
    family: o.family ?? '',
    key: `${portsKey(o)}|${o.late ? o.late.map((m) => `${m.origin}=${m.value}`).join(',') : rangesKey(o.ranges)}`,
  }));
  keyed.sort((a, b) => {
    if (a.size !== b.size) return a.size > b.size ? -1 : 1;
    if (a.protocol !== b.protocol) return a.protocol - b.protocol;
    if (a.family !== b.family) return a.family < b.family ? -1 : 1;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
  return keyed.map((k) => k.o);
}

/**
 * The openings as model rules. Peer lists longer than the host's set threshold become
 * named sets (`source.set`); so do port lists longer than the threshold that iptables'
 * multiport cannot hold in one rule.
 */
export function openingsToRules(openings: Opening[], sets: SetBuilder): Rule[] {
  return openings.map((o) => {
    const everyone = !o.late && (o.family === undefined || isOpenToAll(o));
    const allPorts = o.ports !== undefined && o.ports.length === 1 && o.ports[0].from === 1 && o.ports[0].to === 65535;
    const ports = o.ports && !allPorts ? o.ports : undefined;
    const sourceSet = everyone ? undefined : o.late ? sets.lateSet(o.family!, o.late, o.origins) : sets.addressSet(o.family!, o.ranges, o.origins);
    const portSet = ports ? sets.portSet(ports, o.origins) : undefined;
    return {
      match: {
        family: o.family,
        protocol: o.protocol,
        states: [ConnectionState.NEW],
        tcpSynOnly: o.protocol === Protocol.TCP ? true : undefined,
        source: everyone ? undefined : sourceSet ? { set: sourceSet } : { elements: o.ranges.map(formatRange) },
        destinationPorts: portSet ? undefined : ports,
        destinationPortSet: portSet,
        icmpTypes: o.icmpType === undefined ? undefined : [o.icmpType],
        icmpCode: o.icmpCode,
      },
      verdict: Verdict.ACCEPT,
      origins: o.origins,
    };
  });
}
