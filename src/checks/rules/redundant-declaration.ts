import { Allowance } from '../../core/policy/host-policy';
import { ALL_FAMILIES } from '../../core/values/family';
import { Port } from '../../core/values/port';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { familyRanges, rangesContained } from '../port-coverage';

function covers(outer: Port, inner: Port): boolean {
  if (outer.protocol !== inner.protocol) return false;
  if (inner.fromPort !== undefined) return outer.fromPort! <= inner.fromPort && inner.toPort! <= outer.toPort!;
  return outer.icmpTypeNumber === inner.icmpTypeNumber && (outer.icmpCodeNumber === undefined || outer.icmpCodeNumber === inner.icmpCodeNumber);
}

/** Whether `others` already open every port of `a` to every peer of `a`; returns the covering origins. */
export function coveringOrigins(a: Allowance, others: readonly Allowance[]): string[] | undefined {
  const by = new Set<string>();
  for (const port of a.ports) {
    const openers = others.filter((o) => o.ports.some((p) => covers(p, port)));
    for (const family of ALL_FAMILIES) {
      const mine = familyRanges([a], family);
      if (mine.length === 0) continue;
      if (!rangesContained(mine, familyRanges(openers, family))) return undefined;
    }
    openers.forEach((o) => by.add(o.origin));
  }
  return [...by].sort();
}

/** Whether the opening does more than accept: limits, a conntrack helper or notrack. */
function treated(a: Allowance): boolean {
  return a.limits !== undefined || a.helper !== undefined || a.notrack === true;
}

/** The same ports to the same peers, however written. */
export function openingKey(a: Allowance): string {
  return `${a.ports.map(String).sort().join(',')}|${a.peers.flatMap((p) => p.elements).sort().join(',')}`;
}

/**
 * SFW5: a declaration that opens nothing the host's other declarations do not already
 * open (a shadowed rule): usually a leftover, or a restriction that does not restrict.
 * Declarations with limits, a conntrack helper or notrack do something besides opening,
 * and only plain declarations make another redundant. Exact repeats are left to the
 * duplicate error (same host or group) or are normal fleet usage (different groups).
 */
export class RedundantDeclaration implements IPolicyCheck {
  public readonly id = 'SFW5';
  public readonly description = 'every declaration must open something no other declaration opens';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    const found: string[] = [];
    const keys = host.allowances.map(openingKey);
    host.allowances.forEach((a, i) => {
      if (treated(a) || keys.some((k, j) => j !== i && k === keys[i])) return;
      const others = host.allowances.filter((o, j) => j !== i && !treated(o));
      const by = coveringOrigins(a, others);
      if (by) {
        found.push(`${a.origin} opens nothing that ${by.join(', ')} do not already open (${a.ports.join(', ')} from ${a.peers.join(', ')}): remove it, or narrow the wider declaration`);
      }
    });
    return found;
  }
}
