import { AddressRange, isWholeFamily } from '../../core/net/address-range';
import { Allowance } from '../../core/policy/host-policy';
import { ALL_FAMILIES } from '../../core/values/family';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { PortCoverIndex } from '../port-cover-index';
import { familyRanges, rangesContained } from '../port-coverage';

/** Whether `others` already open every port of `a` to every peer of `a`; returns the covering origins. */
export function coveringOrigins(a: Allowance, others: readonly Allowance[]): string[] | undefined {
  return coveredBy(a, others, new PortCoverIndex(others).coverers(a.ports));
}

/**
 * Whether the openers of each port of `a` (`openers[k]`: indices into `others` of those
 * whose ports cover `a.ports[k]`) open it to every peer of `a`; returns their origins.
 */
export function coveredBy(a: Allowance, others: readonly Allowance[], openers: readonly (readonly number[])[]): string[] | undefined {
  const by = new Set<string>();
  const mine = ALL_FAMILIES.map((family) => familyRanges([a], family));
  // addresses known only at deploy are covered only by openings to the whole family
  const late = ALL_FAMILIES.map((family) => a.peers.some((p) => p._late.some((l) => l.family === family)));
  // the same openers (often none) for many ports: their ranges unioned once
  const theirs = new Map<string, AddressRange[][]>();
  for (const of of openers) {
    const key = of.join(',');
    let ranges = theirs.get(key);
    if (!ranges) {
      const list = of.map((j) => others[j]);
      ranges = ALL_FAMILIES.map((family) => familyRanges(list, family));
      theirs.set(key, ranges);
    }
    for (let f = 0; f < ALL_FAMILIES.length; f++) {
      if (late[f] && !(ranges[f].length === 1 && isWholeFamily(ranges[f][0]))) return undefined;
      if (mine[f].length === 0) continue;
      if (!rangesContained(mine[f], ranges[f])) return undefined;
    }
    of.forEach((j) => by.add(others[j].origin));
  }
  return [...by].sort();
}

/** Whether the opening does more than accept: limits, a conntrack helper or notrack. */
function treated(a: Allowance): boolean {
  return a.limits !== undefined || a.helper !== undefined || a.notrack === true;
}

/** The same ports to the same peers, however written. */
export function openingKey(a: Allowance): string {
  return `${a.ports.map(String).sort().join(',')}|${a.peers.flatMap((p) => [...p.elements, ...p._late.map((l) => `${l.family}:${l.value}`)]).sort().join(',')}`;
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
    const all = host.allowances;
    const keys = all.map(openingKey);
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    // every plain declaration's ports, looked up at once among the plain declarations
    const plain = all.map((a) => (treated(a) ? { ports: [] } : a));
    const checked = all.map((a, i) => !treated(a) && counts.get(keys[i]) === 1);
    const queries = all.flatMap((a, i) => (checked[i] ? a.ports : []));
    const coverers = new PortCoverIndex(plain).coverers(queries);
    let next = 0;
    all.forEach((a, i) => {
      if (!checked[i]) return;
      // the openers are the other plain declarations (the index holds only plain ones)
      const openers = a.ports.map(() => coverers[next++].filter((j) => j !== i));
      const by = coveredBy(a, all, openers);
      if (by) {
        found.push(`${a.origin} opens nothing that ${by.join(', ')} do not already open (${a.ports.join(', ')} from ${a.peers.join(', ')}): remove it, or narrow the wider declaration`);
      }
    });
    return found;
  }
}
