import { Allowance } from '../../engine/compiler/host-policy';
import { ALL_FAMILIES } from '../../engine/family';
import { Port } from '../../engine/port';
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

/**
 * SFW5: a declaration that opens nothing the host's other declarations do not already
 * open (a shadowed rule): usually a leftover, or a restriction that does not restrict.
 */
export class RedundantDeclaration implements IPolicyCheck {
  public readonly id = 'SFW5';
  public readonly description = 'every declaration must open something no other declaration opens';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    const found: string[] = [];
    host.allowances.forEach((a, i) => {
      const others = host.allowances.filter((_, j) => j !== i);
      const by = coveringOrigins(a, others);
      if (by) {
        found.push(`${a.origin} opens nothing that ${by.join(', ')} do not already open (${a.ports.join(', ')} from ${a.peers.join(', ')}): remove it, or narrow the wider declaration`);
      }
    });
    return found;
  }
}
