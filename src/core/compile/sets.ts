import { createHash } from 'crypto';
import { chunkPorts } from '../backends/iptables/iptables-layout';
import { PortRange } from '../ir/rule-match';
import { LateMember, SetDefinition, SetKind } from '../ir/set-definition';
import { AddressRange, formatRange, rangeToCidrs } from '../net/address-range';
import { familyBits, parseIp } from '../net/ip';
import { IpFamily } from '../values/family';

/** Peer lists with more elements than this become named sets unless the host says otherwise. */
export const DEFAULT_SET_THRESHOLD = 8;

/** ipset names hold at most 31 characters (IPSET_MAXNAMELEN 32, with the terminating NUL). */
export const IPSET_NAME_MAX = 31;

/** Prefix of every set the library owns (the apply script prunes `sfw-*` ipsets it did not load). */
export const SET_PREFIX = 'sfw-';

/** Port sets are `bitmap:port` ipsets, saved one port per line: lists covering more ports stay in multiport rules. */
export const MAX_PORT_SET_PORTS = 4096;

const LABEL_MAX = 16;
const HASH_CHARS = 6;

/** Smallest power of two that is at least `n`. */
function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The ipset sizing for a hash set of `count` elements: `hashsize` a power of two with at
 * most two elements per bucket on average (at least 64, the smallest ipset keeps), and
 * `maxelem` with room to grow: at least ipset's default 65536, and twice the elements.
 */
export function ipsetSizing(count: number): { hashSize: number; maxElements: number } {
  return { hashSize: pow2AtLeast(Math.max(64, Math.ceil(count / 2))), maxElements: Math.max(65536, pow2AtLeast(count * 2)) };
}

/** `hash:ip` when every range is a single address (one hash lookup per packet), `hash:net` otherwise. */
export function addressIpsetType(ranges: readonly AddressRange[]): 'hash:ip' | 'hash:net' {
  return ranges.every((r) => r.first === r.last) ? 'hash:ip' : 'hash:net';
}

/** The readable part of a set name: the last path segment of an origin, as `[A-Za-z0-9_]`, at most 16 characters. */
export function setLabel(origin: string): string {
  const segment = origin.split('/').filter((s) => s.length > 0).pop() ?? 'set';
  return segment.replace(/[^A-Za-z0-9_]/g, '_').slice(0, LABEL_MAX) || 'set';
}

/**
 * A set's name: `sfw-`, the family and type (`4i` hash:ip, `4n` hash:net, `6i`, `6n`, or `p`
 * for ports), a label from the first origin, and 6 hex digits of a hash of the set's
 * identity (its kind, family, type and every origin). At most 31 characters. The name
 * stays the same when addresses are added to or removed from a declaration, so a
 * redeploy swaps the set's content in place; a change of type (a CIDR joins a list of
 * single addresses) gives a new name, which ipset needs (a set cannot change type in place).
 */
export function setName(
  kind: SetKind, family: IpFamily | undefined, ipsetType: string, origins: readonly string[], salt = 0, label?: string,
): string {
  const tag = kind === SetKind.PORT ? 'p' : `${family === IpFamily.IPV6 ? '6' : '4'}${ipsetType === 'hash:ip' ? 'i' : 'n'}`;
  const sorted = [...origins].sort();
  const identity = [kind, family ?? '', ipsetType, ...sorted, ...(salt > 0 ? [`#${salt}`] : [])].join('\n');
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, HASH_CHARS);
  const name = `${SET_PREFIX}${tag}-${setLabel(label ?? sorted[0] ?? 'set')}-${hash}`;
  if (name.length > IPSET_NAME_MAX) throw new Error(`internal error: set name ${name} is longer than ${IPSET_NAME_MAX} characters`);
  return name;
}

