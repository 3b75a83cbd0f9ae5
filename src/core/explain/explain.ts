import { Backend } from '../backends/backend';
import { backendFor } from '../backends/registry';
import type { CompiledRuleset } from '../compiled-ruleset';
import { Chain, ChainPriority } from '../ir/chain';
import { ChainHook } from '../ir/chain-hook';
import { RejectWith } from '../ir/reject-with';
import { Rule } from '../ir/rule';
import { AddressMatch, PortRange } from '../ir/rule-match';
import { SetDefinition } from '../ir/set-definition';
import { Verdict } from '../ir/verdict';
import { ConntrackSizing } from '../policy/conntrack-sizing';
import { Protocol } from '../values/protocol';

/**
 * One line of the explain table: in which chain, who (peer and family) can do what
 * (protocol, ports, state) with which result, and which declarations asked for it.
 */
export interface ExplainRow {
  /**
   * The chain the rule is in, by its name in the compiled model: `input` (what reaches
   * the host), `output` (what the host sends, with outbound filtering), `raw_prerouting`
   * and `raw_output` (before connection tracking: untracked services), `prerouting`
   * (conntrack helpers), `published` (the forward chain of published container ports).
   */
  readonly chain: string;
  /** Position of the rule in its chain (1-based). */
  readonly position: number;
  /** `IPv4`, `IPv6` or `both`. */
  readonly family: string;
  /**
   * The other side: the sources of a packet the host receives (`input`, `raw_prerouting`,
   * `prerouting`), the destinations of one it sends (`output`, `raw_output`). CIDRs and
   * ranges, or `any`; a set's first elements, its size and name.
   */
  readonly peers: string;
  /** Protocol and ports, e.g. `tcp 80,443`, `udp 6000-6010`, `icmpv6 133,134,135,136`, or `any`; limits and interfaces. */
  readonly traffic: string;
  /** The connection states the row covers, e.g. `new` or `established, related`. */
  readonly state: string;
  /** `accept`, `drop`, `reject (tcp-reset)`, `log (prefix ...)`, `notrack`, `helper ftp` and the like. */
  readonly verdict: string;
  /** The construct paths that declared it. */
  readonly origins: string[];
}

/** A port list as `22`, `80,443`, `6000-6010`. */
export function formatPorts(list: readonly PortRange[] | undefined): string {
  if (!list) return 'all ports';
  return list.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');
}

/** A set's elements for the table: all of them when few, else the first ones and the count. */
export function setSummary(name: string, sets: ReadonlyMap<string, SetDefinition>, separator: string, shown: number): string {
  const set = sets.get(name);
  if (!set) return `@${name}`;
  if (set.lateMembers && set.elements.length === 0) {
    return `members of ${[...new Set(set.lateMembers.map((m) => m.label))].join(', ')}, known at deploy (set ${name})`;
  }
  const head = set.elements.slice(0, shown).join(separator);
  return set.elements.length <= shown ? `${head} (set ${name})` : `${head}${separator}... (${set.elements.length} in set ${name})`;
}

/** An address match for the table: its elements, or its set's first elements and size; `any` when absent. */
export function formatAddresses(match: AddressMatch | undefined, sets: ReadonlyMap<string, SetDefinition>): string {
  if (!match) return 'any';
  return match.set ? setSummary(match.set, sets, ', ', 3) : match.elements?.join(', ') ?? 'any';
}

/** Protocol, ports (or ICMP types) of a rule, e.g. `tcp 22`, `udp from port 53`, `icmpv6 type 128`; empty when any. */
export function formatProtocol(rule: Rule, sets: ReadonlyMap<string, SetDefinition>): string {
  const m = rule.match;
  // published container ports: the original destination port (before Docker's DNAT)
  if (m.originalDestinationPorts) return `published ${m.protocol} ${formatPorts(m.originalDestinationPorts)}`;
  if (m.protocol === Protocol.TCP || m.protocol === Protocol.UDP) {
    const parts: string[] = [`${m.protocol}`];
    if (m.sourcePorts || m.sourcePortSet) parts.push(`from port ${m.sourcePortSet ? setSummary(m.sourcePortSet, sets, ',', 8) : formatPorts(m.sourcePorts)}`);
    if (m.destinationPorts || m.destinationPortSet || !(m.sourcePorts || m.sourcePortSet)) {
      const list = m.destinationPortSet ? setSummary(m.destinationPortSet, sets, ',', 8) : formatPorts(m.destinationPorts);
      parts.push(m.sourcePorts || m.sourcePortSet ? `to port ${list}` : list);
    }
    return parts.join(' ');
  }
  if (m.protocol) {
    const code = m.icmpCode === undefined ? '' : `/${m.icmpCode}`;
    return `${m.protocol}${m.icmpTypes ? ` type ${m.icmpTypes.join(',')}${code}` : ''}${m.hopLimit !== undefined ? ` hop limit ${m.hopLimit}` : ''}`;
  }
  return '';
}

