import { PortRange } from '../ir/rule-match';
import { AddressRange, rangesKey, unionRanges } from '../net/address-range';

/** One declaration of a port range opened to some addresses. */
export interface PortDeclaration {
  readonly ports: PortRange;
  readonly ranges: readonly AddressRange[];
  readonly origin: string;
}

/** Ports that share exactly the same peers, after merging. */
export interface PortGroup {
  /** Merged, sorted, non-adjacent port ranges. */
  readonly ports: PortRange[];
  /** Merged peer ranges (unioned: no duplicates, containment or adjacency left). */
  readonly ranges: AddressRange[];
  /** Sorted, unique origins of every declaration that contributed. */
  readonly origins: string[];
}

/**
 * Merges port declarations of one protocol and family: the port space is cut into
 * elementary segments at every declaration's edges, each segment gets the union of
 * the peers of the declarations covering it, and segments with identical peers are
 * grouped (adjacent ones joined). Overlapping and repeated declarations therefore
 * never produce extra rules, and ports opened to the same peers share a rule.
 *
 * One sweep over the sorted edges: the declarations covering a segment are kept as they
 * start and end, so the work grows with n log n (n declarations) plus the number of
 * declarations covering each segment, not with n times the number of segments.
 */
export function groupPorts(declarations: readonly PortDeclaration[]): PortGroup[] {
  if (declarations.length === 0) return [];
  // the ports of one declaration share one peer list: number the lists, so a segment's
  // covering declarations are summed up by the (sorted) ids of their lists
  const listIds = new Map<readonly AddressRange[], number>();
  const lists: (readonly AddressRange[])[] = [];
  const ids = declarations.map((d) => {
    let id = listIds.get(d.ranges);
    if (id === undefined) {
      id = lists.length;
      listIds.set(d.ranges, id);
      lists.push(d.ranges);
    }
    return id;
  });
  const byStart = declarations.map((_, i) => i).sort((a, b) => declarations[a].ports.from - declarations[b].ports.from);
  const byEnd = declarations.map((_, i) => i).sort((a, b) => declarations[a].ports.to - declarations[b].ports.to);
  // how many covering declarations use each list and each origin
  const activeLists = new Map<number, number>();
  const activeOrigins = new Map<string, number>();
  const bump = <K>(counts: Map<K, number>, key: K, by: number) => {
    const n = (counts.get(key) ?? 0) + by;
    if (n === 0) counts.delete(key);
    else counts.set(key, n);
  };
  const groups = new Map<string, { ports: PortRange[]; ranges: AddressRange[]; origins: Set<string> }>();
  const unions = new Map<string, { ranges: AddressRange[]; key: string }>();
  let s = 0;
  let e = 0;
  while (s < byStart.length || e < byEnd.length) {
    // the next edge: a declaration starts there, or one ended just before it
    const nextStart = s < byStart.length ? declarations[byStart[s]].ports.from : Infinity;
    const nextEnd = e < byEnd.length ? declarations[byEnd[e]].ports.to + 1 : Infinity;
    const from = Math.min(nextStart, nextEnd);
    for (; e < byEnd.length && declarations[byEnd[e]].ports.to + 1 === from; e++) {
      bump(activeLists, ids[byEnd[e]], -1);
      bump(activeOrigins, declarations[byEnd[e]].origin, -1);
    }
    for (; s < byStart.length && declarations[byStart[s]].ports.from === from; s++) {
      bump(activeLists, ids[byStart[s]], 1);
      bump(activeOrigins, declarations[byStart[s]].origin, 1);
    }
    if (activeLists.size === 0) continue;
    const following = Math.min(
      s < byStart.length ? declarations[byStart[s]].ports.from : Infinity,
      e < byEnd.length ? declarations[byEnd[e]].ports.to + 1 : Infinity,
    );
    const to = following - 1;
    const covering = [...activeLists.keys()].sort((a, b) => a - b);
    const signature = covering.join(',');
    let union = unions.get(signature);
    if (!union) {
      const ranges = unionRanges(covering.flatMap((id) => lists[id]));
      union = { ranges, key: rangesKey(ranges) };
      unions.set(signature, union);
    }
    const { ranges, key } = union;
    let group = groups.get(key);
    if (!group) {
      group = { ports: [], ranges, origins: new Set() };
      groups.set(key, group);
    }
    const last = group.ports[group.ports.length - 1];
    if (last && last.to + 1 === from) {
      group.ports[group.ports.length - 1] = { from: last.from, to };
    } else {
      group.ports.push({ from, to });
    }
    for (const origin of activeOrigins.keys()) group.origins.add(origin);
  }
  return [...groups.values()].map((g) => ({ ports: g.ports, ranges: g.ranges, origins: [...g.origins].sort() }));
}
