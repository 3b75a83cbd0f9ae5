import { Chain } from '../../ir/chain';
import { ChainHook } from '../../ir/chain-hook';
import { ConnectionState } from '../../ir/connection-state';
import { RejectWith } from '../../ir/reject-with';
import { Rule } from '../../ir/rule';
import { PortRange, RuleMatch } from '../../ir/rule-match';
import { RulesetModel } from '../../ir/ruleset-model';
import { SetDefinition } from '../../ir/set-definition';
import { Verdict } from '../../ir/verdict';
import { MapKey, VerdictMapEntry } from '../../ir/verdict-map';
import { IpFamily } from '../../values/family';
import { Protocol } from '../../values/protocol';
import { withReferencedSets } from '../iptables/iptables-layout';

/**
 * Conntrack states in the order nft lists them in a map (by the value of their bit:
 * invalid 1, established 2, related 4, new 8, untracked 64).
 */
export const STATE_KEY_ORDER = [
  ConnectionState.INVALID, ConnectionState.ESTABLISHED, ConnectionState.RELATED, ConnectionState.NEW, ConnectionState.UNTRACKED,
];

/** `meta nfproto` values: ipv4 is 2, ipv6 is 10. */
const FAMILY_VALUE: Record<IpFamily, number> = { [IpFamily.IPV4]: 2, [IpFamily.IPV6]: 10 };
/** `meta l4proto` values (IANA protocol numbers). */
export const PROTOCOL_VALUE: Record<Protocol, number> = { [Protocol.ICMP]: 1, [Protocol.TCP]: 6, [Protocol.UDP]: 17, [Protocol.ICMPV6]: 58 };

const FAMILY_SHORT: Record<IpFamily, string> = { [IpFamily.IPV4]: 'v4', [IpFamily.IPV6]: 'v6' };

/** What a part of a chain name says: the base chain, the conntrack state, the family, the protocol, the port or ICMP type. */
type NameKind = 'base' | 'state' | 'family' | 'protocol' | 'key';
const NAME_KINDS: NameKind[] = ['base', 'state', 'family', 'protocol', 'key'];
/** A chain name as the parts the dispatch levels above it add (`sfw`, `new`, `v6`, `tcp`, `p22`). */
type ChainName = readonly { readonly kind: NameKind; readonly value: string }[];
/** A part with more values than this says `..._plusN` for the rest (a chain many ports share keeps a short name). */
const MAX_JOINED_VALUES = 3;

/**
 * The name of a chain reached under several names (identical rule lists share one chain):
 * each part says every case the chain holds. A chain both families reach drops the family
 * (`sfw_new_tcp`, not `sfw_new_v4_tcp`); other parts list their values in the order they
 * were reached (`sfw_new_tcp_p80_p443` for a chain ports 80 and 443 share,
 * `sfw_new_untracked_v6_icmpv6` for one new and untracked connections share).
 */
function chainName(requests: readonly ChainName[]): string {
  const words: string[] = [];
  for (const kind of NAME_KINDS) {
    const values = [...new Set(requests.flatMap((r) => r.filter((p) => p.kind === kind).map((p) => p.value)))];
    if (kind === 'family' && (values.length > 1 || requests.some((r) => !r.some((p) => p.kind === 'family')))) continue;
    if (kind === 'base' && values.length > 1) {
      // the input chain's own chains have no base part (`sfw_new`): name it when others share the chain
      const bases = values.map((v) => (v === NFT_CHAIN_PREFIX ? `${NFT_CHAIN_PREFIX}_input` : v));
      words.push(bases[0], ...bases.slice(1).map((b) => b.slice(NFT_CHAIN_PREFIX.length + 1)));
      continue;
    }
    const shown = values.length > MAX_JOINED_VALUES ? [...values.slice(0, MAX_JOINED_VALUES - 1), `plus${values.length - MAX_JOINED_VALUES + 1}`] : values;
    words.push(...shown);
  }
  return words.join('_');
}

