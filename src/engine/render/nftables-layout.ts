import { IpFamily } from '../family';
import { Chain } from '../model/chain';
import { ChainHook } from '../model/chain-hook';
import { ConnectionState } from '../model/connection-state';
import { RejectWith } from '../model/reject-with';
import { Rule } from '../model/rule';
import { PortRange, RuleMatch } from '../model/rule-match';
import { RulesetModel } from '../model/ruleset-model';
import { SetDefinition } from '../model/set-definition';
import { Verdict } from '../model/verdict';
import { MapKey, VerdictMapEntry } from '../model/verdict-map';
import { Protocol } from '../protocol';
import { withReferencedSets } from './iptables-layout';

/**
 * Conntrack states in the order nft lists them in a map (by the value of their bit:
 * invalid 1, established 2, related 4, new 8, untracked 64).
 */
export const STATE_KEY_ORDER = [ConnectionState.INVALID, ConnectionState.ESTABLISHED, ConnectionState.RELATED, ConnectionState.NEW, ConnectionState.UNTRACKED];

/** `meta nfproto` values: ipv4 is 2, ipv6 is 10. */
const FAMILY_VALUE: Record<IpFamily, number> = { [IpFamily.IPV4]: 2, [IpFamily.IPV6]: 10 };
/** `meta l4proto` values (IANA protocol numbers). */
export const PROTOCOL_VALUE: Record<Protocol, number> = { [Protocol.ICMP]: 1, [Protocol.TCP]: 6, [Protocol.UDP]: 17, [Protocol.ICMPV6]: 58 };

const FAMILY_SHORT: Record<IpFamily, string> = { [IpFamily.IPV4]: 'v4', [IpFamily.IPV6]: 'v6' };

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

function isEmptyMatch(m: RuleMatch): boolean {
  return Object.values(m).every((v) => v === undefined);
}

/** A rule that decides every packet reaching it: no match, a final verdict. */
function isCatchAll(rule: Rule): boolean {
  return isEmptyMatch(rule.match) && (rule.verdict === Verdict.ACCEPT || rule.verdict === Verdict.DROP || rule.verdict === Verdict.REJECT);
}

/** Rules after a catch-all can never be reached. */
function truncate(rules: Rule[]): Rule[] {
  const i = rules.findIndex(isCatchAll);
  return i < 0 ? rules : rules.slice(0, i + 1);
}

