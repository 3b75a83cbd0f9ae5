import { createHash } from 'crypto';
import { groupPorts, PortDeclaration } from './port-segments';
import { DEFAULT_SET_THRESHOLD, SetBuilder } from './sets';
import { Chain, ChainPriority } from '../ir/chain';
import { ChainHook } from '../ir/chain-hook';
import { checkConnectionLimits, OverLimitAction } from '../ir/connection-limits';
import { ConnectionState } from '../ir/connection-state';
import { ConntrackHelper, HELPER_PROTOCOL, helperPorts } from '../ir/conntrack-helper';
import { checkRateLimit, DEFAULT_BURST, RateLimit, RateUnit } from '../ir/rate-limit';
import { RejectWith } from '../ir/reject-with';
import { Rule } from '../ir/rule';
import { PortRange } from '../ir/rule-match';
import { RulesetModel } from '../ir/ruleset-model';
import { LateMember } from '../ir/set-definition';
import { Verdict } from '../ir/verdict';
import { AddressRange, formatRange, isWholeFamily, rangesKey, rangesSize, unionRanges } from '../net/address-range';
import { allowanceProblem } from '../policy/allowance-checks';
import { DefaultAction } from '../policy/default-action';
import { DropLogging, HostPolicy } from '../policy/host-policy';
import { ALL_FAMILIES, IpFamily } from '../values/family';
import { Peer } from '../values/peer';
import { Protocol } from '../values/protocol';

/** Name of the neutral model's filter table and input chain (renderers map them to their own names). */
export const FILTER_TABLE = 'filter';
export const INPUT_CHAIN = 'input';
export const OUTPUT_CHAIN = 'output';
/**
 * The forward-hook chain for published container ports (iptables: `SFW-PUBLISHED`, jumped
 * to from Docker's `DOCKER-USER`; nftables: chain `published` in the library's table, hook forward).
 */
export const PUBLISHED_CHAIN = 'published';
/** The table and chain conntrack helpers are attached in (iptables: raw; nftables: a prerouting chain). */
export const RAW_TABLE = 'raw';
export const PREROUTING_CHAIN = 'prerouting';
/** The chains, before conntrack, that exempt untracked services from it. */
export const NOTRACK_PREROUTING_CHAIN = 'raw_prerouting';
export const NOTRACK_OUTPUT_CHAIN = 'raw_output';

/** Ping: 20 echo requests per second per family, bursts of 50. */
export const DEFAULT_PING_LIMIT: RateLimit = { rate: 20, unit: RateUnit.SECOND, burst: 50 };
/** Logging: 10 lines per minute, bursts of 5. */
export const DEFAULT_LOG_LIMIT: RateLimit = { rate: 10, unit: RateUnit.MINUTE };

/** ICMPv6 neighbour discovery: router solicit/advert, neighbour solicit/advert (RFC 4890 4.4.1). */
export const ICMPV6_ND_TYPES = [133, 134, 135, 136];
/** ICMPv6 multicast listener query, report, done and MLDv2 report (RFC 4890 4.4.1). */
export const ICMPV6_MLD_TYPES = [130, 131, 132, 143];
const LINK_LOCAL_V6: AddressRange = { family: IpFamily.IPV6, first: 0xfe80n << 112n, last: (0xfe80n << 112n) | ((1n << 118n) - 1n) };