function extend(name: ChainName, ...parts: { kind: NameKind; value: string }[]): ChainName {
  return [...name, ...parts];
}

/**
 * A chain below the state level is split by a verdict map only when it holds more rules
 * than this: with the state map, the loopback rule and the family-protocol map in front,
 * 3 more rules keep every packet within 6 rules.
 */
export const MAX_LINEAR_RULES = 3;

/** Prefix of the chains the layout adds to the library's nftables table. */
export const NFT_CHAIN_PREFIX = 'sfw';

/** A value of a (possibly concatenated) map key: one state, family, protocol, port range or ICMP type per dimension. */
type KeyValue = RuleMatch;

/** Three dispatch levels: conntrack state; family and protocol; port or ICMP type. */
type Level = 'state' | 'family-protocol' | 'port' | 'icmp-type';

function familyOf(m: RuleMatch): IpFamily | undefined {
  if (m.family !== undefined) return m.family;
  if (m.protocol === Protocol.ICMP) return IpFamily.IPV4;
  if (m.protocol === Protocol.ICMPV6) return IpFamily.IPV6;
  return undefined;
}

/** What the dispatch levels above a chain guarantee about every packet reaching it. */
interface Known {
  readonly state?: ConnectionState;
  readonly family?: IpFamily;
  readonly protocol?: Protocol;
}

/** Whether every packet reaching a chain with `known` matches `m`. */
function alwaysMatches(m: RuleMatch, known: Known): boolean {
  return Object.entries(m).every(([k, v]) => {
    if (v === undefined) return true;
    if (k === 'states') return known.state !== undefined && (v as ConnectionState[]).includes(known.state);
    if (k === 'family') return v === known.family;
    if (k === 'protocol') return v === known.protocol;
    return false;
  });
}

/** A rule that decides every packet reaching it: a match the levels above guarantee, a final verdict. */
function isCatchAll(rule: Rule, known: Known): boolean {
  return alwaysMatches(rule.match, known) && (rule.verdict === Verdict.ACCEPT || rule.verdict === Verdict.DROP || rule.verdict === Verdict.REJECT);
}

/** Rules after a catch-all can never be reached. */
function truncate(rules: Rule[], known: Known): Rule[] {
  const i = rules.findIndex((r) => isCatchAll(r, known));
  return i < 0 ? rules : rules.slice(0, i + 1);
}

/** Verdicts the layout can place in a chain it splits. */
const LAYABLE_VERDICTS = [Verdict.ACCEPT, Verdict.DROP, Verdict.REJECT, Verdict.LOG, Verdict.HELPER, Verdict.NOTRACK];

/**
 * Whether the layout understands the model: base chains only (input, output, the raw and
 * helper chains), rules with final verdicts or LOG, HELPER and NOTRACK (which go on with
 * the next rule), no jumps or maps of their own.
 */
function layable(model: RulesetModel): boolean {
  const chains = model.tables.flatMap((t) => t.chains);
  if (chains.length === 0) return false;
  return chains.every((c) => c.hook !== undefined && c.rules.every((r) => LAYABLE_VERDICTS.includes(r.verdict)));
}

function portsOf(m: RuleMatch, sets: Map<string, SetDefinition>): PortRange[] | undefined {
  if (m.destinationPortSet !== undefined) {
    const def = sets.get(m.destinationPortSet);
    if (!def) throw new Error(`a rule refers to port set '${m.destinationPortSet}', which the model does not define`);
    return def.elements.map((e) => {
      const [from, to] = e.includes('-') ? e.split('-').map(Number) : [Number(e), Number(e)];
      return { from, to };
    });
  }
  return m.destinationPorts;
}

function sourcePortsOf(m: RuleMatch, sets: Map<string, SetDefinition>): PortRange[] | undefined {
  if (m.sourcePortSet !== undefined) return portsOf({ destinationPortSet: m.sourcePortSet }, sets);
  return m.sourcePorts;
}