/** The rate and connection limits of a rule, e.g. `over 10/minute per source`, `up to 20/second`; empty when none. */
export function formatLimits(rule: Rule): string {
  const m = rule.match;
  const rate = (l: { rate: number; unit: string; burst?: number }) => `${l.rate}/${l.unit}${l.burst !== undefined ? ` burst ${l.burst}` : ''}`;
  const parts: string[] = [];
  if (m.sourceRateOver) parts.push(`over ${rate(m.sourceRateOver.limit)} per source`);
  if (m.sourceConnectionsOver) parts.push(`over ${m.sourceConnectionsOver.above} connections per source`);
  if (m.rateOver) parts.push(`over ${rate(m.rateOver.limit)} from all sources`);
  if (m.limit) parts.push(`up to ${rate(m.limit)}`);
  return parts.join(' ');
}

function traffic(rule: Rule, sets: ReadonlyMap<string, SetDefinition>): string {
  const m = rule.match;
  const parts: string[] = [];
  if (m.inInterface) parts.push(`via ${m.inInterface}`);
  if (m.outInterface) parts.push(`out via ${m.outInterface}`);
  if (m.destinationNat === false) parts.push('not published (docker decides)');
  const protocol = formatProtocol(rule, sets);
  if (protocol) parts.push(`${protocol}${m.tcpSynOnly ? ' (SYN)' : ''}`);
  if (m.destinationLocal) parts.push('to this host');
  const limits = formatLimits(rule);
  if (limits) parts.push(limits);
  return parts.length > 0 ? parts.join(' ') : 'any';
}

/** A rule's verdict for the table: `accept`, `reject (tcp-reset)`, `log (prefix 'sfw web: ')`, `helper ftp`, ... */
export function formatVerdict(rule: Rule): string {
  switch (rule.verdict) {
    case Verdict.REJECT: return `reject (${rule.rejectWith ?? RejectWith.PORT_UNREACHABLE})`;
    case Verdict.JUMP:
    case Verdict.GOTO: return `${rule.verdict} ${rule.target}`;
    case Verdict.LOG: return rule.logPrefix !== undefined ? `log (prefix '${rule.logPrefix}')` : 'log';
    case Verdict.HELPER: return `helper ${rule.helper}`;
    default: return rule.verdict;
  }
}

/** `IPv4`, `IPv6` or `both`. */
export function formatFamily(rule: Rule): string {
  if (rule.match.family === undefined) return 'both';
  return rule.match.family === 'ipv4' ? 'IPv4' : 'IPv6';
}

