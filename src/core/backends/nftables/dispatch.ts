import { ConnectionState } from '../../ir/connection-state';
import { RejectWith } from '../../ir/reject-with';
import { Rule } from '../../ir/rule';
import { PortRange, RuleMatch } from '../../ir/rule-match';
import { RulesetModel } from '../../ir/ruleset-model';
import { SetDefinition } from '../../ir/set-definition';
import { Verdict } from '../../ir/verdict';
import { IpFamily } from '../../values/family';
import { Protocol } from '../../values/protocol';

// What the dispatch levels of the nftables layout know about rules and packets.

/**
 * Conntrack states in the order nft lists them in a map (by the value of their bit:
 * invalid 1, established 2, related 4, new 8, untracked 64).
 */
export const STATE_KEY_ORDER = [
  ConnectionState.INVALID, ConnectionState.ESTABLISHED, ConnectionState.RELATED, ConnectionState.NEW, ConnectionState.UNTRACKED,
];

/** `meta l4proto` values (IANA protocol numbers). */
export const PROTOCOL_VALUE: Record<Protocol, number> = { [Protocol.ICMP]: 1, [Protocol.TCP]: 6, [Protocol.UDP]: 17, [Protocol.ICMPV6]: 58 };

/** The family and protocol cases the transport level keys on, in the order nft lists them. */
export const TRANSPORT_CASES: readonly { family: IpFamily; protocol: Protocol }[] = [
  { family: IpFamily.IPV4, protocol: Protocol.ICMP },
  { family: IpFamily.IPV4, protocol: Protocol.TCP },
  { family: IpFamily.IPV4, protocol: Protocol.UDP },
  { family: IpFamily.IPV6, protocol: Protocol.TCP },
  { family: IpFamily.IPV6, protocol: Protocol.UDP },
  { family: IpFamily.IPV6, protocol: Protocol.ICMPV6 },
];

export function familyOf(m: RuleMatch): IpFamily | undefined {
  if (m.family !== undefined) return m.family;
  if (m.protocol === Protocol.ICMP) return IpFamily.IPV4;
  if (m.protocol === Protocol.ICMPV6) return IpFamily.IPV6;
  return undefined;
}

/** What the dispatch levels above a chain guarantee about every packet reaching it. */
export interface Known {
  readonly state?: ConnectionState;
  readonly family?: IpFamily;
  readonly protocol?: Protocol;
}

/** Whether every packet reaching a chain with `known` matches `m`. */
export function alwaysMatches(m: RuleMatch, known: Known): boolean {
  return Object.entries(m).every(([k, v]) => {
    if (v === undefined) return true;
    if (k === 'states') return known.state !== undefined && (v as ConnectionState[]).includes(known.state);
    if (k === 'family') return v === known.family;
    if (k === 'protocol') return v === known.protocol;
    return false;
  });
}

/** A rule that decides every packet reaching it: a match the levels above guarantee, a final verdict. */
export function isCatchAll(rule: Rule, known: Known): boolean {
  return alwaysMatches(rule.match, known) && (rule.verdict === Verdict.ACCEPT || rule.verdict === Verdict.DROP || rule.verdict === Verdict.REJECT);
}