/** A service rule before it becomes a model rule: one protocol, ports or ICMP types, one peer set. */
interface Opening {
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

/**
 * Compiles a host's declared intent into the neutral ruleset model: one `filter`
 * table whose `input` chain holds, in order,
 *
 * 1. `ESTABLISHED,RELATED` accept (nearly every packet stops here),
 * 2. loopback accept,
 * 3. `INVALID` drop,
 * 4. the ICMPv6 essentials: neighbour discovery and MLD (IPv6 does not work without
 *    them), ahead of everything a declaration adds, so no denial can break them,
 * 5. denials, untracked services (`UNTRACKED`), over-limit rules,
 * 6. the openings, `NEW` only (TCP: SYN only), ports and peers merged, widest first,
 * 7. ping,
 * 8. optional drop logging, then the default action.
 */
export function compileHostPolicy(declared: HostPolicy): RulesetModel {
  // published container ports go to the forward path only; everything else reads the host's own openings
  const published = declared.allowances.filter((a) => a.published);
  const policy: HostPolicy = published.length > 0 ? { ...declared, allowances: declared.allowances.filter((a) => !a.published) } : declared;
  for (const a of [...declared.allowances, ...(policy.denials ?? [])]) {
    const problem = [...(a.ports ?? []), ...a.peers].find((x) => x.problem)?.problem;
    if (problem) throw new Error(`${a.origin}: ${problem}`);
  }
  for (const a of declared.allowances) {
    const problem = allowanceProblem(a);
    if (problem) throw new Error(`${a.origin}: ${problem}`);
  }
  const baseline = policy.origin ?? policy.name;
  const threshold = policy.setThreshold ?? DEFAULT_SET_THRESHOLD;
  if (!(Number.isInteger(threshold) || threshold === Infinity) || threshold < 0) {
    throw new Error(`${baseline}: setThreshold ${threshold} is not usable: use a whole number of elements (0 puts every peer list in a set)`);
  }
  const sets = new SetBuilder(threshold);
  const rules: Rule[] = [
    {
      match: { states: [ConnectionState.ESTABLISHED, ConnectionState.RELATED] },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'established and related traffic',
    },
    { match: { inInterface: 'lo' }, verdict: Verdict.ACCEPT, origins: [baseline], comment: 'loopback' },
    { match: { states: [ConnectionState.INVALID] }, verdict: Verdict.DROP, origins: [baseline], comment: 'invalid state' },
    // before the denials: a denied peer (or all of IPv6) must still resolve the host's address and answer its solicitations
    ...icmpv6EssentialRules(baseline),
  ];

  rules.push(...denialRules(policy, sets));
  // untracked packets (a high-rate service) before the limits: those only see NEW, so the order changes nothing but the cost
  const untracked = untrackedOpenings(policy, sets);
  rules.push(...untracked.map((r) => ({ ...r, comment: 'untracked service' })));
  rules.push(...limitRules(policy, sets));
  const tracked = policy.allowances.filter((a) => !a.notrack);
  rules.push(...openingsToRules(sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: tracked }))), sets));

  if (policy.allowPing ?? true) {
    const limit = policy.pingRateLimit ?? DEFAULT_PING_LIMIT;
    checkPingRateLimit(limit, baseline);
    rules.push({
      match: { family: IpFamily.IPV4, protocol: Protocol.ICMP, states: [ConnectionState.NEW], icmpTypes: [8], limit },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'ping',
    });
    rules.push({
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, states: [ConnectionState.NEW], icmpTypes: [128], limit },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'ping',
    });
  }
  if (policy.logDropped) rules.push(logRule(policy, baseline));
  rules.push(...defaultActionRules(policy.defaultAction ?? DefaultAction.REJECT, baseline));

  const input: Chain = { name: INPUT_CHAIN, hook: ChainHook.INPUT, policy: Verdict.ACCEPT, rules };
  const output = policy.outbound ? outputChain(policy, baseline, sets, untracked) : undefined;
  const forward = published.length > 0 ? publishedChain(policy, published, baseline) : undefined;
  const chains = [input, ...(output ? [output] : []), ...(forward ? [forward] : [])];
  const helpers = helperRules(policy, sets);
  const tables = [{ name: FILTER_TABLE, chains }];
  const raw: Chain[] = [];
  if (untracked.length > 0) {
    // requests from the peers, and the host's replies to them, never enter conntrack
    const notrack = (comment: string) => (r: Rule): Rule => ({ ...r, match: { ...r.match, states: undefined }, verdict: Verdict.NOTRACK, comment });
    // only what is addressed to the host: forwarded traffic (Docker-published ports, a router's clients) keeps conntrack and NAT
    const requests = untracked.map((r) => ({ ...r, match: { ...r.match, destinationLocal: true } })).map(notrack('untracked service'));
    const replies = untracked.map(replyOf).map(notrack('untracked service replies'));
    raw.push({ name: NOTRACK_PREROUTING_CHAIN, hook: ChainHook.PREROUTING, priority: ChainPriority.RAW, policy: Verdict.ACCEPT, rules: requests });
    raw.push({ name: NOTRACK_OUTPUT_CHAIN, hook: ChainHook.OUTPUT, priority: ChainPriority.RAW, policy: Verdict.ACCEPT, rules: replies });
  }
  if (helpers.length > 0) raw.push({ name: PREROUTING_CHAIN, hook: ChainHook.PREROUTING, policy: Verdict.ACCEPT, rules: helpers });
  if (raw.length > 0) tables.push({ name: RAW_TABLE, chains: raw });
  const definitions = sets.definitions();
  return definitions.length > 0 ? { tables, sets: definitions } : { tables };
}

