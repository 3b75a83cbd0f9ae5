import type { Opening, ReachabilityMatrix } from './reachability';
import { hasPorts } from './traffic-space';
import { PortRange } from '../ir/rule-match';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

// The reachability matrix as text: cells, Markdown (reachability.md) and JSON (reachability.json).

function formatRanges(ports: readonly PortRange[]): string {
  return ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',');
}

/** Openings as text: `tcp/22,8080; icmp 8`, a family named when the two differ (and both have openings). */
export function formatOpenings(openings: readonly Opening[]): string {
  const parts: string[] = [];
  const families = new Set(openings.map((o) => o.family));
  if (families.size === 1) {
    // one family only (e.g. IPv4-only hosts): no need to name it
    for (const o of openings) parts.push(hasPorts(o.protocol) ? `${o.protocol}/${formatRanges(o.ports)}` : `${o.protocol} ${formatRanges(o.ports)}`);
    return parts.join('; ');
  }
  for (const protocol of [Protocol.TCP, Protocol.UDP]) {
    const v4 = openings.find((o) => o.family === IpFamily.IPV4 && o.protocol === protocol);
    const v6 = openings.find((o) => o.family === IpFamily.IPV6 && o.protocol === protocol);
    const t4 = v4 ? formatRanges(v4.ports) : '';
    const t6 = v6 ? formatRanges(v6.ports) : '';
    if (t4 === t6 && t4 !== '') {parts.push(`${protocol}/${t4}`);} else {
      if (t4 !== '') parts.push(`${protocol}/${t4} (IPv4)`);
      if (t6 !== '') parts.push(`${protocol}/${t6} (IPv6)`);
    }
  }
  for (const o of openings.filter((x) => !hasPorts(x.protocol))) parts.push(`${o.protocol} ${formatRanges(o.ports)}`);
  return parts.join('; ');
}

function cellText(openings: readonly Opening[]): string {
  return openings.length === 0 ? '-' : formatOpenings(openings);
}

/** The matrix as Markdown: groups, then hosts (up to `maxHosts`; the JSON has every cell). */
export function reachabilityMarkdown(m: ReachabilityMatrix, maxHosts = 12): string {
  const lines = ['# Fleet reachability', '',
    'What each source can open to each target (TCP/UDP destination ports, ICMP request types), from the compiled rulesets:',
    'the source\'s OUTPUT chain and the target\'s INPUT chain, limits not reached. Rows are sources, columns targets.'];
  const table = (names: readonly string[], text: (from: string, to: string) => string) => {
    lines.push('', `| from \\ to | ${names.join(' | ')} |`, `|---|${names.map(() => '---').join('|')}|`);
    for (const from of names) lines.push(`| **${from}** | ${names.map((to) => text(from, to)).join(' | ')} |`);
  };
  if (m.groups.length > 0) {
    lines.push('', '## Groups', '', 'What every member of the source group can open to every other member of the target group (`+` when some pairs can open more).');
    const byPair = new Map(m.groupCells.map((c) => [`${c.from}>${c.to}`, c]));
    table(m.groups.map((g) => g.name), (f, t) => {
      const c = byPair.get(`${f}>${t}`);
      return c ? `${cellText(c.openings)}${c.varies ? ' +' : ''}` : '';
    });
  }
  lines.push('', '## Open to every address', '');
  for (const h of m.hosts) lines.push(`- ${h}: ${cellText(m.openToAny[h] ?? [])}`);
  lines.push('', '## Hosts');
  if (m.hosts.length <= maxHosts) {
    const byPair = new Map(m.cells.map((c) => [`${c.from}>${c.to}`, c]));
    table(m.hosts, (f, t) => (f === t ? '' : cellText(byPair.get(`${f}>${t}`)!.openings)));
  } else {
    lines.push('', `${m.hosts.length} hosts: every cell is in reachability.json.`);
  }
  return `${lines.join('\n')}\n`;
}

/** The matrix as JSON: each cell as text (what the source can open; the part not open to every address), one per line. */
export function reachabilityJson(m: ReachabilityMatrix): string {
  const cell = (c: { from: string; to: string; openings: Opening[]; specific: Opening[] }) =>
    JSON.stringify({ from: c.from, to: c.to, open: cellText(c.openings), specific: cellText(c.specific) });
  const openToAny = Object.fromEntries(Object.entries(m.openToAny).map(([h, o]) => [h, cellText(o)]));
  return [
    '{',
    ` "hosts": ${JSON.stringify(m.hosts)},`,
    ` "groups": ${JSON.stringify(m.groups)},`,
    ` "openToAny": ${JSON.stringify(openToAny)},`,
    ' "groupCells": [',
    m.groupCells.map((c) => `  ${cell(c).slice(0, -1)},"varies":${c.varies}}`).join(',\n'),
    ' ],',
    ' "cells": [',
    m.cells.map((c) => `  ${cell(c)}`).join(',\n'),
    ' ]',
    '}',
    '',
  ].join('\n');
}