/** Family-specific rejects and ICMP matches carry their family in nft; other rules would need `meta nfproto`. */
function familyImplied(rule: Rule): boolean {
  const m = rule.match;
  if (m.source !== undefined || m.destination !== undefined || m.hopLimit !== undefined) return true;
  if (m.protocol === Protocol.ICMP || m.protocol === Protocol.ICMPV6) return true;
  return rule.verdict === Verdict.REJECT && rule.rejectWith !== undefined && rule.rejectWith !== RejectWith.TCP_RESET;
}

/**
 * The rule without the constraints the state and family-protocol levels have already
 * checked, where nft does not need them to render the rest (a family for `ip saddr`, a
 * protocol for `tcp dport`, `tcp flags`, `icmp type`, or the `meta l4proto tcp` nft prints
 * before `reject with tcp reset`). Port and ICMP type matches stay: each rule still reads
 * as what it allows, the map only sends a packet to the rules that can match it.
 */
function strip(rule: Rule, level: Level): Rule {
  const m = { ...rule.match } as { -readonly [K in keyof RuleMatch]: RuleMatch[K] };
  if (level === 'state') {
    delete m.states;
  } else if (level === 'family-protocol') {
    if (!familyImplied(rule)) delete m.family;
    const tcpReset = rule.verdict === Verdict.REJECT && rule.rejectWith === RejectWith.TCP_RESET;
    const keyword = m.destinationPorts !== undefined || m.destinationPortSet !== undefined || m.tcpSynOnly
      || m.sourcePorts !== undefined || m.sourcePortSet !== undefined || m.icmpTypes !== undefined || m.icmpCode !== undefined;
    if (!keyword && !tcpReset) delete m.protocol;
  } else {
    return rule;
  }
  for (const k of Object.keys(m) as (keyof RuleMatch)[]) if (m[k] === undefined) delete m[k];
  return { ...rule, match: m };
}

/** Whether a rule pins down (part of) the key a level dispatches on. */
function looksAtKey(rule: Rule, level: Level, sets: Map<string, SetDefinition>): boolean {
  const m = rule.match;
  switch (level) {
    case 'state':
      return m.states !== undefined;
    case 'family-protocol':
      return familyOf(m) !== undefined || m.protocol !== undefined;
    case 'port':
      return portsOf(m, sets) !== undefined;
    case 'icmp-type':
      return m.icmpTypes !== undefined;
  }
}

/** A stable text key of a rule list (identical lists share one chain). */
function contentKey(rules: readonly Rule[]): string {
  return JSON.stringify(rules);
}

interface Dispatch {
  readonly keys: MapKey[];
  /** Every value of the key, when the map can cover them all (then nothing follows the map). */
  readonly domain?: KeyValue[];
  /** The rule's constraint on the key, as values; undefined when the rule does not constrain every key field. */
  values(rule: Rule): KeyValue[] | undefined;
  /** Whether a rule admits a key value (for rules that constrain only some key fields). */
  admits(rule: Rule, value: KeyValue): boolean;
  /** The chain name parts of a value. */
  suffix(value: KeyValue): { kind: NameKind; value: string }[];
  /** Sort key (nft lists map elements by value). */
  order(value: KeyValue): number[];
}

const STATE_DISPATCH: Dispatch = {
  keys: [MapKey.STATE],
  values: (rule) => rule.match.states?.map((s) => ({ states: [s] })),
  admits: (rule, v) => rule.match.states === undefined || rule.match.states.includes(v.states![0]),
  domain: STATE_KEY_ORDER.map((s) => ({ states: [s] })),
  suffix: (v) => [{ kind: 'state', value: v.states![0] }],
  order: (v) => [STATE_KEY_ORDER.indexOf(v.states![0])],
};