/**
 * The ICMPv6 essentials of RFC 4890 4.4.1 the host accepts whatever else is declared:
 * neighbour discovery (router and neighbour solicitations and advertisements, hop limit
 * 255: never forwarded, so only on-link senders) and MLD from link-local sources. They
 * come before the denials and everything else a declaration adds: without them a denied
 * address (or, for a denial of all IPv6, every on-link neighbour) could not resolve the
 * host, nor the host it, and IPv6 to it would stop in both directions. Stateless (conntrack
 * leaves them untracked).
 */
function icmpv6EssentialRules(baseline: string): Rule[] {
  return [
    {
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, icmpTypes: ICMPV6_ND_TYPES, hopLimit: 255 },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'icmpv6 neighbour discovery',
    },
    {
      match: {
        family: IpFamily.IPV6,
        protocol: Protocol.ICMPV6,
        icmpTypes: ICMPV6_MLD_TYPES,
        source: { elements: [formatRange(LINK_LOCAL_V6)] },
      },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'icmpv6 multicast listener discovery',
    },
  ];
}

/**
 * Denials become DROP rules ahead of the openings: those for all traffic first (peers
 * merged into one list per family), then port-specific ones (merged like openings).
 */
function denialRules(policy: HostPolicy, sets: SetBuilder): Rule[] {
  const denials = policy.denials ?? [];
  const whole = denials.filter((d) => !d.ports || d.ports.length === 0);
  const rules: Rule[] = [];
  for (const family of ALL_FAMILIES) {
    const ranges = unionRanges(whole.flatMap((d) => d.peers.flatMap((p) => p._ranges)).filter((r) => r.family === family));
    if (ranges.length === 0) continue;
    const origins = [...new Set(whole.filter((d) => d.peers.some((p) => p.families.includes(family))).map((d) => d.origin))].sort();
    const everyone = ranges.length === 1 && isWholeFamily(ranges[0]);
    const set = everyone ? undefined : sets.addressSet(family, ranges, origins);
    const source = everyone ? undefined : set ? { set } : { elements: ranges.map(formatRange) };
    rules.push({ match: { family, source }, verdict: Verdict.DROP, origins, comment: 'denied' });
  }
  for (const d of whole) {
    for (const family of ALL_FAMILIES) {
      const late = lateMembers(d.peers, family, d.origin);
      if (late.length === 0) continue;
      rules.push({ match: { family, source: { set: sets.lateSet(family, late, [d.origin]) } }, verdict: Verdict.DROP, origins: [d.origin], comment: 'denied' });
    }
  }
  const portDenials = denials
    .filter((d) => d.ports && d.ports.length > 0)
    .map((d) => ({ origin: d.origin, ports: d.ports!, peers: d.peers }));
  const openings = sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: portDenials })));
  for (const rule of openingsToRules(openings, sets)) {
    rules.push({ ...rule, match: { ...rule.match, states: undefined, tcpSynOnly: undefined }, verdict: Verdict.DROP, comment: 'denied' });
  }
  return rules;
}

/**
 * Per-source limits: for every opening with limits, the same match plus "this source is
 * over the limit", with the over-limit action, ahead of all openings (so no other
 * declaration lets the excess in). One per family: the per-source tables are per family.
 */