/** Whether the layout understands the model: one filter table, one input base chain, final verdicts only. */
function layable(model: RulesetModel): boolean {
  if (model.tables.length !== 1 || model.tables[0].chains.length !== 1) return false;
  const chain = model.tables[0].chains[0];
  if (chain.hook !== ChainHook.INPUT) return false;
  return chain.rules.every((r) => [Verdict.ACCEPT, Verdict.DROP, Verdict.REJECT].includes(r.verdict) && r.match.outInterface === undefined);
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

/** Family-specific rejects and ICMP matches carry their family in nft; other rules would need `meta nfproto`. */
function familyImplied(rule: Rule): boolean {
  const m = rule.match;
  if (m.source !== undefined || m.destination !== undefined) return true;
  if (m.protocol === Protocol.ICMP || m.protocol === Protocol.ICMPV6) return true;
  return rule.verdict === Verdict.REJECT && rule.rejectWith !== undefined && rule.rejectWith !== RejectWith.TCP_RESET;
}

/**
 * The rule without the constraints a dispatch level has already checked, where nft does
 * not need them to render the rest (a family for `ip saddr`, a protocol for `tcp dport`,
 * `tcp flags`, `icmp code`, or the `meta l4proto tcp` nft prints before `reject with tcp reset`).
 */
function strip(rule: Rule, level: Level): Rule {
  const m = { ...rule.match } as { -readonly [K in keyof RuleMatch]: RuleMatch[K] };
  switch (level) {
    case 'state':
      delete m.states;
      break;
    case 'family-protocol': {
      if (!familyImplied(rule)) delete m.family;
      const tcpReset = rule.verdict === Verdict.REJECT && rule.rejectWith === RejectWith.TCP_RESET;
      const keyword = m.destinationPorts !== undefined || m.destinationPortSet !== undefined || m.tcpSynOnly || m.icmpTypes !== undefined || m.icmpCode !== undefined;
      if (!keyword && !tcpReset) delete m.protocol;
      break;
    }
    case 'port':
      delete m.destinationPorts;
      delete m.destinationPortSet;
      if (!m.tcpSynOnly && !(rule.verdict === Verdict.REJECT && rule.rejectWith === RejectWith.TCP_RESET)) delete m.protocol;
      break;
    case 'icmp-type':
      delete m.icmpTypes;
      if (m.icmpCode === undefined) delete m.protocol;
      break;
  }
  for (const k of Object.keys(m) as (keyof RuleMatch)[]) if (m[k] === undefined) delete m[k];
  return { ...rule, match: m };
}

/** A stable text key of a rule list (identical lists share one chain). */
function contentKey(rules: readonly Rule[]): string {
  return JSON.stringify(rules);
}

interface Dispatch {
  readonly keys: MapKey[];
  /** The rule's constraint on the key, as values; undefined when the rule does not constrain every key field. */
  values(rule: Rule): KeyValue[] | undefined;
  /** Whether a rule admits a key value (for rules that constrain only some key fields). */
  admits(rule: Rule, value: KeyValue): boolean;
  /** Every value of the key, when the map can cover them all (then nothing follows the map). */
  domain?: KeyValue[];
  /** The chain name suffix of a value. */
  suffix(value: KeyValue): string;
  /** Sort key (nft lists map elements by value). */
  order(value: KeyValue): number[];
}

const STATE_DISPATCH: Dispatch = {
  keys: [MapKey.STATE],
  values: (rule) => rule.match.states?.map((s) => ({ states: [s] })),
  admits: (rule, v) => rule.match.states === undefined || rule.match.states.includes(v.states![0]),
  domain: STATE_KEY_ORDER.map((s) => ({ states: [s] })),
  suffix: (v) => v.states![0],
  order: (v) => [STATE_KEY_ORDER.indexOf(v.states![0])],
};

const FAMILY_PROTOCOL_DISPATCH: Dispatch = {
  keys: [MapKey.FAMILY, MapKey.PROTOCOL],
  values: (rule) => {
    const family = familyOf(rule.match);
    const protocol = rule.match.protocol;
    return family !== undefined && protocol !== undefined ? [{ family, protocol }] : undefined;
  },
  admits: (rule, v) => {
    const family = familyOf(rule.match);
    return (family === undefined || family === v.family) && (rule.match.protocol === undefined || rule.match.protocol === v.protocol);
  },
  suffix: (v) => `${FAMILY_SHORT[v.family!]}_${v.protocol}`,
  order: (v) => [FAMILY_VALUE[v.family!], PROTOCOL_VALUE[v.protocol!]],
};

const ICMP_TYPE_DISPATCH: Dispatch = {
  keys: [MapKey.ICMP_TYPE],
  values: (rule) => rule.match.icmpTypes?.map((t) => ({ icmpTypes: [t] })),
  admits: (rule, v) => rule.match.icmpTypes === undefined || rule.match.icmpTypes.includes(v.icmpTypes![0]),
  suffix: (v) => `t${v.icmpTypes![0]}`,
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
    suffix: (v) => `p${v.destinationPorts![0].from}`,
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
  private readonly used = new Set<string>();

  public constructor(private readonly sets: Map<string, SetDefinition>) {}

  /** Lays out the rules a packet meets after the given dispatch level, as a chain; returns its rules. */
  public layout(rules: Rule[], level: Level | undefined, name: string): Rule[] {
    rules = truncate(rules);
    if (level === undefined) return rules;
    const dispatch = this.dispatchFor(level, rules);
    if (!dispatch) return rules;
    // leading rules that do not look at the key stay in front of the map
    let start = 0;
    while (start < rules.length && dispatch.keys.every(() => dispatch.values(rules[start]) === undefined) && !this.partlyConstrained(rules[start], level)) start++;
    const prefix = rules.slice(0, start);
    const rest = rules.slice(start);
    const constrained = rest.filter((r) => dispatch.values(r) !== undefined);
    const distinct = new Map<string, KeyValue>();
    for (const r of constrained) for (const v of dispatch.values(r)!) distinct.set(valueKey(v), v);
    // a map pays off once two cases can be told apart in one lookup
    if (constrained.length < 2 || distinct.size < 2) return rules;
    const values = dispatch.domain ?? [...distinct.values()];
    values.sort((a, b) => compareOrder(dispatch.order(a), dispatch.order(b)));
    const complete = dispatch.domain !== undefined;
    const tail = complete ? [] : rest.filter((r) => dispatch.values(r) === undefined);

    const entries: VerdictMapEntry[] = [];
    const origins: { origins: string[]; comment?: string }[] = [];
    let previous: { key: string; entry: VerdictMapEntry; value: KeyValue } | undefined;
    for (const value of values) {
      const admitted = rest.filter((r) => dispatch.admits(r, value)).map((r) => strip(r, level));
      const content = this.layout(admitted, this.nextLevel(level, value), `${name}_${dispatch.suffix(value)}`);
      if (content.length === 0) continue;
      // cases with the same content as the rules after the map need no element
      if (!complete && contentKey(content) === contentKey(truncate(tail))) continue;
      const key = contentKey(content);
      const merged = previous && previous.key === key && adjacent(previous.value, value);
      if (merged) {
        const from = previous!.value.destinationPorts![0].from;
        const to = value.destinationPorts![0].to;
        const widened = { destinationPorts: [{ from, to }] };
        entries[entries.length - 1] = { ...previous!.entry, match: widened };
        previous = { key, entry: entries[entries.length - 1], value: widened };
        continue;
      }
      let entry: VerdictMapEntry;
      if (content.length === 1 && isEmptyMatch(content[0].match) && (content[0].verdict === Verdict.ACCEPT || content[0].verdict === Verdict.DROP)) {
        entry = { match: value, verdict: content[0].verdict, origins: content[0].origins, comment: content[0].comment } as VerdictMapEntry;
      } else {
        entry = { match: value, verdict: Verdict.GOTO, target: this.chainFor(content, `${name}_${dispatch.suffix(value)}`) };
      }
      entries.push(entry);
      origins.push({ origins: content[0].origins, comment: content[0].comment });
      previous = { key, entry, value };
    }
    if (entries.length === 0) return rules;
    const protocol = level === 'port' || level === 'icmp-type' ? rules.map((r) => r.match.protocol).find((p) => p !== undefined) : undefined;
    const mapRule: Rule = { match: protocol ? { protocol } : {}, verdict: Verdict.MAP, verdictMap: { keys: dispatch.keys, entries }, origins: [] };
    return truncate([...prefix, mapRule, ...tail]);
  }

  private partlyConstrained(rule: Rule, level: Level): boolean {
    if (level !== 'family-protocol') return false;
    return familyOf(rule.match) !== undefined || rule.match.protocol !== undefined;
  }

  private dispatchFor(level: Level, rules: readonly Rule[]): Dispatch | undefined {
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

  private nextLevel(level: Level, value: KeyValue): Level | undefined {
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

  private chainFor(rules: Rule[], name: string): string {
    const key = contentKey(rules);
    const existing = this.byContent.get(key);
    if (existing) return existing;
    let unique = name;
    for (let i = 2; this.used.has(unique); i++) unique = `${name}_${i}`;
    this.used.add(unique);
    this.byContent.set(key, unique);
    this.chains.push({ name: unique, rules });
    return unique;
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
  const table = model.tables[0];
  const input = table.chains[0];
  const builder = new Builder(new Map((model.sets ?? []).map((s) => [s.name, s])));
  const rules = builder.layout(input.rules, 'state', NFT_CHAIN_PREFIX);
  const laid: RulesetModel = { tables: [{ name: table.name, chains: [{ ...input, rules }, ...builder.chains] }] };
  return withReferencedSets(laid, model.sets);
}