const FAMILY_PROTOCOL_DISPATCH: Dispatch = {
  keys: [MapKey.FAMILY, MapKey.PROTOCOL],
  // a protocol without a family stands for both families (inet tables see IPv4 and IPv6 only)
  values: (rule) => {
    const family = familyOf(rule.match);
    const protocol = rule.match.protocol;
    if (protocol === undefined) return undefined;
    return (family !== undefined ? [family] : [IpFamily.IPV4, IpFamily.IPV6]).map((f) => ({ family: f, protocol }));
  },
  admits: (rule, v) => {
    const family = familyOf(rule.match);
    return (family === undefined || family === v.family) && (rule.match.protocol === undefined || rule.match.protocol === v.protocol);
  },
  suffix: (v) => [{ kind: 'family', value: FAMILY_SHORT[v.family!] }, { kind: 'protocol', value: v.protocol! }],
  // nft sorts concatenated keys as one little-endian number of their bytes: protocol first
  order: (v) => [PROTOCOL_VALUE[v.protocol!], FAMILY_VALUE[v.family!]],
};

const ICMP_TYPE_DISPATCH: Dispatch = {
  keys: [MapKey.ICMP_TYPE],
  values: (rule) => rule.match.icmpTypes?.map((t) => ({ icmpTypes: [t] })),
  admits: (rule, v) => rule.match.icmpTypes === undefined || rule.match.icmpTypes.includes(v.icmpTypes![0]),
  suffix: (v) => [{ kind: 'key', value: `t${v.icmpTypes![0]}` }],
  order: (v) => [v.icmpTypes![0]],
};

/** Port dispatch: the values are the elementary segments between every rule's range edges. */
function portDispatch(rules: readonly Rule[], sets: Map<string, SetDefinition>): Dispatch {
  const cuts = new Set<number>();
  for (const r of rules) {
    for (const p of portsOf(r.match, sets) ?? []) {
      cuts.add(p.from);
      cuts.add(p.to + 1);
    }
  }
  const points = [...cuts].sort((a, b) => a - b);
  const covers = (ports: readonly PortRange[], from: number, to: number) => ports.some((p) => p.from <= from && to <= p.to);
  return {
    keys: [MapKey.DESTINATION_PORT],
    values: (rule) => {
      const ports = portsOf(rule.match, sets);
      if (!ports) return undefined;
      const out: KeyValue[] = [];
      for (let i = 0; i < points.length - 1; i++) {
        if (covers(ports, points[i], points[i + 1] - 1)) out.push({ destinationPorts: [{ from: points[i], to: points[i + 1] - 1 }] });
      }
      return out;
    },
    admits: (rule, v) => {
      const ports = portsOf(rule.match, sets);
      return ports === undefined || covers(ports, v.destinationPorts![0].from, v.destinationPorts![0].to);
    },
    suffix: (v) => [{ kind: 'key', value: `p${v.destinationPorts![0].from}` }],
    order: (v) => [v.destinationPorts![0].from],
  };
}

function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

function valueKey(v: KeyValue): string {
  return JSON.stringify(v);
}

class Builder {
  public readonly chains: Chain[] = [];
  private readonly byContent = new Map<string, string>();
  /** The names each chain was asked for (once per case that reaches it). */
  private readonly requests = new Map<string, ChainName[]>();

  public constructor(private readonly sets: Map<string, SetDefinition>) {}

