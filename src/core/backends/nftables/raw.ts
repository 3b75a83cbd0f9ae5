import { portsOf, PROTOCOL_VALUE, sourcePortsOf } from './dispatch';
import { Rule } from '../../ir/rule';
import { PortRange } from '../../ir/rule-match';
import { SetDefinition } from '../../ir/set-definition';
import { Verdict } from '../../ir/verdict';
import { MapKey, VerdictMapEntry } from '../../ir/verdict-map';
import { IpFamily } from '../../values/family';
import { Protocol } from '../../values/protocol';

// The raw chains (before conntrack): notrack rules as few lookups as the kernel allows.

/**
 * Rules that differ only in protocol, family and ports, with one statement that does not
 * end the walk (the raw chains' `notrack`), as one rule: `fib daddr type local meta
 * l4proto . th dport { udp . 53, tcp . 853 } notrack`, whatever their number.
 */
export function oneLookup(rules: Rule[], field: 'destination' | 'source', sets: Map<string, SetDefinition>): Rule | undefined {
  const first = rules[0];
  if (first.verdict !== Verdict.NOTRACK) return undefined;
  const rest = (r: Rule) => {
    const { family, protocol, destinationPorts, destinationPortSet, sourcePorts, sourcePortSet, ...others } = r.match;
    return JSON.stringify(others);
  };
  if (!rules.every((r) => r.verdict === first.verdict && rest(r) === rest(first))) return undefined;
  const families = rules.some((r) => r.match.family !== undefined);
  const ranges = new Map<string, PortRange[]>();
  for (const r of rules) {
    const ports = (field === 'destination' ? portsOf(r.match, sets) : sourcePortsOf(r.match, sets))!;
    for (const family of r.match.family ? [r.match.family] : families ? [IpFamily.IPV4, IpFamily.IPV6] : [undefined]) {
      const key = `${family ?? ''}|${r.match.protocol}`;
      ranges.set(key, [...(ranges.get(key) ?? []), ...ports]);
    }
  }
  const entries: VerdictMapEntry[] = [];
  for (const [key, list] of ranges) {
    const [family, protocol] = key.split('|') as [IpFamily | '', Protocol];
    const merged: PortRange[] = [];
    for (const p of [...list].sort((a, b) => a.from - b.from)) {
      const last = merged[merged.length - 1];
      if (last && p.from <= last.to + 1) merged[merged.length - 1] = { from: last.from, to: Math.max(last.to, p.to) };
      else merged.push(p);
    }
    for (const p of merged) {
      const ports = field === 'destination' ? { destinationPorts: [p] } : { sourcePorts: [p] };
      const origins = rules.find((r) => r.match.protocol === protocol)!.origins;
      entries.push({ match: { ...(family ? { family } : {}), protocol, ...ports }, verdict: first.verdict, origins });
    }
  }
  const order = (e: VerdictMapEntry) => [
    e.match.family === IpFamily.IPV6 ? 1 : 0, PROTOCOL_VALUE[e.match.protocol!], (e.match.destinationPorts ?? e.match.sourcePorts)![0].from,
  ];
  entries.sort((a, b) => {
    const x = order(a);
    const y = order(b);
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  const { family, protocol, destinationPorts, destinationPortSet, sourcePorts, sourcePortSet, ...match } = first.match;
  const portKey = field === 'destination' ? MapKey.TRANSPORT_DESTINATION_PORT : MapKey.TRANSPORT_SOURCE_PORT;
  const keys = families ? [MapKey.FAMILY, MapKey.PROTOCOL, portKey] : [MapKey.PROTOCOL, portKey];
  const origins = [...new Set(rules.flatMap((r) => r.origins))].sort();
  return { match, verdict: Verdict.MAP, verdictMap: { keys, entries }, origins, comment: first.comment };
}
