import { ChainPriority } from '../../ir/chain';
import { ConnectionState } from '../../ir/connection-state';
import { HELPER_PROTOCOL } from '../../ir/conntrack-helper';
import { DEFAULT_BURST, RateLimit } from '../../ir/rate-limit';
import { RejectWith } from '../../ir/reject-with';
import { Rule } from '../../ir/rule';
import { AddressMatch, PortRange } from '../../ir/rule-match';
import { RulesetModel } from '../../ir/ruleset-model';
import { SetDefinition, SetKind } from '../../ir/set-definition';
import { Verdict } from '../../ir/verdict';
import { MapKey, VerdictMap, VerdictMapEntry } from '../../ir/verdict-map';
import { IpFamily } from '../../values/family';
import { Protocol } from '../../values/protocol';
import { ruleComment } from '../rule-comment';

/** The library's own nftables table (family inet): the only table it creates, replaces or deletes. */
export const NFT_TABLE = 'stateful_firewall';

/** The order nft prints conntrack states in. */
const STATE_ORDER = [
  ConnectionState.INVALID,
  ConnectionState.ESTABLISHED,
  ConnectionState.RELATED,
  ConnectionState.NEW,
  ConnectionState.UNTRACKED,
];

/** nft's names for ICMP types (`nft describe icmp type`); others print as numbers. */
export const ICMP_NAMES: Record<number, string> = {
  0: 'echo-reply',
  3: 'destination-unreachable',
  4: 'source-quench',
  5: 'redirect',
  8: 'echo-request',
  9: 'router-advertisement',
  10: 'router-solicitation',
  11: 'time-exceeded',
  12: 'parameter-problem',
  13: 'timestamp-request',
  14: 'timestamp-reply',
  15: 'info-request',
  16: 'info-reply',
  17: 'address-mask-request',
  18: 'address-mask-reply',
};

/** nft's names for ICMPv6 types (`nft describe icmpv6 type`); others (e.g. 139, 140) print as numbers. */
export const ICMPV6_NAMES: Record<number, string> = {
  1: 'destination-unreachable',
  2: 'packet-too-big',
  3: 'time-exceeded',
  4: 'parameter-problem',
  128: 'echo-request',
  129: 'echo-reply',
  130: 'mld-listener-query',
  131: 'mld-listener-report',
  132: 'mld-listener-done',
  133: 'nd-router-solicit',
  134: 'nd-router-advert',
  135: 'nd-neighbor-solicit',
  136: 'nd-neighbor-advert',
  137: 'nd-redirect',
  138: 'router-renumbering',
  141: 'ind-neighbor-solicit',
  142: 'ind-neighbor-advert',
  143: 'mld2-listener-report',
};

/** nft names ICMP codes from one table, whatever the type (`nft describe icmp code`). */
export const ICMP_CODE_NAMES: Record<number, string> = {
  0: 'net-unreachable',
  1: 'host-unreachable',
  2: 'prot-unreachable',
  3: 'port-unreachable',
  4: 'frag-needed',
  9: 'net-prohibited',
  10: 'host-prohibited',
  13: 'admin-prohibited',
};

/** nft's names for ICMPv6 codes (`nft describe icmpv6 code`). */
export const ICMPV6_CODE_NAMES: Record<number, string> = {
  0: 'no-route', 1: 'admin-prohibited', 3: 'addr-unreachable', 4: 'port-unreachable', 5: 'policy-fail', 6: 'reject-route',
};