  /** Lays out the rules a packet meets at a dispatch level, as a chain named `name`; returns its rules. */
  public layout(rules: Rule[], level: Level | undefined, name: ChainName, known: Known): Rule[] {
    rules = truncate(rules, known);
    if (level === undefined) return rules;
    const dispatch = this.dispatchFor(level, rules);
    // leading rules that do not look at the key stay in front of the map
    let start = 0;
    while (start < rules.length && !looksAtKey(rules[start], level, this.sets)) start++;
    const prefix = rules.slice(0, start);
    const rest = rules.slice(start);
    const constrained = rest.filter((r) => dispatch.values(r) !== undefined);
    const distinct = new Map<string, KeyValue>();
    for (const r of constrained) for (const v of dispatch.values(r)!) distinct.set(valueKey(v), v);
    // a map pays off once it tells two cases apart in one lookup; below the state level only
    // once the chain is long enough that a packet could meet more than 6 rules in all
    if (constrained.length < 2 || distinct.size < 2) return rules;
    if (level !== 'state' && rest.length <= MAX_LINEAR_RULES) return rules;
    const values = [...(dispatch.domain ?? distinct.values())].sort((a, b) => compareOrder(dispatch.order(a), dispatch.order(b)));
    // a packet whose key is not in the map meets the rules that do not pin the key down
    const tail = dispatch.domain ? [] : rest.filter((r) => dispatch.values(r) === undefined);

    const entries: VerdictMapEntry[] = [];
    let previous: { key: string; value: KeyValue } | undefined;
    for (const value of values) {
      const admitted = rest.filter((r) => dispatch.admits(r, value)).map((r) => strip(r, level));
      const below: Known = {
        ...known,
        ...(value.states ? { state: value.states[0] } : {}),
        ...(value.family ? { family: value.family } : {}),
        ...(value.protocol ? { protocol: value.protocol } : {}),
      };
      const content = this.layout(admitted, nextLevel(level, value), extend(name, ...dispatch.suffix(value)), below);
      if (content.length === 0) continue; // nothing applies: the walk ends at the policy, as in the linear chain
      const key = contentKey(content);
      if (previous && previous.key === key && adjacent(previous.value, value)) {
        // neighbouring port segments with the same rules: one interval
        const widened: KeyValue = { destinationPorts: [{ from: previous.value.destinationPorts![0].from, to: value.destinationPorts![0].to }] };
        entries[entries.length - 1] = { ...entries[entries.length - 1], match: widened };
        previous = { key, value: widened };
        continue;
      }
      const only = content[0];
      const inline = content.length === 1 && alwaysMatches(only.match, below) && (only.verdict === Verdict.ACCEPT || only.verdict === Verdict.DROP);
      entries.push(inline
        ? { match: value, verdict: only.verdict, origins: only.origins, comment: only.comment }
        : { match: value, verdict: Verdict.GOTO, target: this.chainFor(content, extend(name, ...dispatch.suffix(value))) });
      previous = { key, value };
    }
    if (entries.length === 0) return rules;
    const protocol = level === 'port' || level === 'icmp-type' ? rest.map((r) => r.match.protocol).find((p) => p !== undefined) : undefined;
    const mapRule: Rule = { match: protocol ? { protocol } : {}, verdict: Verdict.MAP, verdictMap: { keys: dispatch.keys, entries }, origins: [] };
    return truncate([...prefix, mapRule, ...tail], known);
  }

  /**
   * A chain that holds only TCP and UDP rules on ports (the raw and helper chains) behind
   * one `meta l4proto . th dport vmap` (or `th sport`): a packet none of its rules can match
   * leaves after one rule, the others meet only the rules for their protocol and port.
   * Returns undefined when a rule has no protocol or ports to key on.
   */
  public gate(rules: Rule[], name: ChainName): Rule[] | undefined {
    if (rules.length < 2) return undefined;
    const field = rules.every((r) => portsOf(r.match, this.sets) !== undefined) ? 'destination'
      : rules.every((r) => sourcePortsOf(r.match, this.sets) !== undefined) ? 'source' : undefined;
    if (!field) return undefined;
    if (!rules.every((r) => r.match.protocol === Protocol.TCP || r.match.protocol === Protocol.UDP)) return undefined;
    const ports = (r: Rule) => (field === 'destination' ? portsOf(r.match, this.sets) : sourcePortsOf(r.match, this.sets))!;
    const entries: { protocol: Protocol; range: PortRange; content: Rule[] }[] = [];
    for (const protocol of [Protocol.TCP, Protocol.UDP]) {
      const own = rules.filter((r) => r.match.protocol === protocol);
      const cuts = [...new Set(own.flatMap((r) => ports(r).flatMap((p) => [p.from, p.to + 1])))].sort((a, b) => a - b);
      for (let i = 0; i < cuts.length - 1; i++) {
        const range = { from: cuts[i], to: cuts[i + 1] - 1 };
        const content = own.filter((r) => ports(r).some((p) => p.from <= range.from && range.to <= p.to));
        if (content.length === 0) continue;
        const last = entries[entries.length - 1];
        if (last && last.protocol === protocol && last.range.to + 1 === range.from && contentKey(last.content) === contentKey(content)) {
          last.range = { from: last.range.from, to: range.to };
        } else {
          entries.push({ protocol, range, content });
        }
      }
    }
    // nft lists a hash map (single ports) by the key's bytes read as one little-endian number
    // (low port byte, high port byte, protocol); an interval map in the order it was given
    const intervals = entries.some((e) => e.range.from !== e.range.to);
    const order = (e: typeof entries[number]) => (intervals
      ? [PROTOCOL_VALUE[e.protocol], e.range.from]
      : [e.range.from & 255, e.range.from >> 8, PROTOCOL_VALUE[e.protocol]]);
    entries.sort((a, b) => compareOrder(order(a), order(b)));
    const portKey = field === 'destination' ? MapKey.TRANSPORT_DESTINATION_PORT : MapKey.TRANSPORT_SOURCE_PORT;
    const mapEntries: VerdictMapEntry[] = entries.map((e) => ({
      match: field === 'destination' ? { protocol: e.protocol, destinationPorts: [e.range] } : { protocol: e.protocol, sourcePorts: [e.range] },
      verdict: Verdict.GOTO,
      target: this.chainFor(e.content, extend(name, { kind: 'key', value: `${e.protocol}${e.range.from}` })),
    }));
    return [{ match: {}, verdict: Verdict.MAP, verdictMap: { keys: [MapKey.PROTOCOL, portKey], entries: mapEntries }, origins: [] }];
  }