function portText(p: PortRange): string {
  return p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`;
}

/** Number of ports a list covers. */
export function portCount(ports: readonly PortRange[]): number {
  return ports.reduce((n, p) => n + p.to - p.from + 1, 0);
}

/**
 * Collects the named sets of one host while its rules are built: decides which lists
 * become sets (more elements than the threshold), names them, shares one set between rules
 * with the same elements, and sizes the ipsets.
 */
export class SetBuilder {
  private readonly byContent = new Map<string, { def: SetDefinition; origins: Set<string> }>();
  private readonly names = new Set<string>();

  /** `threshold`: lists with more elements than this become sets (0: every list). */
  public constructor(private readonly threshold: number) {}

  /** The name of the set holding `ranges` (all of `family`), or undefined when the list stays in the rule. */
  public addressSet(family: IpFamily, ranges: readonly AddressRange[], origins: readonly string[]): string | undefined {
    if (ranges.length === 0 || ranges.length <= this.threshold) return undefined;
    const ipsetType = addressIpsetType(ranges);
    const elements = ranges.map(formatRange);
    return this.add(`a|${family}|${ipsetType}|${elements.join(',')}`, origins, (name) => ({
      name,
      kind: SetKind.ADDRESS,
      family,
      elements,
      ipsetType,
      ...ipsetSizing(ipsetElements({ kind: SetKind.ADDRESS, family, elements, ipsetType }).length),
      origins: [],
    }));
  }

  /**
   * The name of the set holding addresses Terraform knows only at apply time (always a set,
   * whatever the threshold): empty at synth, filled in by the deploy. Named after whose
   * addresses they are (`sfw-4i-app-1a2b3c`); `hash:net` when a member may be a CIDR block.
   */
  public lateSet(family: IpFamily, members: readonly LateMember[], origins: readonly string[]): string {
    const ipsetType = members.some((m) => m.net) ? 'hash:net' : 'hash:ip';
    const sorted = [...members].sort((a, b) => (`${a.origin}|${a.value}` < `${b.origin}|${b.value}` ? -1 : 1));
    const key = `l|${family}|${ipsetType}|${sorted.map((m) => `${m.origin}=${m.value}`).join(',')}`;
    const labels = [...new Set(sorted.map((m) => m.label))];
    return this.add(key, origins, (name) => ({
      name,
      kind: SetKind.ADDRESS,
      family,
      elements: [],
      ipsetType,
      ...ipsetSizing(members.length),
      origins: [],
      lateMembers: sorted,
    }), [...origins, ...sorted.map((m) => `late:${m.origin}:${m.label}`)], labels.length === 1 ? labels[0] : labels.join('_'));
  }

  /**
   * The name of the set holding `ports`, or undefined when they stay in the rule: a list
   * becomes a set only when it has more elements than the threshold and needs more than
   * one iptables multiport rule (15 ports, a range counting two).
   */
  public portSet(ports: readonly PortRange[], origins: readonly string[]): string | undefined {
    if (ports.length <= this.threshold || portCount(ports) > MAX_PORT_SET_PORTS || chunkPorts(ports).length <= 1) return undefined;
    const elements = ports.map(portText);
    return this.add(`p|${elements.join(',')}`, origins, (name) => ({
      name,
      kind: SetKind.PORT,
      elements,
      ipsetType: 'bitmap:port',
      origins: [],
    }));
  }

  /** The sets, sorted by name, each with the sorted origins of every rule that uses it. */
  public definitions(): SetDefinition[] {
    return [...this.byContent.values()]
      .map(({ def, origins }) => ({ ...def, origins: [...origins].sort() }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private add(
    key: string, origins: readonly string[], make: (name: string) => SetDefinition, identity: readonly string[] = origins, label?: string,
  ): string {
    const existing = this.byContent.get(key);
    if (existing) {
      origins.forEach((o) => existing.origins.add(o));
      return existing.def.name;
    }
    const probe = make('');
    let name = setName(probe.kind, probe.family, probe.ipsetType, identity, 0, label);
    for (let salt = 1; this.names.has(name); salt++) name = setName(probe.kind, probe.family, probe.ipsetType, identity, salt, label);
    this.names.add(name);
    this.byContent.set(key, { def: make(name), origins: new Set(origins) });
    return name;
  }
}

/**
 * A set's elements as ipset holds them: `hash:net` keeps CIDRs only (a range is split into
 * the fewest CIDRs that cover it exactly, and a single address prints without its prefix
 * length), `hash:ip` single addresses, `bitmap:port` one port per element.
 */
export function ipsetElements(set: Pick<SetDefinition, 'kind' | 'family' | 'elements' | 'ipsetType'>): string[] {
  if (set.kind === SetKind.PORT) {
    const out: string[] = [];
    for (const e of set.elements) {
      const [from, to] = e.includes('-') ? e.split('-').map(Number) : [Number(e), Number(e)];
      for (let p = from; p <= to; p++) out.push(String(p));
    }
    return out;
  }
  const bits = familyBits(set.family ?? IpFamily.IPV4);
  const single = new RegExp(`/${bits}$`);
  return set.elements.flatMap((e) => (e.includes('-') ? splitRangeToCidrs(e, set.family ?? IpFamily.IPV4) : [e])).map((e) => e.replace(single, ''));
}

/** `a-b` (addresses of `family`) as the fewest CIDRs that cover it exactly. */
export function splitRangeToCidrs(element: string, family: IpFamily): string[] {
  const dash = element.indexOf('-');
  const first = parseIp(element.slice(0, dash));
  const last = parseIp(element.slice(dash + 1));
  if (!first || !last || first.family !== family || last.family !== family) throw new Error(`'${element}' is not an address range of ${family}`);
  return rangeToCidrs({ family, first: first.value, last: last.value });
}
