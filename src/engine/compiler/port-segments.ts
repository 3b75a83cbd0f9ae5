import { AddressRange, rangesKey, unionRanges } from '../address/address-range';
import { PortRange } from '../model/rule-match';

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
 */
export function groupPorts(declarations: readonly PortDeclaration[]): PortGroup[] {
  const cuts = new Set<number>();
  for (const d of declarations) {
    cuts.add(d.ports.from);
    cuts.add(d.ports.to + 1);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const groups = new Map<string, { ports: PortRange[]; ranges: AddressRange[]; origins: Set<string> }>();
  // segments covered by declarations with the same peer lists have the same peers: union
  // them once (the ports of one declaration share one list)
  const listIds = new Map<readonly AddressRange[], number>();
  const unions = new Map<string, { ranges: AddressRange[]; key: string }>();
  for (let i = 0; i < points.length - 1; i++) {
    const from = points[i];
    const to = points[i + 1] - 1;
    const covering = declarations.filter((d) => d.ports.from <= from && d.ports.to >= to);
    if (covering.length === 0) continue;
    const ids = new Set<number>();
    for (const d of covering) {
      let id = listIds.get(d.ranges);
      if (id === undefined) {
        id = listIds.size;
        listIds.set(d.ranges, id);
      }
      ids.add(id);
    }
    const signature = [...ids].sort((a, b) => a - b).join(',');
    let union = unions.get(signature);
    if (!union) {
      const ranges = unionRanges(covering.flatMap((d) => d.ranges));
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
    covering.forEach((d) => group!.origins.add(d.origin));
  }
  return [...groups.values()].map((g) => ({ ports: g.ports, ranges: g.ranges, origins: [...g.origins].sort() }));
}
