import { ConnectionState } from '../../ir/connection-state';
import { DEFAULT_BURST, RateLimit, RateUnit } from '../../ir/rate-limit';
import { RejectWith } from '../../ir/reject-with';
import { Rule } from '../../ir/rule';
import { PortRange } from '../../ir/rule-match';
import { RulesetModel } from '../../ir/ruleset-model';
import { Verdict } from '../../ir/verdict';
import { IpFamily } from '../../values/family';
import { Protocol } from '../../values/protocol';
import { ruleComment } from '../rule-comment';

/** The order iptables-save prints conntrack states in. */
const STATE_ORDER = [
  ConnectionState.INVALID,
  ConnectionState.NEW,
  ConnectionState.RELATED,
  ConnectionState.ESTABLISHED,
  ConnectionState.UNTRACKED,
];

function rejectName(rejectWith: RejectWith, family: IpFamily): string {
  const v4 = family === IpFamily.IPV4;
  switch (rejectWith) {
    case RejectWith.TCP_RESET:
      return 'tcp-reset';
    case RejectWith.PORT_UNREACHABLE:
      return v4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
    case RejectWith.HOST_PROHIBITED:
      return v4 ? 'icmp-host-prohibited' : 'icmp6-adm-prohibited';
    case RejectWith.ADMIN_PROHIBITED:
      return v4 ? 'icmp-admin-prohibited' : 'icmp6-adm-prohibited';
  }
}

/** How iptables-save prints rate units. */
const IPT_UNITS: Record<RateUnit, string> = { second: 'sec', minute: 'min', hour: 'hour', day: 'day' };

/**
 * A string argument as iptables-save prints it (libxtables' xtables_save_string): bare when
 * it is only letters, digits, `_` and `-`, double-quoted otherwise.
 */
export function saveString(value: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(value)) return value;
  return `"${value.replace(/(["\\'])/g, '\\$1')}"`;
}

function portText(p: PortRange): string {
  return p.from === p.to ? `${p.from}` : `${p.from}:${p.to}`;
}

function protocolName(protocol: Protocol): string {
  return protocol === Protocol.ICMPV6 ? 'ipv6-icmp' : protocol;
}

function addressArgs(flag: '-s' | '-d', rangeFlag: '--src-range' | '--dst-range', element: string | undefined, set?: string): { plain: string[]; match: string[] } {
  if (set !== undefined) return { plain: [], match: ['-m', 'set', '--match-set', set, flag === '-s' ? 'src' : 'dst'] };
  if (element === undefined) return { plain: [], match: [] };
  if (element.includes('-')) return { plain: [], match: ['-m', 'iprange', rangeFlag, element] };
  return { plain: [flag, element], match: [] };
}

function single(list: string[] | undefined, what: string): string | undefined {
  if (list === undefined) return undefined;
  if (list.length !== 1) throw new Error(`iptables rules hold one ${what} element; lay the model out with iptablesLayout() first`);
  return list[0];
}

/**
 * One rule as iptables-save prints it (after `-A CHAIN`): addresses, interfaces and
 * protocol first, then each match module in order, then the target.
 */