  private dispatchFor(level: Level, rules: readonly Rule[]): Dispatch {
    switch (level) {
      case 'state':
        return STATE_DISPATCH;
      case 'family-protocol':
        return FAMILY_PROTOCOL_DISPATCH;
      case 'icmp-type':
        return ICMP_TYPE_DISPATCH;
      case 'port':
        return portDispatch(rules, this.sets);
    }
  }

  /**
   * The chains with their final names: each named after every case that reaches it
   * (`chainName`), unique (`_2`, ... on a clash), with the rules' targets renamed too.
   */
  public named(): Chain[] {
    const rename = new Map<string, string>();
    const used = new Set<string>();
    for (const chain of this.chains) {
      const base = chainName(this.requests.get(chain.name)!);
      let unique = base;
      for (let i = 2; used.has(unique); i++) unique = `${base}_${i}`;
      used.add(unique);
      rename.set(chain.name, unique);
    }
    return this.chains.map((c) => ({ ...c, name: rename.get(c.name)!, rules: renameTargets(c.rules, rename) }));
  }

  /** A placeholder name (renamed by `named`) for the chain holding `rules`, shared by identical rule lists. */
  private chainFor(rules: Rule[], name: ChainName): string {
    const key = contentKey(rules);
    const existing = this.byContent.get(key);
    if (existing) {
      this.requests.get(existing)!.push(name);
      return existing;
    }
    // placeholders keep the content keys of the chains that lead here as unique as the final names
    const placeholder = `${PLACEHOLDER}${this.chains.length}`;
    this.byContent.set(key, placeholder);
    this.requests.set(placeholder, [name]);
    this.chains.push({ name: placeholder, rules });
    return placeholder;
  }
}

/** Chain names while the layout runs (no chain name of the library starts with a space). */
const PLACEHOLDER = ' chain#';

function renameTargets(rules: Rule[], rename: Map<string, string>): Rule[] {
  const to = <T extends { readonly target?: string }>(x: T): T => (x.target !== undefined ? { ...x, target: rename.get(x.target) ?? x.target } : x);
  return rules.map((r) => (r.verdictMap ? { ...r, verdictMap: { ...r.verdictMap, entries: r.verdictMap.entries.map(to) } } : to(r)));
}

