import { ICMP_CODE_NAMES, ICMP_NAMES, ICMPV6_CODE_NAMES, ICMPV6_NAMES } from './icmp-names';
import { ChainPriority } from '../../ir/chain';
import { ConnectionState } from '../../ir/connection-state';
import { RejectWith } from '../../ir/reject-with';
import { Rule } from '../../ir/rule';
import { AddressMatch, PortRange } from '../../ir/rule-match';
import { RulesetModel } from '../../ir/ruleset-model';
import { Verdict } from '../../ir/verdict';
import { MapKey, VerdictMap, VerdictMapEntry } from '../../ir/verdict-map';
import { IpFamily } from '../../values/family';
import { Protocol } from '../../values/protocol';
import { ruleComment } from '../rule-comment';
import { addressElement, burstText, helperObjects, limitObjects, meterSets, nftSetLines } from './nft-objects';


export { ICMP_CODE_NAMES, ICMP_NAMES, ICMPV6_CODE_NAMES, ICMPV6_NAMES } from './icmp-names';
export { nftSetLines } from './nft-objects';

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

function setOf(items: string[]): string {
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
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
