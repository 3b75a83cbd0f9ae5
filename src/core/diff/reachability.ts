import { formatOpenings } from './reachability-format';
import { cutsOf, evaluateSlice, hasPorts, initialState, intervalIndex, isLoopback, portAxisMax, protocolsOf, SliceVerdicts, SpaceSlice } from './traffic-space';
import { backendFor } from '../backends/registry';
import { CompiledRuleset } from '../compiled-ruleset';
import { ConnectionState } from '../ir/connection-state';
import { PortRange } from '../ir/rule-match';
import { RulesetModel } from '../ir/ruleset-model';
import { parseIp } from '../net/ip';
import { Direction } from '../simulate/direction';
import { ALL_FAMILIES, IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

// Fleet reachability from the compiled rulesets: what each host can open to each other
// host (TCP and UDP destination ports, ICMP request types), taking the source's OUTPUT
// chain and the target's INPUT chain into account, as computed by the semantic diff's
// engine (traffic-space.ts) on the rulesets as deployed. Limits are taken as not reached.

/** A host of the fleet: its addresses and compiled model. */
export interface FleetHost {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly backend: string;
  readonly model: RulesetModel;
}

/** A group of hosts (by name). */
export interface FleetGroup {
  readonly name: string;
  readonly members: readonly string[];
}

/** Ports (or ICMP types) of one family and protocol. */
export interface Opening {
  readonly family: IpFamily;
  readonly protocol: Protocol;
  readonly ports: PortRange[];
}

/** What `from` can open to `to`. */
export interface ReachabilityCell {
  readonly from: string;
  readonly to: string;
  /** Everything the source can open to the target. */
  readonly openings: Opening[];
  /** What of it the target does not open to every address (the fleet's own openings). */
  readonly specific: Opening[];
}

/** A group-to-group cell: what every source member can open to every other target member. */
export interface GroupCell {
  readonly from: string;
  readonly to: string;
  /** Common to every member pair. */
  readonly openings: Opening[];
  readonly specific: Opening[];
  /** Whether some member pairs can open more than the common part. */
  readonly varies: boolean;
}

/** The fleet's reachability matrix. */
export interface ReachabilityMatrix {
  readonly hosts: string[];
  readonly groups: FleetGroup[];
  readonly cells: ReachabilityCell[];
  readonly groupCells: GroupCell[];
  /** Per host: what it opens to every address. */
  readonly openToAny: Record<string, Opening[]>;
}

/** A host's slices, each evaluated once. */
class HostSpace {
  private readonly slices = new Map<string, SliceVerdicts>();
  private readonly acceptors = new Map<string, (peer: bigint) => PortRange[]>();
  private readonly ruleset: CompiledRuleset;

  public constructor(private readonly host: FleetHost) {
    this.ruleset = CompiledRuleset.fromModel(host.name, host.model);
  }

  public verdicts(slice: SpaceSlice): SliceVerdicts {
    const k = `${slice.family}/${slice.direction}/${slice.protocol}`;
    let v = this.slices.get(k);
    if (!v) {
      const model = backendFor(this.host.backend).deployedModel(this.ruleset, slice.family);
      v = evaluateSlice(model, slice, cutsOf([model], slice));
      this.slices.set(k, v);
    }
    return v;
  }

  /** The ports (ICMP: request types) accepted for a peer address, under limits. */
  public accepted(slice: SpaceSlice, peer: bigint): PortRange[] {
    return this.acceptor(slice)(peer);
  }

  /**
   * `accepted` for one slice, its verdicts looked up once: the fleet's pair loop calls it
   * for every other host, so each address interval's ports are computed once.
   */
  public acceptor(slice: SpaceSlice): (peer: bigint) => PortRange[] {
    const k = `${slice.family}/${slice.direction}/${slice.protocol}`;
    let f = this.acceptors.get(k);
    if (f) return f;
    const { cuts, verdicts } = this.verdicts(slice);
    const byInterval = new Map<number, PortRange[]>();
    const nP = cuts.portCuts.length;
    f = (peer: bigint) => {
      const a = intervalIndex(cuts.addressCuts, peer);
      let out = byInterval.get(a);
      if (!out) {
        out = this.acceptedAt(slice, (p) => verdicts[a * nP + p].startsWith('accept|'));
        byInterval.set(a, out);
      }
      return out;
    };
    this.acceptors.set(k, f);
    return f;
  }

  /** The ports accepted from (or to) every address but loopback. */
  public acceptedFromAny(slice: SpaceSlice): PortRange[] {
    const { cuts, verdicts } = this.verdicts(slice);
    const nP = cuts.portCuts.length;
    const addresses = cuts.addressCuts.map((_first, a) => a).filter((a) => !isLoopback(slice.family, cuts.addressCuts[a]));
    return this.acceptedAt(slice, (p) => addresses.every((a) => verdicts[a * nP + p].startsWith('accept|')));
  }

  private acceptedAt(slice: SpaceSlice, ok: (p: number) => boolean): PortRange[] {
    const { cuts } = this.verdicts(slice);
    const out: PortRange[] = [];
    const max = portAxisMax(slice.protocol);
    cuts.portCuts.forEach((from, p) => {
      // ICMP: only the types that open a connection (echo and the other requests)
      if (!hasPorts(slice.protocol) && initialState(slice, from) !== ConnectionState.NEW) return;
      if (!ok(p)) return;
      const to = p + 1 < cuts.portCuts.length ? cuts.portCuts[p + 1] - 1 : max;
      const prev = out[out.length - 1];
      if (prev && prev.to + 1 === from) out[out.length - 1] = { from: prev.from, to };
      else out.push({ from, to });
    });
    return out;
  }
}

/** Intersection of two sorted range lists. */
export function intersectRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const x of a) {
    for (const y of b) {
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ from, to });
    }
  }
  return out.sort((p, q) => p.from - q.from);
}