function limitRules(policy: HostPolicy, sets: SetBuilder): Rule[] {
  const rules: Rule[] = [];
  for (const a of policy.allowances) {
    const limits = a.limits;
    if (!limits || (!limits.newConnectionsPerSource && limits.concurrentPerSource === undefined && !limits.synFloodLimit)) continue;
    checkConnectionLimits(limits, a.origin);
    const concurrent = limits.concurrentPerSource;
    const tag = createHash('sha256').update(a.origin).digest('hex').slice(0, 6);
    const reject = limits.overLimitAction === OverLimitAction.REJECT;
    for (const rule of openingsToRules(collectOpenings({ ...policy, allowances: [a] }), sets)) {
      const family = rule.match.family ?? IpFamily.IPV4;
      const v = family === IpFamily.IPV6 ? '6' : '4';
      const over = {
        verdict: reject ? Verdict.REJECT : Verdict.DROP,
        rejectWith: reject ? (rule.match.protocol === Protocol.TCP ? RejectWith.TCP_RESET : RejectWith.PORT_UNREACHABLE) : undefined,
        origins: [a.origin],
      };
      if (limits.newConnectionsPerSource) {
        const limit = { burst: DEFAULT_BURST, ...limits.newConnectionsPerSource };
        rules.push({ ...rule, ...over, match: { ...rule.match, sourceRateOver: { limit, name: `sfw-r${v}-${tag}`, family } }, comment: 'over the new-connection rate' });
      }
      if (concurrent !== undefined) {
        rules.push({ ...rule, ...over, match: { ...rule.match, sourceConnectionsOver: { above: concurrent, name: `sfw-c${v}-${tag}`, family } }, comment: 'over the connection limit' });
      }
      if (limits.synFloodLimit && rule.match.protocol === Protocol.TCP) {
        const limit = { burst: DEFAULT_BURST, ...limits.synFloodLimit };
        rules.push({ ...rule, ...over, match: { ...rule.match, rateOver: { limit, name: `sfw-s${v}-${tag}` } }, comment: 'over the syn-flood cap' });
      }
    }
  }
  return rules;
}

/**
 * The OUTPUT chain: the same stateful pattern for what the host sends. Established
 * first, loopback, invalid dropped, ICMPv6 neighbour discovery and MLD (the host must
 * send them for IPv6 to work; like the input chain's, ahead of everything a declaration
 * adds), the declared destinations for NEW only, then the outbound default action.
 */
function outputChain(policy: HostPolicy, baseline: string, sets: SetBuilder, untracked: Rule[]): Chain {
  const outbound = policy.outbound!;
  for (const a of outbound.allowances) {
    const problem = [...a.ports, ...a.peers].find((x) => x.problem)?.problem;
    if (problem) throw new Error(`${a.origin}: ${problem}`);
  }
  const origin = `${baseline} outbound`;
  const openings = sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: outbound.allowances })));
  const rules: Rule[] = [
    { match: { states: [ConnectionState.ESTABLISHED, ConnectionState.RELATED] }, verdict: Verdict.ACCEPT, origins: [origin], comment: 'established and related traffic' },
    { match: { outInterface: 'lo' }, verdict: Verdict.ACCEPT, origins: [origin], comment: 'loopback' },
    { match: { states: [ConnectionState.INVALID] }, verdict: Verdict.DROP, origins: [origin], comment: 'invalid state' },
    {
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, icmpTypes: [...ICMPV6_MLD_TYPES, ...ICMPV6_ND_TYPES].sort((a, b) => a - b) },
      verdict: Verdict.ACCEPT,
      origins: [origin],
      comment: 'icmpv6 neighbour discovery and multicast listener discovery',
    },
    // the replies of untracked services
    ...untracked.map((r) => ({ ...replyOf(r), comment: 'untracked service replies' })),
    // the same openings, to destinations instead of from sources
    ...openingsToRules(openings, sets).map((r) => ({ ...r, match: { ...r.match, source: undefined, destination: r.match.source } })),
    ...defaultActionRules(outbound.defaultAction ?? DefaultAction.REJECT, origin),
  ];
  return { name: OUTPUT_CHAIN, hook: ChainHook.OUTPUT, policy: Verdict.ACCEPT, rules };
}

/**
 * The forward chain for published container ports. Forwarded traffic whose connection was
 * not destination-NATed (containers' own outbound traffic, container to container, a
 * router's clients) is not the library's: it is accepted here and Docker's chains decide
 * as before. Of the DNATed (published) traffic: established and related first, then new
 * connections (TCP: SYN only) from the declared peers to the declared ORIGINAL destination
 * ports (the host port, before DNAT rewrote it to the container's), then optional drop
 * logging and the host's default action for published traffic nobody allowed. Accept here
 * means "the library does not stop it": in iptables the chain returns to `DOCKER-USER`
 * and Docker's own chains still apply; in nftables the library's chain is one base chain
 * next to Docker's.
 */