function setOf(items: string[]): string {
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

function addressElement(element: string): string {
  return element.replace(/\/(32|128)$/, (all) => (element.includes(':') ? (all === '/128' ? '' : all) : all === '/32' ? '' : all));
}

function addressExpr(match: AddressMatch, family: IpFamily, direction: 'saddr' | 'daddr'): string {
  const proto = family === IpFamily.IPV4 ? 'ip' : 'ip6';
  if (match.set) return `${proto} ${direction} @${match.set}`;
  return `${proto} ${direction} ${setOf((match.elements ?? []).map(addressElement))}`;
}

function portText(p: PortRange): string {
  return p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`;
}

function rejectExpr(rule: Rule): string {
  const reason = rule.rejectWith ?? RejectWith.PORT_UNREACHABLE;
  const family = rule.match.family;
  if (reason === RejectWith.TCP_RESET) return 'reject with tcp reset';
  if (family === undefined) {
    if (reason === RejectWith.PORT_UNREACHABLE) return 'reject';
    if (reason === RejectWith.ADMIN_PROHIBITED) return 'reject with icmpx admin-prohibited';
    throw new Error(`reject with ${reason} needs a rule per family in nftables`);
  }
  if (family === IpFamily.IPV4) return `reject with icmp ${reason}`;
  return `reject with icmpv6 ${reason === RejectWith.PORT_UNREACHABLE ? 'port-unreachable' : 'admin-prohibited'}`;
}

const STATE_NAMES: Record<ConnectionState, string> = {
  [ConnectionState.INVALID]: 'invalid',
  [ConnectionState.ESTABLISHED]: 'established',
  [ConnectionState.RELATED]: 'related',
  [ConnectionState.NEW]: 'new',
  [ConnectionState.UNTRACKED]: 'untracked',
};

function keyText(key: MapKey, protocol: Protocol | undefined, family?: IpFamily): string {
  switch (key) {
    case MapKey.STATE:
      return 'ct state';
    case MapKey.FAMILY:
      return 'meta nfproto';
    case MapKey.PROTOCOL:
      return 'meta l4proto';
    case MapKey.DESTINATION_PORT:
      if (protocol !== Protocol.TCP && protocol !== Protocol.UDP) throw new Error('a port map needs protocol tcp or udp');
      return `${protocol} dport`;
    case MapKey.ICMP_TYPE:
      if (protocol !== Protocol.ICMP && protocol !== Protocol.ICMPV6) throw new Error('an icmp type map needs protocol icmp or icmpv6');
      return `${protocol === Protocol.ICMP ? 'icmp' : 'icmpv6'} type`;
    case MapKey.TRANSPORT_DESTINATION_PORT:
      return 'th dport';
    case MapKey.TRANSPORT_SOURCE_PORT:
      return 'th sport';
    case MapKey.SOURCE_ADDRESS:
      if (family === undefined) throw new Error('a source address map needs the rule\'s family');
      return family === IpFamily.IPV4 ? 'ip saddr' : 'ip6 saddr';
  }
}

function keyValueText(key: MapKey, entry: VerdictMapEntry, protocol: Protocol | undefined): string {
  const m = entry.match;
  switch (key) {
    case MapKey.STATE:
      return STATE_NAMES[m.states![0]];
    case MapKey.FAMILY:
      return m.family!;
    case MapKey.PROTOCOL:
      return m.protocol === Protocol.ICMPV6 ? 'ipv6-icmp' : m.protocol!;
    case MapKey.DESTINATION_PORT:
      return portText(m.destinationPorts![0]);
    case MapKey.ICMP_TYPE: {
      const t = m.icmpTypes![0];
      return (protocol === Protocol.ICMP ? ICMP_NAMES : ICMPV6_NAMES)[t] ?? String(t);
    }
    case MapKey.TRANSPORT_DESTINATION_PORT:
      // an element for a protocol without ports (ICMP) takes every value `th dport` reads
      return m.destinationPorts ? portText(m.destinationPorts[0]) : '0-65535';
    case MapKey.TRANSPORT_SOURCE_PORT:
      // ICMP's `th sport` is its type and code (type << 8 | code); TCP and UDP elements take every source port
      return m.sourcePorts ? portText(m.sourcePorts[0]) : '0-65535';
    case MapKey.SOURCE_ADDRESS:
      return addressElement(m.source!.elements![0]);
  }
}

function entryVerdict(entry: VerdictMapEntry): string {
  switch (entry.verdict) {
    case Verdict.ACCEPT:
    case Verdict.DROP:
      return entry.verdict;
    case Verdict.GOTO:
    case Verdict.JUMP:
      if (!entry.target) throw new Error(`a ${entry.verdict} map element needs a target chain`);
      return `${entry.verdict} ${entry.target}`;
    default:
      throw new Error(`a verdict map element cannot ${entry.verdict}`);
  }
}

/** A verdict map as nft prints it: `KEY vmap { value : verdict, ... }` (anonymous maps print on one line). */
function mapText(map: VerdictMap, protocol: Protocol | undefined, family?: IpFamily): string {
  const key = map.keys.map((k) => keyText(k, protocol, family)).join(' . ');
  // a map whose every element does the same statement that does not end the walk: a set lookup, then the statement
  const statement = map.entries[0]?.verdict;
  if (statement === Verdict.NOTRACK && map.entries.every((e) => e.verdict === statement)) {
    return `${key} { ${map.entries.map((e) => map.keys.map((k) => keyValueText(k, e, protocol)).join(' . ')).join(', ')} } notrack`;
  }
  const elements = map.entries.map((e) => `${map.keys.map((k) => keyValueText(k, e, protocol)).join(' . ')} : ${entryVerdict(e)}`);
  return `${key} vmap { ${elements.join(', ')} }`;
}

/** A limit's burst as nft prints it: nothing for the default of 5, which nft does not print either. */
function burstText(l: RateLimit): string {
  return l.burst !== undefined && l.burst !== DEFAULT_BURST ? ` burst ${l.burst} packets` : '';
}

/** One rule's statement as `nft list table` prints it. */
export function nftRuleText(rule: Rule): string {
  const m = rule.match;
  if (rule.verdict === Verdict.MAP) {
    if (!rule.verdictMap) throw new Error('a map rule needs a verdict map');
    const rest = Object.entries(m).filter(([k, v]) => v !== undefined && k !== 'protocol' && k !== 'family' && k !== 'tcpSynOnly' && k !== 'destinationLocal');
    if (rest.length > 0) throw new Error('a map rule matches nothing but the map key (the protocol of a port or icmp type key, the family of an address key, a bare syn, a local destination)');
    const map = mapText(rule.verdictMap, m.protocol, m.family);
    const text = `${m.destinationLocal ? 'fib daddr type local ' : ''}${m.tcpSynOnly ? 'tcp flags syn / fin,syn,rst,ack ' : ''}${map}`;
    return rule.origins.length > 0 || rule.comment ? `${text} comment "${ruleComment(rule)}"` : text;
  }
  const parts: string[] = [];
  const family = m.family;
  const addressed = (m.source || m.destination) !== undefined;
  if ((m.source || m.destination) && family === undefined) throw new Error('an address match needs the rule\'s family');
  if (m.inInterface) parts.push(`iifname "${m.inInterface}"`);
  if (m.outInterface) parts.push(`oifname "${m.outInterface}"`);
  // nft infers the family from icmp/icmpv6 matches and from a family-specific reject
  const familyReject = rule.verdict === Verdict.REJECT && rule.rejectWith !== undefined && rule.rejectWith !== RejectWith.TCP_RESET;
  const meter = m.sourceRateOver !== undefined || m.sourceConnectionsOver !== undefined // `ip saddr` inside the set statement
    || m.limitsUnder?.sourceRate !== undefined || m.limitsUnder?.sourceConnections !== undefined;
  const impliedFamily = m.protocol === Protocol.ICMP || m.protocol === Protocol.ICMPV6 || familyReject || m.hopLimit !== undefined || meter;
  if (family !== undefined && !addressed && !impliedFamily) {
    parts.push(`meta nfproto ${family}`);
  }
  if (m.source) parts.push(addressExpr(m.source, family!, 'saddr'));
  if (m.destination) parts.push(addressExpr(m.destination, family!, 'daddr'));
  if (m.destinationLocal) parts.push('fib daddr type local');
  if (m.hopLimit !== undefined) parts.push(`ip6 hoplimit ${m.hopLimit}`);
  const l4 = m.protocol;
  if (l4 === Protocol.TCP || l4 === Protocol.UDP) {
    if (m.sourcePortSet) parts.push(`${l4} sport @${m.sourcePortSet}`);
    else if (m.sourcePorts) parts.push(`${l4} sport ${setOf(m.sourcePorts.map(portText))}`);
    if (m.destinationPortSet) parts.push(`${l4} dport @${m.destinationPortSet}`);
    else if (m.destinationPorts) parts.push(`${l4} dport ${setOf(m.destinationPorts.map(portText))}`);
    else if (!m.tcpSynOnly && !m.sourcePorts && !m.sourcePortSet) parts.push(`meta l4proto ${l4}`); // `tcp flags` and `sport` imply it
    if (m.originalDestinationPorts) {
      // one value per rule: nft lists a set of `ct original proto-dst` values back untyped
      if (m.originalDestinationPorts.length !== 1) throw new Error('a rule holds one original destination port or range');
      // nft reads `ct original proto-dst` only after a protocol: `tcp flags` first (it lists a leading `meta l4proto tcp` away)
      if (m.tcpSynOnly) parts.push('tcp flags syn / fin,syn,rst,ack');
      parts.push(`ct original proto-dst ${portText(m.originalDestinationPorts[0])}`);
    }
  } else if (l4 === Protocol.ICMP || l4 === Protocol.ICMPV6) {
    const names = l4 === Protocol.ICMP ? ICMP_NAMES : ICMPV6_NAMES;
    const kw = l4 === Protocol.ICMP ? 'icmp' : 'icmpv6';
    if (m.icmpTypes) parts.push(`${kw} type ${setOf(m.icmpTypes.map((t) => names[t] ?? String(t)))}`);
    else if (m.icmpCode === undefined) parts.push(`meta l4proto ${l4 === Protocol.ICMP ? 'icmp' : 'ipv6-icmp'}`);
    if (m.icmpCode !== undefined) {
      const codes = l4 === Protocol.ICMP ? ICMP_CODE_NAMES : ICMPV6_CODE_NAMES;
      parts.push(`${kw} code ${codes[m.icmpCode] ?? String(m.icmpCode)}`);
    }
  }
  if (m.originalDestinationPorts && l4 !== Protocol.TCP && l4 !== Protocol.UDP) throw new Error(`original destination ports need protocol tcp or udp, not ${l4 ?? 'any'}`);
  if (m.tcpSynOnly && !m.originalDestinationPorts) parts.push('tcp flags syn / fin,syn,rst,ack');
  if (m.states) {
    const states = STATE_ORDER.filter((s) => m.states!.includes(s));
    parts.push(`ct state ${states.join(',')}`);
  }
  if (m.destinationNat !== undefined) parts.push(m.destinationNat ? 'ct status dnat' : 'ct status ! dnat'); // a flag test; `!= dnat` would compare the whole status
  const ip = (f: IpFamily) => (f === IpFamily.IPV6 ? 'ip6' : 'ip');
  if (m.sourceRateOver) {
    const l = m.sourceRateOver.limit;
    parts.push(`add @${m.sourceRateOver.name} { ${ip(m.sourceRateOver.family)} saddr limit rate over ${l.rate}/${l.unit}${burstText(l)} }`);
  }
  if (m.sourceConnectionsOver) {
    parts.push(`add @${m.sourceConnectionsOver.name} { ${ip(m.sourceConnectionsOver.family)} saddr ct count over ${m.sourceConnectionsOver.above} }`);
  }
  // a named limit object: every copy of the rule (the verdict-map layout copies a rule into each port's chain) shares one bucket
  if (m.rateOver) parts.push(`limit name "${m.rateOver.name}"`);
  // under every limit: each statement stops the rule when its limit is exceeded
  const under = m.limitsUnder;
  if (under?.sourceRate) {
    const l = under.sourceRate.limit;
    parts.push(`add @${under.sourceRate.name} { ${ip(under.sourceRate.family)} saddr limit rate ${l.rate}/${l.unit}${burstText(l)} }`);
  }
  if (under?.sourceConnections) parts.push(`add @${under.sourceConnections.name} { ${ip(under.sourceConnections.family)} saddr ct count ${under.sourceConnections.above} }`);
  if (under?.rate) parts.push(`limit name "${under.rate.name}"`);
  if (m.limit) parts.push(`limit rate ${m.limit.rate}/${m.limit.unit}${burstText(m.limit)}`);
  switch (rule.verdict) {
    case Verdict.HELPER:
      parts.push(`ct helper set "${rule.helper}-standard"`);
      break;
    case Verdict.NOTRACK:
      parts.push('notrack');
      break;
    case Verdict.LOG:
      parts.push(rule.logPrefix ? `log prefix "${rule.logPrefix}"` : 'log');
      break;
    case Verdict.ACCEPT:
      if (rule.helper) parts.push(`ct helper set "${rule.helper}-standard"`);
      parts.push(rule.verdict);
      break;
    case Verdict.DROP:
    case Verdict.RETURN:
      parts.push(rule.verdict);
      break;
    case Verdict.JUMP:
    case Verdict.GOTO:
      if (!rule.target) throw new Error(`a ${rule.verdict} rule needs a target chain`);
      parts.push(`${rule.verdict} ${rule.target}`);
      break;
    case Verdict.REJECT:
      parts.push(rejectExpr(rule));
      break;
  }
  if (rule.origins.length > 0 || rule.comment) parts.push(`comment "${ruleComment(rule)}"`);
  return parts.join(' ');
}

/** nft's element separator in a named set's listing: a new line after every 2 IPv4 addresses, every IPv6 address, every 5 ports. */
function setElementsText(set: SetDefinition): string {
  const perLine = set.kind === SetKind.PORT ? 5 : set.family === IpFamily.IPV6 ? 1 : 2;
  const elements = set.kind === SetKind.PORT ? set.elements : set.elements.map(addressElement);
  let out = '';
  elements.forEach((e, i) => {
    if (i > 0) out += i % perLine === 0 ? ',\n\t\t\t     ' : ', ';
    out += e;
  });
  return `{ ${out} }`;
}

/** Whether a set holds blocks or ranges (an interval set, looked up in a tree) or single values only (a hash set, one lookup). */
function needsIntervals(set: SetDefinition): boolean {
  if (set.kind === SetKind.PORT) return set.elements.some((e) => e.includes('-'));
  // members known at deploy: an interval set when a member may be a block or range
  if (set.lateMembers?.some((m) => m.net)) return true;
  const single = set.family === IpFamily.IPV6 ? '/128' : '/32';
  return set.elements.some((e) => e.includes('-') || !e.endsWith(single));
}

/** The `ct helper` objects the helper rules name. */
function helperObjects(rules: readonly Rule[]): string[][] {
  const setting = rules.filter((r) => r.helper !== undefined && (r.verdict === Verdict.HELPER || r.verdict === Verdict.ACCEPT));
  const helpers = [...new Set(setting.map((r) => r.helper!))].sort();
  return helpers.map((h) => [`\tct helper ${h}-standard {`, `\t\ttype "${h}" protocol ${HELPER_PROTOCOL[h]}`, '\t\tl3proto inet', '\t}']);
}

/** The limit objects behind caps over all sources (one bucket each, whatever the rules that name it). */
function limitObjects(rules: readonly Rule[]): string[][] {
  const out = new Map<string, string[]>();
  for (const rule of rules) {
    // one object serves `limit name` rules of one kind: over the rate, or under it (`LimitsUnder`)
    for (const [r, over] of [[rule.match.rateOver, true], [rule.match.limitsUnder?.rate, false]] as const) {
      if (!r || out.has(r.name)) continue;
      out.set(r.name, [`\tlimit ${r.name} {`, `\t\trate ${over ? 'over ' : ''}${r.limit.rate}/${r.limit.unit}${burstText(r.limit)}`, '\t}']);
    }
  }
  return [...out.values()];
}

/** The dynamic sets behind per-source limits, declared at the top of the table (as nft lists them). */
function meterSets(rules: readonly Rule[]): string[][] {
  const out = new Map<string, string[]>();
  for (const rule of rules) {
    const typeOf = (f: IpFamily) => (f === IpFamily.IPV6 ? 'ipv6_addr' : 'ipv4_addr');
    for (const rate of [rule.match.sourceRateOver, rule.match.limitsUnder?.sourceRate]) {
      if (rate && !out.has(rate.name)) {
        out.set(rate.name, ['\tset ' + rate.name + ' {', `\t\ttype ${typeOf(rate.family)}`, '\t\tsize 65535', '\t\tflags dynamic,timeout', `\t\ttimeout 1${rate.limit.unit[0]}`, '\t}']);
      }
    }
    for (const conn of [rule.match.sourceConnectionsOver, rule.match.limitsUnder?.sourceConnections]) {
      if (conn && !out.has(conn.name)) out.set(conn.name, ['\tset ' + conn.name + ' {', `\t\ttype ${typeOf(conn.family)}`, '\t\tsize 65535', '\t\tflags dynamic', '\t}']);
    }
  }
  return [...out.values()];
}

/**
 * A named set as `nft list table` prints it inside the table: `flags interval` when it
 * holds blocks or ranges, a plain hash set when it holds single addresses or ports.
 */
export function nftSetLines(set: SetDefinition): string[] {
  const type = set.kind === SetKind.PORT ? 'inet_service' : set.family === IpFamily.IPV6 ? 'ipv6_addr' : 'ipv4_addr';
  // a set whose members are known only at deploy is declared empty: the deploy adds an elements line
  const elements = set.elements.length === 0 && set.lateMembers ? [] : [`\t\telements = ${setElementsText(set)}`];
  return [`\tset ${set.name} {`, `\t\ttype ${type}`, ...(needsIntervals(set) ? ['\t\tflags interval'] : []), ...elements, '\t}'];
}

/**
 * Renders a model as one `inet` table for `nft -f`, in the form `nft list table inet NAME`
 * prints it back: named sets first, then the chains. The library's filter table becomes
 * its own table (default `stateful_firewall`), so other tables are never touched. Give it
 * the model as nftables holds it (`nftablesLayout`); the neutral model renders too, as
 * one linear chain.
 */
export function renderNftables(model: RulesetModel, tableName: string = NFT_TABLE, header?: string): string {
  const lines: string[] = [];
  if (header) lines.push(`# ${header}`);
  // every neutral table goes into the library's one table: limit and conntrack helper
  // objects, named sets, the meters of per-source limits, then the chains (filter, raw, and
  // the helper chain after conntrack: `ct helper set` needs the connection)
  const chains = model.tables.flatMap((t) => t.chains);
  const rules = chains.flatMap((c) => c.rules);
  // as `nft list table` prints them: stateful objects (limits, ct helpers), then sets, then chains
  const blocks: string[][] = [...limitObjects(rules), ...helperObjects(rules), ...(model.sets ?? []).map(nftSetLines), ...meterSets(rules)];
  for (const chain of chains) {
    const block = [`\tchain ${chain.name} {`];
    if (chain.hook) block.push(`\t\ttype filter hook ${chain.hook} priority ${chain.priority ?? ChainPriority.FILTER}; policy ${chain.policy ?? Verdict.ACCEPT};`);
    for (const rule of chain.rules) block.push(`\t\t${nftRuleText(rule)}`);
    block.push('\t}');
    blocks.push(block);
  }
  lines.push(`table inet ${tableName} {`);
  blocks.forEach((block, i) => {
    if (i > 0) lines.push('');
    lines.push(...block);
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
