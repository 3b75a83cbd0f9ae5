import {
  cutsOf, evaluateSlice, hasPorts, initialState, LIMIT_CASES, OWN_ADDRESS, portAxisMax, protocolsOf, SpaceSlice,
} from './traffic-space';
import { Backend } from '../backends/backend';
import { backendFor } from '../backends/registry';
import { CompiledRuleset } from '../compiled-ruleset';
import { ConnectionState } from '../ir/connection-state';
import { PortRange } from '../ir/rule-match';
import { RulesetModel } from '../ir/ruleset-model';
import { AddressRange, unionRanges } from '../net/address-range';
import { familyMax, formatIp, parseIp } from '../net/ip';
import { Direction } from '../simulate/direction';
import { Packet } from '../simulate/packet';
import { Simulator } from '../simulate/simulator';
import { ALL_FAMILIES, IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

/** One host's compiled ruleset as a synth output holds it (`firewall/<host>/model.json`). */
export interface DiffHost {
  /** The stack the host is in. */
  readonly stack: string;
  /** The host's name. */
  readonly hostName: string;
  /** The host's construct path. */
  readonly path: string;
  /** `iptables` or `nftables`. */
  readonly backend: string;
  /** The backend-neutral model. */
  readonly model: RulesetModel;
}

/** How a row's traffic changed. */
export type ChangeKind = 'newly allowed' | 'newly refused' | 'refused differently' | 'limits changed';

/** A set of packets whose verdict changed the same way: peers x protocol and ports x state. */
export interface DiffRow {
  readonly kind: ChangeKind;
  readonly family: IpFamily;
  readonly direction: Direction;
  readonly protocol: Protocol;
  /** The state the packets start in (new for SYNs and UDP, ICMP by type). */
  readonly state: ConnectionState;
  /** Peer addresses (sources inbound, destinations outbound), merged. */
  readonly peers: AddressRange[];
  /** Destination ports (TCP, UDP) or ICMP types, merged. */
  readonly ports: PortRange[];
  /** The verdict before and after (`accept`, `drop`, `reject:<with>`, with limits when they differ). */
  readonly before: string;
  readonly after: string;
  /** The verdicts before and after in each of the four `LIMIT_CASES` (under limits first). */
  readonly beforeByLimits: string[];
  readonly afterByLimits: string[];
  /** One packet of the row, evaluated by the simulator on both rulesets. */
  readonly example: Packet;
  /** The simulator's verdicts for the example (old, new). */
  readonly exampleVerdicts: [string, string];
}

/** A host present in both outputs whose behaviour changed. */
export interface HostDiff {
  readonly stack: string;
  readonly hostName: string;
  readonly path: string;
  readonly oldBackend: string;
  readonly newBackend: string;
  readonly rows: DiffRow[];
}

/** The semantic difference between two synth outputs. */
export interface SemanticDiffResult {
  readonly changed: HostDiff[];
  /** Hosts only in the new output (stack/hostName). */
  readonly added: DiffHost[];
  /** Hosts only in the old output. */
  readonly removed: DiffHost[];
  /** Hosts compared and found to behave the same. */
  readonly unchanged: number;
}

/** The deployed model of a host: the layout its backend loads (what the simulator evaluates). */
export function deployedModel(host: DiffHost, family: IpFamily): RulesetModel {
  const ruleset = CompiledRuleset.fromModel(host.hostName, host.model);
  return backendFor(host.backend).deployedModel(ruleset, family);
}

function backendOf(host: DiffHost): Backend {
  return backendFor(host.backend).id;
}

function key(h: DiffHost): string {
  return `${h.stack}/${h.hostName}`;
}

/** The slices of the space, in report order. */
export function allSlices(): SpaceSlice[] {
  const out: SpaceSlice[] = [];
  for (const family of ALL_FAMILIES) {
    for (const direction of [Direction.INBOUND, Direction.OUTBOUND]) {
      for (const protocol of protocolsOf(family)) out.push({ family, direction, protocol });
    }
  }
  return out;
}

/** A readable verdict tuple: `accept`, or `accept; over rate limit: drop; ...`. */
export function describeVerdicts(tuple: string): string {
  const v = tuple.split('|');
  if (v.every((x) => x === v[0])) return v[0];
  const names = ['', 'over a rate limit', 'over a connection limit', 'over both limits'];
  // over both limits is left out only when a single limit is in play and explains it
  const onlyOne = (v[1] === v[0] && v[3] === v[2]) || (v[2] === v[0] && v[3] === v[1]);
  const shown = [1, 2, 3].filter((i) => v[i] !== v[0] && (i < 3 || !onlyOne));
  const extra = shown.map((i) => `${names[i]}: ${v[i]}`);
  return `${v[0]} (${extra.join('; ')})`;
}

function kindOf(before: string, after: string): ChangeKind {
  const b = before.split('|');
  const a = after.split('|');
  if (b[0] !== a[0]) {
    if (a[0] === 'accept') return 'newly allowed';
    if (b[0] === 'accept') return 'newly refused';
    return 'refused differently';
  }
  return 'limits changed';
}

/** The packet the simulator evaluates for a point of a slice (in one limit case). */
export function packetAt(slice: SpaceSlice, peer: bigint, port: number, limitCase: number): Packet {
  const address = formatIp(slice.family, peer);
  const [overRateLimit, overConnectionLimit] = LIMIT_CASES[limitCase];
  const inbound = slice.direction === Direction.INBOUND;
  const ends = inbound
    ? { from: address }
    : { from: OWN_ADDRESS[slice.family], to: address, direction: Direction.OUTBOUND };
  const base = { ...ends, overRateLimit, overConnectionLimit };
  switch (slice.protocol) {
    case Protocol.TCP:
      return Packet.tcp({ ...base, port });
    case Protocol.UDP:
      return Packet.udp({ ...base, port });
    default:
      return Packet.icmp({ ...base, type: port });
  }
}

/** The simulator's verdict as the diff writes it. */
export function simulatedVerdict(ruleset: CompiledRuleset, backend: Backend, packet: Packet): string {
  const r = Simulator.evaluate(ruleset, packet, backend);
  return r.verdict === 'reject' ? `reject:${r.rejectWith}` : r.verdict;
}

function mergePorts(ps: number[], cuts: readonly number[], max: number): PortRange[] {
  const out: PortRange[] = [];
  for (const p of ps) {
    const from = cuts[p];
    const to = p + 1 < cuts.length ? cuts[p + 1] - 1 : max;
    const prev = out[out.length - 1];
    if (prev && prev.to + 1 === from) out[out.length - 1] = { from: prev.from, to };
    else out.push({ from, to });
  }
  return out;
}

/** Addresses an example prefers when a row holds them: documentation and private ranges. */
const EXAMPLE_CANDIDATES: Record<IpFamily, string[]> = {
  [IpFamily.IPV4]: ['203.0.113.10', '198.51.100.10', '192.0.2.10', '10.0.0.10', '172.16.0.10', '192.168.0.10', '100.64.0.10'],
  [IpFamily.IPV6]: ['2001:db8::10', '2001:db8:1::10', 'fd00::10', '2a00:1450::10'],
};

/** An address of the ranges that reads well as an example (and is a usable unicast source). */
function exampleAddress(family: IpFamily, ranges: readonly AddressRange[]): bigint {
  for (const text of EXAMPLE_CANDIDATES[family]) {
    const v = parseIp(text)!.value;
    if (ranges.some((r) => r.first <= v && v <= r.last)) return v;
  }
  const r = ranges[0];
  const lowest = family === IpFamily.IPV4 ? 0x01000000n : 1n << 120n; // past 0.0.0.0/8, ::/8
  if (r.first < lowest && r.last >= lowest) return lowest + 1n <= r.last ? lowest + 1n : lowest;
  return r.last - r.first >= 2n ? r.first + 1n : r.first;
}

function examplePort(range: PortRange, protocol: Protocol): number {
  return hasPorts(protocol) && range.from === 0 && range.to > 0 ? 1 : range.from;
}

/** The rows of one slice in which `oldHost` and `newHost` differ. */
function diffSlice(oldHost: DiffHost, newHost: DiffHost, slice: SpaceSlice): DiffRow[] {
  const oldModel = deployedModel(oldHost, slice.family);
  const newModel = deployedModel(newHost, slice.family);
  const cuts = cutsOf([oldModel, newModel], slice);
  const before = evaluateSlice(oldModel, slice, cuts).verdicts;
  const after = evaluateSlice(newModel, slice, cuts).verdicts;
  const nA = cuts.addressCuts.length;
  const nP = cuts.portCuts.length;
  const amax = familyMax(slice.family);
  const pmax = portAxisMax(slice.protocol);
  // per change (before -> after, start state): address interval -> its changed port intervals
  const groups = new Map<string, Map<number, number[]>>();
  for (let a = 0; a < nA; a++) {
    for (let p = 0; p < nP; p++) {
      const i = a * nP + p;
      if (before[i] === after[i]) continue;
      const state = initialState(slice, cuts.portCuts[p]);
      const g = `${before[i]}>${after[i]}>${state}`;
      let byAddress = groups.get(g);
      if (!byAddress) groups.set(g, (byAddress = new Map()));
      let ports = byAddress.get(a);
      if (!ports) byAddress.set(a, (ports = []));
      ports.push(p);
    }
  }
  const rows: DiffRow[] = [];
  for (const [g, byAddress] of groups) {
    const [b, af, state] = g.split('>');
    // address intervals with the same ports become one row
    const byPorts = new Map<string, { ports: PortRange[]; peers: AddressRange[] }>();
    for (const [a, ps] of byAddress) {
      const ports = mergePorts(ps, cuts.portCuts, pmax);
      const k = ports.map((r) => `${r.from}-${r.to}`).join(',');
      let entry = byPorts.get(k);
      if (!entry) byPorts.set(k, (entry = { ports, peers: [] }));
      const first = cuts.addressCuts[a];
      const last = a + 1 < nA ? cuts.addressCuts[a + 1] - 1n : amax;
      entry.peers.push({ family: slice.family, first, last });
    }
    for (const { ports, peers } of byPorts.values()) {
      const merged = unionRanges(peers);
      const limitCase = b.split('|').findIndex((x, i) => x !== af.split('|')[i]);
      const example = packetAt(slice, exampleAddress(slice.family, merged), examplePort(ports[0], slice.protocol), limitCase);
      const expected: [string, string] = [b.split('|')[limitCase], af.split('|')[limitCase]];
      const got: [string, string] = [
        simulatedVerdict(CompiledRuleset.fromModel(oldHost.hostName, oldHost.model), backendOf(oldHost), example),
        simulatedVerdict(CompiledRuleset.fromModel(newHost.hostName, newHost.model), backendOf(newHost), example),
      ];
      if (got[0] !== expected[0] || got[1] !== expected[1]) {
        throw new Error(`semantic diff: internal disagreement with the simulator on ${newHost.hostName}: ${example} is ${got.join(' -> ')}, computed ${expected.join(' -> ')}`);
      }
      rows.push({
        kind: kindOf(b, af),
        ...slice,
        state: state as ConnectionState,
        peers: merged,
        ports,
        before: describeVerdicts(b),
        after: describeVerdicts(af),
        beforeByLimits: b.split('|'),
        afterByLimits: af.split('|'),
        example,
        exampleVerdicts: got,
      });
    }
  }
  const order: ChangeKind[] = ['newly allowed', 'newly refused', 'refused differently', 'limits changed'];
  return rows.sort((x, y) => order.indexOf(x.kind) - order.indexOf(y.kind)
    || (x.peers[0].first < y.peers[0].first ? -1 : x.peers[0].first > y.peers[0].first ? 1 : 0)
    || x.ports[0].from - y.ports[0].from);
}

/** The behaviour change of one host. */
export function diffHost(oldHost: DiffHost, newHost: DiffHost): DiffRow[] {
  return allSlices().flatMap((slice) => diffSlice(oldHost, newHost, slice));
}

/**
 * The semantic difference between two sets of compiled hosts (two synth outputs): per
 * host, the first packets of connections whose verdict changed, merged into rows, each
 * with an example the simulator confirms; hosts added and removed (by stack and name).
 */
export function semanticDiff(oldHosts: readonly DiffHost[], newHosts: readonly DiffHost[]): SemanticDiffResult {
  const oldByKey = new Map(oldHosts.map((h) => [key(h), h]));
  const newByKey = new Map(newHosts.map((h) => [key(h), h]));
  const changed: HostDiff[] = [];
  let unchanged = 0;
  for (const [k, n] of [...newByKey].sort(([a], [b]) => a.localeCompare(b))) {
    const o = oldByKey.get(k);
    if (!o) continue;
    const rows = diffHost(o, n);
    if (rows.length === 0) unchanged++;
    else changed.push({ stack: n.stack, hostName: n.hostName, path: n.path, oldBackend: o.backend, newBackend: n.backend, rows });
  }
  return {
    changed,
    added: newHosts.filter((h) => !oldByKey.has(key(h))),
    removed: oldHosts.filter((h) => !newByKey.has(key(h))),
    unchanged,
  };
}

export { formatDiffMarkdown, formatDiffText, formatPeers, formatPorts, hasChanges } from './diff-format';