/** The level after `level` for the packets with key `value`. */
function nextLevel(level: Level, value: KeyValue): Level | undefined {
  switch (level) {
    case 'state':
      return 'family-protocol';
    case 'family-protocol':
      if (value.protocol === Protocol.TCP || value.protocol === Protocol.UDP) return 'port';
      if (value.protocol === Protocol.ICMP || value.protocol === Protocol.ICMPV6) return 'icmp-type';
      return undefined;
    default:
      return undefined;
  }
}

function adjacent(a: KeyValue, b: KeyValue): boolean {
  const pa = a.destinationPorts?.[0];
  const pb = b.destinationPorts?.[0];
  return pa !== undefined && pb !== undefined && pa.to + 1 === pb.from;
}

/**
 * Lays the neutral model out for nftables so that every packet is decided in a few rules
 * whatever the policy's size: the input chain dispatches on the conntrack state with one
 * verdict map (`ct state vmap { established : accept, related : accept, invalid : goto
 * ..., new : goto ..., untracked : goto ... }`), the chain for new connections on family
 * and protocol (`meta nfproto . meta l4proto vmap`), and a protocol's chain, when it holds
 * several openings, on the destination port or ICMP type (`tcp dport vmap`). Each case's
 * chain holds the rules that can still match, in their original order, ending with the
 * default action; peers are one set lookup. First-match order is kept: a case's chain
 * lists exactly the rules of the linear chain that admit the case. Chains are reached by
 * `goto`, so a chain that ends without a verdict ends the walk (the base policy), as the
 * linear chain would. Models the layout does not understand are returned unchanged.
 */
export function nftablesLayout(model: RulesetModel): RulesetModel {
  if (!layable(model)) return model;
  const builder = new Builder(new Map((model.sets ?? []).map((s) => [s.name, s])));
  const seen = new Set<string>();
  const tables = model.tables.map((table) => {
    const bases = table.chains.map((chain) => {
      // the input chain keeps the short names (`sfw_new`, ...); other base chains name theirs after themselves
      // the forward chain of published container ports stays linear: a few rules, keyed on the original port the maps do not read
      if (chain.hook === ChainHook.FORWARD) return chain;
      const name: ChainName = [{ kind: 'base', value: chain.hook === ChainHook.INPUT && table.name !== 'raw' ? NFT_CHAIN_PREFIX : `${NFT_CHAIN_PREFIX}_${chain.name}` }];
      // chains before conntrack (and the helper chain) do not look at the state: they start at family and protocol
      const level: Level = chain.rules.some((r) => r.match.states !== undefined) ? 'state' : 'family-protocol';
      const gated = level === 'family-protocol' ? builder.gate(chain.rules, name) : undefined;
      return { ...chain, rules: gated ?? builder.layout(chain.rules, level, name, {}) };
    });
    return { name: table.name, chains: bases };
  });
  const chains = builder.named();
  const rename = new Map(builder.chains.map((c, i) => [c.name, chains[i].name]));
  for (const t of tables) t.chains = t.chains.map((c) => ({ ...c, rules: renameTargets(c.rules, rename) }));
  // each table lists its base chains, then the chains they lead to (a chain two tables share is listed once)
  const laid: RulesetModel = {
    tables: tables.map((t) => ({ name: t.name, chains: topDown([...t.chains, ...chains], t.chains.length, seen) })),
  };
  return withReferencedSets(laid, model.sets);
}

/**
 * The chains in the order a reader follows them: the first `bases` chains (base chains),
 * each followed by the chains it leads to (depth first). Chains already in `seen` are skipped.
 */
function topDown(chains: Chain[], bases: number, seen: Set<string>): Chain[] {
  const byName = new Map(chains.map((c) => [c.name, c]));
  const out: Chain[] = [];
  const visit = (chain: Chain) => {
    if (seen.has(chain.name)) return;
    seen.add(chain.name);
    out.push(chain);
    for (const rule of chain.rules) {
      const targets = rule.verdictMap ? rule.verdictMap.entries.map((e) => e.target) : [rule.target];
      for (const t of targets) if (t !== undefined && byName.has(t)) visit(byName.get(t)!);
    }
  };
  for (const c of chains.slice(0, bases)) visit(c);
  return out;
}