/** `a` without `b`. */
export function subtractRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  let out = [...a];
  for (const y of b) {
    out = out.flatMap((x) => {
      if (y.to < x.from || y.from > x.to) return [x];
      const parts: PortRange[] = [];
      if (x.from < y.from) parts.push({ from: x.from, to: y.from - 1 });
      if (y.to < x.to) parts.push({ from: y.to + 1, to: x.to });
      return parts;
    });
  }
  return out;
}

function unionPorts(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const sorted = [...a, ...b].sort((p, q) => p.from - q.from);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && r.from <= prev.to + 1) out[out.length - 1] = { from: prev.from, to: Math.max(prev.to, r.to) };
    else out.push(r);
  }
  return out;
}

function openingKey(o: Opening): string {
  return `${o.family}/${o.protocol}`;
}

function combine(a: readonly Opening[], b: readonly Opening[], op: (x: PortRange[], y: PortRange[]) => PortRange[], keepMissing: boolean): Opening[] {
  const out: Opening[] = [];
  for (const family of ALL_FAMILIES) {
    for (const protocol of protocolsOf(family)) {
      const k = `${family}/${protocol}`;
      const x = a.find((o) => openingKey(o) === k)?.ports ?? [];
      const y = b.find((o) => openingKey(o) === k)?.ports ?? [];
      const ports = keepMissing || (x.length > 0 && y.length > 0) ? op(x, y) : [];
      if (ports.length > 0) out.push({ family, protocol, ports });
    }
  }
  return out;
}

function addressesOf(host: FleetHost, family: IpFamily): bigint[] {
  return host.addresses.map((a) => parseIp(a)).filter((p) => p !== undefined && p.family === family).map((p) => p!.value);
}

/**
 * The reachability matrix of a fleet: for each ordered pair of distinct hosts, what the
 * source can open to the target (the target's INPUT accepting the source's address, and
 * the source's OUTPUT accepting the target's), in each family both have an address of;
 * for each ordered pair of groups, what every source member can open to every target member.
 */
export function reachability(hosts: readonly FleetHost[], groups: readonly FleetGroup[] = []): ReachabilityMatrix {
  const spaces = new Map(hosts.map((h) => [h.name, new HostSpace(h)]));
  const openToAny: Record<string, Opening[]> = {};
  for (const h of hosts) {
    const space = spaces.get(h.name)!;
    openToAny[h.name] = ALL_FAMILIES.flatMap((family) => protocolsOf(family).map((protocol) => ({
      family, protocol, ports: space.acceptedFromAny({ family, direction: Direction.INBOUND, protocol }),
    }))).filter((o) => o.ports.length > 0);
  }
  // every host's addresses parsed once, and every host's slices resolved once per family and protocol
  const addresses = hosts.map((h) => new Map(ALL_FAMILIES.map((f) => [f, addressesOf(h, f)])));
  const kinds = ALL_FAMILIES.flatMap((family) => protocolsOf(family).map((protocol) => ({ family, protocol })));
  const acceptors = (direction: Direction) => kinds.map(({ family, protocol }) =>
    hosts.map((h) => spaces.get(h.name)!.acceptor({ family, direction, protocol })));
  const inbound = acceptors(Direction.INBOUND);
  const outbound = acceptors(Direction.OUTBOUND);
  const cells: ReachabilityCell[] = [];
  hosts.forEach((src, i) => {
    hosts.forEach((dst, j) => {
      if (i === j) return;
      const openings: Opening[] = [];
      kinds.forEach(({ family, protocol }, k) => {
        let ports: PortRange[] = [];
        for (const s of addresses[i].get(family)!) {
          for (const d of addresses[j].get(family)!) {
            ports = unionPorts(ports, intersectRanges(inbound[k][j](s), outbound[k][i](d)));
          }
        }
        if (ports.length > 0) openings.push({ family, protocol, ports });
      });
      cells.push({ from: src.name, to: dst.name, openings, specific: combine(openings, openToAny[dst.name], subtractRanges, true) });
    });
  });
  const cellOf = new Map(cells.map((c) => [`${c.from}>${c.to}`, c]));
  const groupCells: GroupCell[] = [];
  for (const g1 of groups) {
    for (const g2 of groups) {
      const pairs = g1.members.flatMap((s) => g2.members.filter((d) => d !== s).map((d) => cellOf.get(`${s}>${d}`))).filter((c) => c !== undefined);
      if (pairs.length === 0) continue;
      const common = pairs.slice(1).reduce((acc, c) => combine(acc, c!.openings, intersectRanges, false), pairs[0]!.openings);
      const all = pairs.slice(1).reduce((acc, c) => combine(acc, c!.openings, unionPorts, true), pairs[0]!.openings);
      const toAny = g2.members.map((m) => openToAny[m] ?? []);
      const anyCommon = toAny.slice(1).reduce((acc, o) => combine(acc, o, intersectRanges, false), toAny[0] ?? []);
      groupCells.push({
        from: g1.name,
        to: g2.name,
        openings: common,
        specific: combine(common, anyCommon, subtractRanges, true),
        varies: formatOpenings(all) !== formatOpenings(common),
      });
    }
  }
  return { hosts: hosts.map((h) => h.name), groups: [...groups], cells, groupCells, openToAny };
}

export { formatOpenings, reachabilityJson, reachabilityMarkdown } from './reachability-format';
