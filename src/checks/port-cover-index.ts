import { Port } from '../core/values/port';

/**
 * Whether `outer` covers `inner`: the same protocol, and for TCP/UDP the range of `outer`
 * contains that of `inner`; for ICMP the same type, and the same code unless `outer` has none.
 */
export function portCovers(outer: Port, inner: Port): boolean {
  if (outer.protocol !== inner.protocol) return false;
  if (inner.fromPort !== undefined) return outer.fromPort! <= inner.fromPort && inner.toPort! <= outer.toPort!;
  return outer.icmpTypeNumber === inner.icmpTypeNumber && (outer.icmpCodeNumber === undefined || outer.icmpCodeNumber === inner.icmpCodeNumber);
}

/** One TCP/UDP range of an owner. */
interface OwnedRange {
  readonly owner: number;
  readonly from: number;
  readonly to: number;
}

/**
 * Which owners (declarations, denials) have a port covering a given port (`portCovers`),
 * for many ports at once: the ranges are swept in port order instead of comparing every
 * port with every other, and ICMP types are looked up by type. Built once per host.
 */
export class PortCoverIndex {
  /** TCP/UDP ranges by protocol, sorted by their first port. */
  private readonly ranges = new Map<string, OwnedRange[]>();
  /** ICMP types by `protocol/type`: the owners and their code (undefined: every code). */
  private readonly icmp = new Map<string, { owner: number; code?: number }[]>();

  public constructor(owners: readonly { readonly ports: readonly Port[] }[]) {
    owners.forEach((o, owner) => {
      for (const p of o.ports) {
        if (p.fromPort !== undefined) {
          const list = this.ranges.get(p.protocol) ?? [];
          list.push({ owner, from: p.fromPort, to: p.toPort! });
          this.ranges.set(p.protocol, list);
        } else {
          const key = `${p.protocol}/${p.icmpTypeNumber}`;
          const list = this.icmp.get(key) ?? [];
          list.push({ owner, code: p.icmpCodeNumber });
          this.icmp.set(key, list);
        }
      }
    });
    for (const list of this.ranges.values()) list.sort((a, b) => a.from - b.from);
  }

  /** For each of `ports`, the owners (indices, ascending, each once) with a port that covers it. */
  public coverers(ports: readonly Port[]): number[][] {
    const out: number[][] = ports.map(() => []);
    // TCP/UDP: by protocol, the queries in the order of their first port; a range is active
    // from its first port on, and dropped once it ends before the query's first port
    const queries = new Map<string, number[]>();
    ports.forEach((p, i) => {
      if (p.fromPort === undefined) {
        const found = new Set<number>();
        for (const e of this.icmp.get(`${p.protocol}/${p.icmpTypeNumber}`) ?? []) {
          if (e.code === undefined || e.code === p.icmpCodeNumber) found.add(e.owner);
        }
        out[i] = [...found].sort((a, b) => a - b);
        return;
      }
      const list = queries.get(p.protocol) ?? [];
      list.push(i);
      queries.set(p.protocol, list);
    });
    for (const [protocol, list] of queries) {
      const ranges = this.ranges.get(protocol) ?? [];
      list.sort((a, b) => ports[a].fromPort! - ports[b].fromPort!);
      let active: OwnedRange[] = [];
      let next = 0;
      for (const i of list) {
        const from = ports[i].fromPort!;
        const to = ports[i].toPort!;
        while (next < ranges.length && ranges[next].from <= from) active.push(ranges[next++]);
        active = active.filter((r) => r.to >= from);
        const found = new Set<number>();
        for (const r of active) if (r.to >= to) found.add(r.owner);
        out[i] = [...found].sort((a, b) => a - b);
      }
    }
    return out;
  }
}
