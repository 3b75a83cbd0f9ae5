import type { CompiledRuleset } from '../compiled-ruleset';
import { RejectWith } from '../ir/reject-with';
import { Rule } from '../ir/rule';
import { PortRange } from '../ir/rule-match';
import { SetDefinition } from '../ir/set-definition';
import { Verdict } from '../ir/verdict';
import { Protocol } from '../values/protocol';

/**
 * One line of the explain table: who (peer and family) can do what (protocol, ports,
 * state) with which result, and which declarations asked for it.
 */
export interface ExplainRow {
  /** Position of the rule in the host's input chain (1-based). */
  readonly position: number;
  /** `IPv4`, `IPv6` or `both`. */
  readonly family: string;
  /** The peers: CIDRs and ranges, or `any`; a set's first elements, its size and name. */
  readonly peers: string;
  /** Protocol and ports, e.g. `tcp 80,443`, `udp 6000-6010`, `icmpv6 133,134,135,136`, or `any`. */
  readonly traffic: string;
  /** The connection states the row covers, e.g. `new` or `established, related`. */
  readonly state: string;
  /** `accept`, `drop`, or `reject (tcp-reset)` and the like. */
  readonly verdict: string;
  /** The construct paths that declared it. */
  readonly origins: string[];
}

function ports(list: PortRange[] | undefined): string {
  if (!list) return 'all ports';
  return list.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');
}

/** A set's elements for the table: all of them when few, else the first ones and the count. */
function setSummary(name: string, sets: Map<string, SetDefinition>, separator: string, shown: number): string {
  const set = sets.get(name);
  if (!set) return `@${name}`;
  if (set.lateMembers && set.elements.length === 0) {
    return `members of ${[...new Set(set.lateMembers.map((m) => m.label))].join(', ')}, known at deploy (set ${name})`;
  }
  const head = set.elements.slice(0, shown).join(separator);
  return set.elements.length <= shown ? `${head} (set ${name})` : `${head}${separator}... (${set.elements.length} in set ${name})`;
}

function traffic(rule: Rule, sets: Map<string, SetDefinition>): string {
  const m = rule.match;
  const parts: string[] = [];
  if (m.inInterface) parts.push(`via ${m.inInterface}`);
  if (m.protocol === Protocol.TCP || m.protocol === Protocol.UDP) {
    const list = m.destinationPortSet ? setSummary(m.destinationPortSet, sets, ',', 8) : ports(m.destinationPorts);
    parts.push(`${m.protocol} ${list}${m.tcpSynOnly ? ' (SYN)' : ''}`);
  } else if (m.protocol) {
    const code = m.icmpCode === undefined ? '' : `/${m.icmpCode}`;
    parts.push(`${m.protocol}${m.icmpTypes ? ` type ${m.icmpTypes.join(',')}${code}` : ''}${m.hopLimit !== undefined ? ` hop limit ${m.hopLimit}` : ''}`);
  }
  const rate = (l: { rate: number; unit: string }) => `${l.rate}/${l.unit}`;
  if (m.sourceRateOver) parts.push(`over ${rate(m.sourceRateOver.limit)} per source`);
  if (m.sourceConnectionsOver) parts.push(`over ${m.sourceConnectionsOver.above} connections per source`);
  if (m.rateOver) parts.push(`over ${rate(m.rateOver.limit)} from all sources`);
  if (m.limit) parts.push(`up to ${rate(m.limit)}`);
  return parts.length > 0 ? parts.join(' ') : 'any';
}

function verdict(rule: Rule): string {
  if (rule.verdict === Verdict.REJECT) return `reject (${rule.rejectWith ?? RejectWith.PORT_UNREACHABLE})`;
  if (rule.verdict === Verdict.JUMP) return `jump ${rule.target}`;
  return rule.verdict;
}

function family(rule: Rule): string {
  if (rule.match.family === undefined) return 'both';
  return rule.match.family === 'ipv4' ? 'IPv4' : 'IPv6';
}

function pad(cells: string[][]): string[] {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

const HEADER = ['#', 'family', 'from', 'traffic', 'state', 'verdict', 'declared by'];

/**
 * A per-host table of who can reach what, in rule order, for review and snapshots.
 */
export class Explain {
  /** The rows of a host's table: one per rule of its input chain. */
  public static rows(ruleset: CompiledRuleset): ExplainRow[] {
    const chain = ruleset.model.tables.flatMap((t) => t.chains).find((c) => c.hook === 'input');
    if (!chain) return [];
    const sets = new Map((ruleset.model.sets ?? []).map((s) => [s.name, s]));
    return chain.rules.map((rule, i) => ({
      position: i + 1,
      family: family(rule),
      peers: rule.match.source?.set ? setSummary(rule.match.source.set, sets, ', ', 3) : rule.match.source?.elements?.join(', ') ?? 'any',
      traffic: traffic(rule, sets),
      state: rule.match.states ? rule.match.states.join(', ') : 'any',
      verdict: verdict(rule),
      origins: rule.origins,
    }));
  }

  /** The table as aligned plain text, with the host's name as a title. */
  public static text(ruleset: CompiledRuleset): string {
    const cells = [HEADER, ...Explain.rows(ruleset).map((r) => [String(r.position), r.family, r.peers, r.traffic, r.state, r.verdict, r.origins.join(' ')])];
    return `${ruleset.hostName}\n${pad(cells).join('\n')}\n`;
  }

  /** The table as Markdown, with the host's name as a heading. */
  public static markdown(ruleset: CompiledRuleset): string {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    const lines = [
      `### ${ruleset.hostName}`,
      '',
      `| ${HEADER.join(' | ')} |`,
      `| ${HEADER.map(() => '---').join(' | ')} |`,
      ...Explain.rows(ruleset).map((r) => `| ${[String(r.position), r.family, r.peers, r.traffic, r.state, r.verdict, r.origins.map((o) => `\`${o}\``).join(' ')].map(esc).join(' | ')} |`),
    ];
    return `${lines.join('\n')}\n`;
  }
}