function pad(table: string[][]): string[] {
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  return table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

/** Whether a hook's packets are sent by the host (the peer is their destination). */
function outbound(hook: ChainHook | undefined): boolean {
  return hook === ChainHook.OUTPUT || hook === ChainHook.POSTROUTING;
}

/** The base chains of a ruleset in the order the explain table lists them. */
function baseChains(ruleset: CompiledRuleset): { table: string; chain: Chain }[] {
  const order = (t: string, c: Chain) => {
    if (t !== 'raw') return c.hook === ChainHook.INPUT ? 0 : c.hook === ChainHook.OUTPUT ? 1 : c.hook === ChainHook.FORWARD ? 2 : 3;
    return c.priority === ChainPriority.RAW ? (c.hook === ChainHook.OUTPUT ? 5 : 4) : 6;
  };
  return ruleset.model.tables
    .flatMap((t) => t.chains.filter((c) => c.hook).map((chain) => ({ table: t.name, chain })))
    .sort((a, b) => order(a.table, a.chain) - order(b.table, b.chain));
}

/** What a chain is for, and where each backend holds it. */
function chainTitle(table: string, chain: Chain, backend: Backend | undefined): string {
  const hook = chain.hook!;
  const what = table === 'raw'
    ? chain.priority === ChainPriority.RAW
      ? `${outbound(hook) ? 'sent' : 'received'}, before connection tracking (untracked services)`
      : 'conntrack helpers'
    : hook === ChainHook.INPUT ? 'inbound: what reaches the host' : hook === ChainHook.OUTPUT ? 'outbound: what the host sends'
      : hook === ChainHook.FORWARD ? 'published container ports: forwarded to Docker\'s containers' : `${hook}`;
  const where = (backend ? [backend] : Object.values(Backend)).map((b) => backendFor(b).chainLocation(table, chain)).join('; ');
  return `${chain.name}: ${what} [${where}]`;
}

const HEADER = ['#', 'family', 'from', 'traffic', 'state', 'verdict', 'declared by'];

function header(chain: Chain): string[] {
  return outbound(chain.hook) ? HEADER.map((h) => (h === 'from' ? 'to' : h)) : HEADER;
}

function cells(r: ExplainRow): string[] {
  return [String(r.position), r.family, r.peers, r.traffic, r.state, r.verdict, r.origins.join(' ')];
}

/** Options of `Explain.text` and `Explain.markdown`. */
export interface ExplainOptions {
  /**
   * The backend the host deploys with: each chain's title names where that backend holds
   * it (`iptables-save`'s chain, or the nftables chain).
   *
   * @default - both backends are named
   */
  readonly backend?: Backend;

  /**
   * The host's conntrack sizing, listed after the chains.
   *
   * @default - none listed
   */
  readonly conntrackSizing?: ConntrackSizing;

  /**
   * Whether the deploy sets the conntrack sizing on the host (`conntrack.tuneKernel`), as
   * the sizing's note says.
   *
   * @default true
   */
  readonly tunesKernel?: boolean;
}

/** The conntrack sizing line of a report: the sizing and whether the deploy sets it. */
export function conntrackSizingNote(sizing: ConntrackSizing, tunesKernel: boolean): string {
  const how = tunesKernel ? 'the deploy raises the host\'s values to these where they are lower' : 'reported only (conntrack.tuneKernel is false)';
  return `${sizing.describe()}; ${how}.`;
}

/**
 * A per-host table of who can reach what, per chain in rule order (inbound, outbound,
 * before connection tracking, conntrack helpers), for review and snapshots.
 */
export class Explain {
  /**
   * The rows of a host's table: one per rule of each of its base chains (input first, then
   * output, the published container ports' forward chain, the chains before connection
   * tracking, the helpers' chain).
   */
  public static rows(ruleset: CompiledRuleset): ExplainRow[] {
    const sets = new Map((ruleset.model.sets ?? []).map((s) => [s.name, s]));
    return baseChains(ruleset).flatMap(({ chain }) => chain.rules.map((rule, i) => ({
      chain: chain.name,
      position: i + 1,
      family: formatFamily(rule),
      peers: formatAddresses(outbound(chain.hook) ? rule.match.destination : rule.match.source, sets),
      // the published chain's rules for traffic Docker did not publish say so
      traffic: chain.hook === ChainHook.FORWARD && !rule.match.originalDestinationPorts && rule.match.destinationNat === undefined ? `published: ${traffic(rule, sets)}` : traffic(rule, sets),
      state: rule.match.states ? rule.match.states.join(', ') : 'any',
      verdict: formatVerdict(rule),
      origins: rule.origins,
    })));
  }

  /** The table as aligned plain text, with the host's name as a title and one section per chain. */
  public static text(ruleset: CompiledRuleset, options: ExplainOptions = {}): string {
    const rows = Explain.rows(ruleset);
    const sections = baseChains(ruleset).map(({ table, chain }) => {
      const mine = rows.filter((r) => r.chain === chain.name);
      return `${chainTitle(table, chain, options.backend)}\n${pad([header(chain), ...mine.map(cells)]).join('\n')}\n`;
    });
    const sizing = options.conntrackSizing ? [`conntrack sizing: ${conntrackSizingNote(options.conntrackSizing, options.tunesKernel ?? true)}\n`] : [];
    return `${ruleset.hostName}\n${[...sections, ...sizing].join('\n')}`;
  }

  /** The table as Markdown, with the host's name as a heading and one table per chain. */
  public static markdown(ruleset: CompiledRuleset, options: ExplainOptions = {}): string {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    const rows = Explain.rows(ruleset);
    const lines = [`### ${ruleset.hostName}`];
    for (const { table, chain } of baseChains(ruleset)) {
      const h = header(chain);
      lines.push('', `#### ${esc(chainTitle(table, chain, options.backend))}`, '', `| ${h.join(' | ')} |`, `| ${h.map(() => '---').join(' | ')} |`);
      for (const r of rows.filter((x) => x.chain === chain.name)) {
        lines.push(`| ${[...cells(r).slice(0, 6), r.origins.map((o) => `\`${o}\``).join(' ')].map(esc).join(' | ')} |`);
      }
    }
    if (options.conntrackSizing) lines.push('', '#### Conntrack sizing', '', conntrackSizingNote(options.conntrackSizing, options.tunesKernel ?? true));
    return `${lines.join('\n')}\n`;
  }
}