function publishedChain(policy: HostPolicy, published: HostPolicy['allowances'], baseline: string): Chain {
  const origin = `${baseline} published`;
  // no named sets here: iptables' conntrack match takes one original port (or range) per rule, and peer sets stay with INPUT
  const openings = sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: published })));
  const noSets = new SetBuilder(Infinity);
  const rules: Rule[] = [
    { match: { states: [ConnectionState.ESTABLISHED, ConnectionState.RELATED] }, verdict: Verdict.ACCEPT, origins: [origin], comment: 'established and related traffic' },
    { match: { destinationNat: false }, verdict: Verdict.ACCEPT, origins: [origin], comment: 'not published: docker decides' },
    // one rule per original port or range: iptables' conntrack match takes one, and nft lists a single value back as written
    ...openingsToRules(openings, noSets).flatMap((r) => (r.match.destinationPorts ?? [{ from: 1, to: 65535 }]).map((p) => ({
      ...r,
      match: { ...r.match, destinationPorts: undefined, originalDestinationPorts: [p] },
    }))),
  ];
  if (policy.logDropped) rules.push(logRule(policy, origin));
  rules.push(...defaultActionRules(policy.defaultAction ?? DefaultAction.REJECT, origin));
  return { name: PUBLISHED_CHAIN, hook: ChainHook.FORWARD, policy: Verdict.ACCEPT, rules };
}

/**
 * The openings of untracked services: accepted in state UNTRACKED (the raw table exempted
 * them from conntrack), from their peers, to their ports.
 */
function untrackedOpenings(policy: HostPolicy, sets: SetBuilder): Rule[] {
  const untracked = policy.allowances.filter((a) => a.notrack);
  if (untracked.length === 0) return [];
  const openings = sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: untracked })));
  return openingsToRules(openings, sets).map((r) => ({ ...r, match: { ...r.match, states: [ConnectionState.UNTRACKED], tcpSynOnly: undefined } }));
}

/** The host's replies to an opening's packets: addresses and ports swapped. */
function replyOf(rule: Rule): Rule {
  const m = rule.match;
  return {
    ...rule,
    match: {
      ...m,
      source: undefined,
      destination: m.source,
      destinationPorts: undefined,
      destinationPortSet: undefined,
      sourcePorts: m.destinationPorts,
      sourcePortSet: m.destinationPortSet,
    },
  };
}

/**
 * Conntrack helpers: the control connections of openings with a helper (their ports, from
 * their peers) get the helper attached before conntrack decides, so the data connections
 * the helper expects arrive as RELATED and are accepted by the first rule; nothing else
 * is opened for them.
 */
function helperRules(policy: HostPolicy, sets: SetBuilder): Rule[] {
  const rules: Rule[] = [];
  for (const a of policy.allowances.filter((x) => x.helper !== undefined)) {
    const protocol = HELPER_PROTOCOL[a.helper!];
    // the control port only, not every port of the declaration (FTP on 21, not on 443 next to it)
    const ports = helperPorts(a.helper!, a.ports);
    if (ports.length === 0) throw new Error(`${a.origin}: the ${a.helper} helper reads ${protocol}, but the opening has no ${protocol} port: add e.g. Port.${protocol}(${a.helper === ConntrackHelper.FTP ? 21 : 69})`);
    for (const rule of openingsToRules(collectOpenings({ ...policy, allowances: [{ ...a, ports }] }), sets)) {
      rules.push({
        ...rule,
        match: { ...rule.match, states: undefined, tcpSynOnly: undefined },
        verdict: Verdict.HELPER,
        helper: a.helper,
        comment: `${a.helper} helper`,
      });
    }
  }
  return rules;
}

/** iptables' LOG prefix limit (the kernel's is 29 characters plus the terminator). */
export const MAX_LOG_PREFIX = 29;

/** Throws, naming `origin`, when the ping rate limit is unusable. */
export function checkPingRateLimit(limit: RateLimit, origin: string): void {
  checkRateLimit(limit, `${origin}: pingRateLimit`);
}