export function iptablesRuleArgs(rule: Rule, family: IpFamily): string[] {
  const m = rule.match;
  const src = addressArgs('-s', '--src-range', m.source?.set ? undefined : single(m.source?.elements, 'source'), m.source?.set);
  const dst = addressArgs('-d', '--dst-range', m.destination?.set ? undefined : single(m.destination?.elements, 'destination'), m.destination?.set);
  const args: string[] = [...src.plain, ...dst.plain];
  if (m.inInterface) args.push('-i', m.inInterface);
  if (m.outInterface) args.push('-o', m.outInterface);
  if (m.protocol) args.push('-p', protocolName(m.protocol));
  args.push(...src.match, ...dst.match);
  if (m.destinationLocal) args.push('-m', 'addrtype', '--dst-type', 'LOCAL');
  if (m.states || m.destinationNat !== undefined || m.originalDestinationPorts) {
    args.push('-m', 'conntrack');
    if (m.destinationNat === false) args.push('!', '--ctstate', 'DNAT');
    const states = [...STATE_ORDER.filter((s) => (m.states ?? []).includes(s)).map((s) => s.toUpperCase()), ...(m.destinationNat ? ['DNAT'] : [])];
    if (states.length > 0) args.push('--ctstate', states.join(','));
    if (m.originalDestinationPorts) {
      if (m.protocol !== Protocol.TCP && m.protocol !== Protocol.UDP) throw new Error(`original destination ports need protocol tcp or udp, not ${m.protocol ?? 'any'}`);
      args.push('--ctorigdstport', single(m.originalDestinationPorts.map(portText), 'original destination port')!);
    }
  }
  const ports = m.destinationPorts;
  const sports = m.sourcePorts;
  if (m.protocol === Protocol.TCP || m.protocol === Protocol.UDP) {
    const onePort = ports && ports.length === 1 ? ports[0] : undefined;
    const oneSport = sports && sports.length === 1 ? sports[0] : undefined;
    const l4: string[] = [];
    if (oneSport) l4.push('--sport', portText(oneSport));
    if (onePort) l4.push('--dport', portText(onePort));
    if (m.tcpSynOnly) l4.push('--tcp-flags', 'FIN,SYN,RST,ACK', 'SYN');
    if (l4.length > 0) args.push('-m', m.protocol, ...l4);
    if (sports && sports.length > 1) args.push('-m', 'multiport', '--sports', sports.map(portText).join(','));
    if (ports && ports.length > 1) args.push('-m', 'multiport', '--dports', ports.map(portText).join(','));
    if (m.sourcePortSet) args.push('-m', 'set', '--match-set', m.sourcePortSet, 'src');
    if (m.destinationPortSet) args.push('-m', 'set', '--match-set', m.destinationPortSet, 'dst');
  } else if (ports || m.destinationPortSet || sports || m.sourcePortSet) {
    throw new Error(`ports need protocol tcp or udp, not ${m.protocol ?? 'any'}`);
  }
  if (m.icmpTypes) {
    const type = single(m.icmpTypes.map(String), 'icmp type');
    const value = m.icmpCode === undefined ? type : `${type}/${m.icmpCode}`;
    if (m.protocol === Protocol.ICMP) args.push('-m', 'icmp', '--icmp-type', value!);
    else if (m.protocol === Protocol.ICMPV6) args.push('-m', 'icmp6', '--icmpv6-type', value!);
    else throw new Error('icmp types need protocol icmp or icmpv6');
  }
  if (m.hopLimit !== undefined) args.push('-m', 'hl', '--hl-eq', String(m.hopLimit));
  // hashlimit over the rate: per source (a mode) or all sources together (none)
  const hashlimit = (l: RateLimit, name: string, mode: string[]) =>
    args.push('-m', 'hashlimit', '--hashlimit-above', `${l.rate}/${IPT_UNITS[l.unit]}`, '--hashlimit-burst', String(l.burst ?? DEFAULT_BURST), ...mode, '--hashlimit-name', name);
  if (m.sourceRateOver) hashlimit(m.sourceRateOver.limit, m.sourceRateOver.name, ['--hashlimit-mode', 'srcip']);
  if (m.rateOver) hashlimit(m.rateOver.limit, m.rateOver.name, []);
  if (m.sourceConnectionsOver) {
    const mask = family === IpFamily.IPV4 ? '32' : '128';
    args.push('-m', 'connlimit', '--connlimit-above', String(m.sourceConnectionsOver.above), '--connlimit-mask', mask, '--connlimit-saddr');
  }
  if (m.limit) {
    args.push('-m', 'limit', '--limit', `${m.limit.rate}/${IPT_UNITS[m.limit.unit]}`);
    if (m.limit.burst !== undefined && m.limit.burst !== DEFAULT_BURST) args.push('--limit-burst', String(m.limit.burst));
  }
  if (rule.origins.length > 0 || rule.comment) args.push('-m', 'comment', '--comment', saveString(ruleComment(rule)));
  switch (rule.verdict) {
    case Verdict.ACCEPT:
      args.push('-j', 'ACCEPT');
      break;
    case Verdict.DROP:
      args.push('-j', 'DROP');
      break;
    case Verdict.RETURN:
      args.push('-j', 'RETURN');
      break;
    case Verdict.HELPER:
      args.push('-j', 'CT', '--helper', rule.helper!);
      break;
    case Verdict.NOTRACK:
      args.push('-j', 'CT', '--notrack');
      break;
    case Verdict.LOG:
      args.push('-j', 'LOG');
      if (rule.logPrefix) args.push('--log-prefix', saveString(rule.logPrefix));
      break;
    case Verdict.JUMP:
      if (!rule.target) throw new Error('a jump rule needs a target chain');
      args.push('-j', rule.target);
      break;
    case Verdict.GOTO:
      if (!rule.target) throw new Error('a goto rule needs a target chain');
      args.push('-g', rule.target);
      break;
    case Verdict.MAP:
      throw new Error('iptables has no verdict maps: lay the model out with iptablesLayout()');
    case Verdict.REJECT:
      args.push('-j', 'REJECT', '--reject-with', rejectName(rule.rejectWith ?? RejectWith.PORT_UNREACHABLE, family));
      break;
  }
  return args;
}

/**
 * Renders an iptables-laid-out model (see `iptablesLayout`) as `iptables-restore` /
 * `ip6tables-restore` input, in the canonical form `iptables-save` prints, so a diff
 * against a live host shows only real differences (headers and counters aside).
 */
export function renderIptablesRestore(model: RulesetModel, family: IpFamily, header?: string): string {
  const lines: string[] = [];
  if (header) lines.push(`# ${header}`);
  for (const table of model.tables) {
    lines.push(`*${table.name}`);
    for (const chain of table.chains) {
      const policy = chain.hook ? (chain.policy ?? Verdict.ACCEPT).toUpperCase() : '-';
      lines.push(`:${chain.name} ${policy} [0:0]`);
    }
    for (const chain of table.chains) {
      for (const rule of chain.rules) lines.push(['-A', chain.name, ...iptablesRuleArgs(rule, family)].join(' '));
    }
    lines.push('COMMIT');
  }
  return `${lines.join('\n')}\n`;
}