/** Rules after a catch-all can never be reached. */
export function truncate(rules: Rule[], known: Known): Rule[] {
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
export function layable(model: RulesetModel): boolean {
  const chains = model.tables.flatMap((t) => t.chains);
  if (chains.length === 0) return false;
  return chains.every((c) => c.hook !== undefined && c.rules.every((r) => LAYABLE_VERDICTS.includes(r.verdict)));
}

/** The destination ports of a rule (from its port set when it names one), sorted by `from`. */
export function portsOf(m: RuleMatch, sets: Map<string, SetDefinition>): PortRange[] | undefined {
  if (m.destinationPortSet !== undefined) {
    const def = sets.get(m.destinationPortSet);
    if (!def) throw new Error(`a rule refers to port set '${m.destinationPortSet}', which the model does not define`);
    return def.elements.map((e) => {
      const [from, to] = e.includes('-') ? e.split('-').map(Number) : [Number(e), Number(e)];
      return { from, to };
    }).sort((a, b) => a.from - b.from);
  }
  return m.destinationPorts ? [...m.destinationPorts].sort((a, b) => a.from - b.from) : undefined;
}

export function sourcePortsOf(m: RuleMatch, sets: Map<string, SetDefinition>): PortRange[] | undefined {
  if (m.sourcePortSet !== undefined) return portsOf({ destinationPortSet: m.sourcePortSet }, sets);
  return m.sourcePorts;
}

/**
 * The elementary port segments (0 to 65535) between the edges of `lists`, and for each
 * list the indexes of the segments it covers: one sort and one merge per list.
 */
export function portSegments(lists: readonly PortRange[][]): { segments: PortRange[]; covered: Uint8Array[] } {
  const cuts = new Set<number>([0]);
  for (const l of lists) {
    for (const p of l) {
      cuts.add(p.from);
      if (p.to < 65535) cuts.add(p.to + 1);
    }
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments = points.map((from, i) => ({ from, to: i + 1 < points.length ? points[i + 1] - 1 : 65535 }));
  const covered = lists.map((l) => {
    const mask = new Uint8Array(segments.length);
    let s = 0;
    for (const p of l) {
      while (s < segments.length && segments[s].from < p.from) s++;
      while (s < segments.length && segments[s].to <= p.to) mask[s++] = 1;
    }
    return mask;
  });
  return { segments, covered };
}

/** Family-specific rejects and ICMP matches carry their family in nft; other rules would need `meta nfproto`. */
export function familyImplied(rule: Rule): boolean {
  const m = rule.match;
  if (m.source !== undefined || m.destination !== undefined || m.hopLimit !== undefined) return true;
  if (m.protocol === Protocol.ICMP || m.protocol === Protocol.ICMPV6) return true;
  return rule.verdict === Verdict.REJECT && rule.rejectWith !== undefined && rule.rejectWith !== RejectWith.TCP_RESET;
}

type Mutable = { -readonly [K in keyof RuleMatch]: RuleMatch[K] };

function tidy(rule: Rule, m: Mutable): Rule {
  for (const k of Object.keys(m) as (keyof RuleMatch)[]) if (m[k] === undefined) delete m[k];
  return { ...rule, match: m };
}

/** The rule without its state match (the state map checked it). */
export function stripState(rule: Rule): Rule {
  const m: Mutable = { ...rule.match };
  delete m.states;
  return tidy(rule, m);
}

/**
 * The rule with `m` as its match, less what the rest of it implies: the family when the
 * match implies it, the protocol when no protocol keyword (ports, SYN, ICMP type) or TCP
 * reset needs it.
 */
function withoutImpliedMatches(rule: Rule, m: Mutable): Rule {
  if (!familyImplied({ ...rule, match: m })) delete m.family;
  const tcpReset = rule.verdict === Verdict.REJECT && rule.rejectWith === RejectWith.TCP_RESET;
  const keyword = m.destinationPorts !== undefined || m.destinationPortSet !== undefined || m.tcpSynOnly
    || m.sourcePorts !== undefined || m.sourcePortSet !== undefined || m.icmpTypes !== undefined || m.icmpCode !== undefined;
  if (!keyword && !tcpReset) delete m.protocol;
  return tidy(rule, m);
}

/**
 * The rule without what the transport map has checked (family, protocol, destination
 * ports covering the whole segment), where nft does not need them to render the rest (a
 * family for `ip saddr`, a protocol for `tcp flags`, `icmp type`, `reject with tcp reset`).
 */
export function stripTransport(rule: Rule, portsCovered: boolean): Rule {
  const m: Mutable = { ...rule.match };
  if (portsCovered) {
    delete m.destinationPorts;
    delete m.destinationPortSet;
  }
  return withoutImpliedMatches(rule, m);
}

/** The rule without its source (the source map checked it) and, if `syn`, without its bare-SYN match. */
export function stripSource(rule: Rule, source: boolean, syn: boolean): Rule {
  const m: Mutable = { ...rule.match };
  if (source) delete m.source;
  if (syn) delete m.tcpSynOnly;
  return withoutImpliedMatches(rule, m);
}

/**
 * The rules with their leading unconditional helper rules attached to every opening that
 * accepts (`ct helper set ... accept`): the helper only matters for a connection the host
 * accepts, and is set there before conntrack confirms it.
 */
export function foldHelpers(rules: Rule[], known: Known): Rule[] {
  const first = rules[0];
  if (first === undefined || first.verdict !== Verdict.HELPER) return rules;
  const rest = rules.slice(1);
  const accepts = rest.filter((r) => r.verdict === Verdict.ACCEPT);
  // no opening after it: the connection is never accepted here, the helper does nothing
  if (accepts.length === 0) return foldHelpers(rest, known);
  // every opening that can accept a packet matches at least what the helper rule matches (or the helper rule matches everything)
  const field = (r: Rule, k: string) => JSON.stringify((r.match as Record<string, unknown>)[k]);
  const within = (r: Rule) => Object.entries(first.match).every(([k, v]) => field(r, k) === JSON.stringify(v));
  if (!alwaysMatches(first.match, known) && !(accepts.length > 0 && accepts.every(within))) return rules;
  return foldHelpers(rest, known).map((r) => (r.verdict === Verdict.ACCEPT ? { ...r, helper: first.helper } : r));
}

/** An ICMP rule's types and code as `th sport` ranges (`type << 8 | code`); undefined when it names no type. */
export function icmpRanges(rule: Rule): PortRange[] | undefined {
  const m = rule.match;
  if (m.icmpTypes === undefined) return undefined;
  return [...m.icmpTypes].sort((a, b) => a - b).map((t) => (m.icmpCode !== undefined
    ? { from: (t << 8) | m.icmpCode, to: (t << 8) | m.icmpCode }
    : { from: t << 8, to: (t << 8) | 255 }));
}