/** The LOG prefix of a host's drop logging; throws, naming `origin`, when it or the rate limit is unusable. */
export function dropLoggingPrefix(options: DropLogging, hostName: string, origin: string): string {
  checkRateLimit(options.rateLimit ?? DEFAULT_LOG_LIMIT, `${origin}: logDropped.rateLimit`);
  const prefix = options.prefix ?? `sfw ${hostName.slice(0, MAX_LOG_PREFIX - 6)}: `;
  if (prefix.length > MAX_LOG_PREFIX || !/^[\x20-\x7e]*$/.test(prefix) || /["\\']/.test(prefix)) {
    throw new Error(`${origin}: log prefix '${prefix}' is not usable: use at most ${MAX_LOG_PREFIX} printable characters without quotes or backslashes`);
  }
  return prefix;
}

/** A LOG rule for what the default action is about to refuse: LOG does not stop the packet. */
function logRule(policy: HostPolicy, baseline: string): Rule {
  const options = policy.logDropped!;
  const prefix = dropLoggingPrefix(options, policy.name, baseline);
  return { match: { limit: options.rateLimit ?? DEFAULT_LOG_LIMIT }, verdict: Verdict.LOG, logPrefix: prefix, origins: [baseline], comment: 'log what the default action refuses' };
}

function defaultActionRules(action: DefaultAction, origin: string): Rule[] {
  switch (action) {
    case DefaultAction.DROP:
      return [{ match: {}, verdict: Verdict.DROP, origins: [origin], comment: 'default action' }];
    case DefaultAction.REJECT_HOST_PROHIBITED:
      // one rule per family: nftables' inet `reject` has no family-neutral host-prohibited
      return ALL_FAMILIES.map((family) => ({
        match: { family },
        verdict: Verdict.REJECT,
        rejectWith: RejectWith.HOST_PROHIBITED,
        origins: [origin],
        comment: 'default action',
      }));
    case DefaultAction.REJECT:
      return [
        { match: { protocol: Protocol.TCP }, verdict: Verdict.REJECT, rejectWith: RejectWith.TCP_RESET, origins: [origin], comment: 'default action' },
        { match: {}, verdict: Verdict.REJECT, rejectWith: RejectWith.PORT_UNREACHABLE, origins: [origin], comment: 'default action' },
      ];
  }
}

/** A declaration's addresses of `family` known only at deploy time, as set members. */
function lateMembers(peers: readonly Peer[], family: IpFamily, origin: string): LateMember[] {
  const label = origin.split('/').filter((x) => x.length > 0).pop() ?? 'peer';
  return peers.flatMap((p) => p._late).filter((l) => l.family === family)
    .map((l) => ({ label: l.label ?? label, origin: l.origin ?? origin, value: l.value, net: l.net }));
}

/**
 * The openings of declarations with addresses known only at deploy time: per declaration,
 * family and protocol, their ports to one late-bound set (kept apart from the merged
 * openings, whose addresses are known).
 */
function lateOpenings(policy: HostPolicy, family: IpFamily): Opening[] {
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
function mergePortRanges(ports: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const p of [...ports].sort((a, b) => a.from - b.from)) {
    const last = out[out.length - 1];
    if (last && p.from <= last.to + 1) out[out.length - 1] = { from: last.from, to: Math.max(last.to, p.to) };
    else out.push({ ...p });
  }
  return out;
}

/** Per family and protocol, the declarations turned into merged openings. */
function collectOpenings(policy: HostPolicy): Opening[] {
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

function isOpenToAll(o: Opening): boolean {
  return o.ranges.length === 1 && isWholeFamily(o.ranges[0]);
}

function portsKey(o: Opening): string {
  return `${o.protocol}|${(o.ports ?? []).map((p) => `${p.from}-${p.to}`).join(',')}|${o.icmpType ?? ''}/${o.icmpCode ?? ''}`;
}

/** An opening open to every IPv4 and every IPv6 address becomes one family-less opening. */
function mergeAcrossFamilies(openings: Opening[]): Opening[] {
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
function sortOpenings(openings: Opening[]): Opening[] {
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
function openingsToRules(openings: Opening[], sets: SetBuilder): Rule[] {
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
