import type { DiffRow, SemanticDiffResult } from './semantic-diff';
import { hasPorts, portAxisMax } from './traffic-space';
import { PortRange } from '../ir/rule-match';
import { AddressRange, isWholeFamily, rangeToCidrs, unionRanges } from '../net/address-range';
import { familyMax, formatIp } from '../net/ip';
import { Direction } from '../simulate/direction';
import { ALL_FAMILIES, IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

// The semantic diff as text and as Markdown (sfw-diff's output).

/** Whether the two outputs behave differently. */
export function hasChanges(diff: SemanticDiffResult): boolean {
  return diff.changed.length > 0 || diff.added.length > 0 || diff.removed.length > 0;
}

const MAX_PEERS_SHOWN = 6;

function formatRanges(ranges: readonly AddressRange[]): string[] {
  return ranges.flatMap((r) => {
    const cidrs = rangeToCidrs(r);
    return cidrs.length <= 2 ? cidrs : [`${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`];
  });
}

/** The addresses of the family the ranges leave out. */
function complement(ranges: readonly AddressRange[]): AddressRange[] {
  const family = ranges[0].family;
  const out: AddressRange[] = [];
  let next = 0n;
  for (const r of unionRanges(ranges)) {
    if (r.first > next) out.push({ family, first: next, last: r.first - 1n });
    next = r.last + 1n;
  }
  if (next <= familyMax(family)) out.push({ family, first: next, last: familyMax(family) });
  return out;
}

/** Peers as CIDR blocks or ranges (`any`, `any except ...` when shorter), shortened past a few. */
export function formatPeers(peers: readonly AddressRange[]): string {
  if (peers.length === 1 && isWholeFamily(peers[0])) return 'any';
  const listed = formatRanges(peers);
  const missing = formatRanges(complement(peers));
  const [prefix, list] = missing.length < listed.length ? ['any except ', missing] : ['', listed];
  if (list.length <= MAX_PEERS_SHOWN) return prefix + list.join(', ');
  return `${prefix}${list.slice(0, MAX_PEERS_SHOWN - 1).join(', ')} and ${list.length - MAX_PEERS_SHOWN + 1} more`;
}

/** Protocol and ports: `tcp/22,80-90`, `udp any port`, `icmp type 8`. */
export function formatPorts(protocol: Protocol, ports: readonly PortRange[]): string {
  const max = portAxisMax(protocol);
  if (ports.length === 1 && ports[0].from === 0 && ports[0].to === max) return hasPorts(protocol) ? `${protocol} any port` : `${protocol} any type`;
  const list = ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');
  return hasPorts(protocol) ? `${protocol}/${list}` : `${protocol} type ${list}`;
}

function familyName(f: IpFamily): string {
  return f === IpFamily.IPV4 ? 'IPv4' : 'IPv6';
}

function rowText(r: DiffRow): string {
  const way = r.direction === Direction.INBOUND ? 'inbound from' : 'outbound to';
  return `${way} ${formatPeers(r.peers)}: ${formatPorts(r.protocol, r.ports)}, state ${r.state}: ${r.before} -> ${r.after}`;
}

function exampleText(r: DiffRow): string {
  return `${r.example} (${r.direction}): ${r.exampleVerdicts[0]} -> ${r.exampleVerdicts[1]}`;
}

function hostTitle(h: { stack: string; hostName: string; path: string }): string {
  return `${h.hostName} (stack ${h.stack}, ${h.path})`;
}

function summary(diff: SemanticDiffResult): string {
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  return `${n(diff.changed.length, 'host')} changed, ${diff.added.length} added, ${diff.removed.length} removed, ${diff.unchanged} unchanged`;
}

/** The diff as plain text. */
export function formatDiffText(diff: SemanticDiffResult): string {
  const lines = [`semantic diff: ${summary(diff)}`];
  if (!hasChanges(diff)) lines.push('no change in the traffic any host accepts');
  for (const h of diff.added) lines.push('', `host added: ${hostTitle(h)}, ${h.backend}`);
  for (const h of diff.removed) lines.push('', `host removed: ${hostTitle(h)}, ${h.backend}`);
  for (const h of diff.changed) {
    const backend = h.oldBackend === h.newBackend ? h.newBackend : `${h.oldBackend} -> ${h.newBackend}`;
    lines.push('', `host ${hostTitle(h)}, ${backend}`);
    for (const family of ALL_FAMILIES) {
      const rows = h.rows.filter((r) => r.family === family);
      let kind: string | undefined;
      for (const r of rows) {
        if (r.kind !== kind) {
          kind = r.kind;
          lines.push(`  ${familyName(family)} ${kind}:`);
        }
        lines.push(`    ${rowText(r)}`, `      e.g. ${exampleText(r)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The diff as Markdown (a pull-request comment). */
export function formatDiffMarkdown(diff: SemanticDiffResult): string {
  const lines = ['### Firewall semantic diff', '', summary(diff)];
  if (!hasChanges(diff)) lines.push('', 'No change in the traffic any host accepts.');
  if (diff.added.length > 0) lines.push('', `**Hosts added:** ${diff.added.map((h) => `\`${h.hostName}\` (${h.stack})`).join(', ')}`);
  if (diff.removed.length > 0) lines.push('', `**Hosts removed:** ${diff.removed.map((h) => `\`${h.hostName}\` (${h.stack})`).join(', ')}`);
  for (const h of diff.changed) {
    lines.push('', `#### \`${h.hostName}\` (stack ${h.stack}, \`${h.path}\`)`, '');
    lines.push('| change | family | direction | peers | protocol and ports | state | before | after | example |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const r of h.rows) {
      lines.push(`| ${[r.kind, familyName(r.family), r.direction, formatPeers(r.peers), formatPorts(r.protocol, r.ports), r.state, r.before, r.after, `\`${r.example}\``].map(cell).join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
