import { Chain, ChainPriority } from '../ir/chain';
import { ChainHook } from '../ir/chain-hook';
import { ConnectionState } from '../ir/connection-state';
import { RejectWith } from '../ir/reject-with';
import { AddressMatch, PortRange, RuleMatch } from '../ir/rule-match';
import { RulesetModel } from '../ir/ruleset-model';
import { Verdict } from '../ir/verdict';
import { MapKey } from '../ir/verdict-map';
import { familyMax, parseIp } from '../net/ip';
import { stateOfFirstPacket } from '../simulate/conntrack-state';
import { Direction } from '../simulate/direction';
import { TcpFlag } from '../simulate/tcp-flag';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

// The traffic a compiled ruleset accepts as the first packet of a connection, computed
// exactly as a partition of the space
//
//   family x direction x protocol x peer address intervals x port (or ICMP type) intervals
//
// by interval arithmetic: every address and port element of every rule (inline lists and
// named sets) cuts its axis, so each cell of the grid is matched or not matched as a
// whole by every rule, and one walk of the chains per cell (first match, jumps, gotos,
// returns, verdict maps, notrack in the raw chains) gives the cell's verdict. The space
// and its assumptions are the simulator's (src/core/simulate), so any packet of a cell
// gets the cell's verdict there:
//
// - first packets only: a TCP SYN (state NEW), a UDP datagram (NEW), an ICMP/ICMPv6
//   message of any type in the state conntrack gives it without a connection (NEW for
//   requests, UNTRACKED for neighbour discovery and MLD, INVALID otherwise), ICMP code 0,
//   the hop limit the simulator gives it (255 for neighbour discovery, 64 otherwise);
// - the source port is an ephemeral one (40000), for both directions;
// - inbound packets arrive on `lo` from loopback sources, on another interface otherwise,
//   and are addressed to the host; outbound packets leave on `lo` to loopback
//   destinations, from the host's own address (`OWN_ADDRESS`);
// - limits (rate limits, per-source rates, connection counts, SYN-flood caps) are not a
//   question of the packet but of the traffic before it: each cell is evaluated in the four
//   combinations of "over a rate limit" and "over a connection limit", and its verdict is
//   the four verdicts (a cell accepted within limits and dropped over them is not the
//   same cell as one always accepted).

/** The limit situations a cell is evaluated in: [over rate limit, over connection limit]. */
export const LIMIT_CASES: readonly (readonly [boolean, boolean])[] = [[false, false], [true, false], [false, true], [true, true]];

/** The host's own address the simulator's outbound packets come from (no compiled outbound rule matches a source). */
export const OWN_ADDRESS: Record<IpFamily, string> = { [IpFamily.IPV4]: '192.0.2.1', [IpFamily.IPV6]: '2001:db8::1' };

/** The source port of every packet of the space. */
export const EPHEMERAL_PORT = 40000;

/** The protocols of a family's space. */
export function protocolsOf(family: IpFamily): Protocol[] {
  return [Protocol.TCP, Protocol.UDP, family === IpFamily.IPV4 ? Protocol.ICMP : Protocol.ICMPV6];
}

/** Whether the port axis is the transport destination port (else the ICMP type). */
export function hasPorts(protocol: Protocol): boolean {
  return protocol === Protocol.TCP || protocol === Protocol.UDP;
}

/** The largest value on the port axis: 65535, or 255 for ICMP types. */
export function portAxisMax(protocol: Protocol): number {
  return hasPorts(protocol) ? 65535 : 255;
}

/** One slice of the space: the grid of a family, direction and protocol. */
export interface SpaceSlice {
  readonly family: IpFamily;
  readonly direction: Direction;
  readonly protocol: Protocol;
}

/**
 * The cuts of a slice's two axes: `addressCuts[i]` is the first address of the i-th
 * address interval (the first is 0), `portCuts[j]` the first port (or ICMP type) of the
 * j-th port interval (the first is 0). Interval i ends where i+1 starts.
 */
export interface Cuts {
  readonly addressCuts: bigint[];
  readonly portCuts: number[];
}

interface Interval {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

const elementCache = new Map<string, Interval | undefined>();

/** An address element (`a/n`, `a-b`, `a`) as an interval; undefined when it is not an address. */
export function addressInterval(element: string): Interval | undefined {
  if (elementCache.has(element)) return elementCache.get(element);
  let out: Interval | undefined;
  const slash = element.indexOf('/');
  if (slash >= 0) {
    const ip = parseIp(element.slice(0, slash));
    if (ip) {
      const bits = ip.family === IpFamily.IPV4 ? 32 : 128;
      const host = (1n << BigInt(bits - Number(element.slice(slash + 1)))) - 1n;
      out = { family: ip.family, first: ip.value & ~host, last: ip.value | host };
    }
  } else {
    const dash = element.indexOf('-');
    const a = parseIp(dash >= 0 ? element.slice(0, dash) : element);
    const b = parseIp(dash >= 0 ? element.slice(dash + 1) : element);
    if (a && b) out = { family: a.family, first: a.value, last: b.value };
  }
  elementCache.set(element, out);
  return out;
}

/** A port element (`22`, `1000-2000`) as a range. */
export function portElement(element: string): PortRange {
  const dash = element.indexOf('-');
  return dash >= 0 ? { from: Number(element.slice(0, dash)), to: Number(element.slice(dash + 1)) } : { from: Number(element), to: Number(element) };
}

const LOOPBACK: Record<IpFamily, Interval> = {
  [IpFamily.IPV4]: addressInterval('127.0.0.0/8')!,
  [IpFamily.IPV6]: addressInterval('::1/128')!,
};

/** Whether an address is a loopback address (then the packet uses `lo`). */
export function isLoopback(family: IpFamily, value: bigint): boolean {
  const l = LOOPBACK[family];
  return l.first <= value && value <= l.last;
}

/** The ICMP type's hop limit as the simulator gives it (255 for neighbour discovery). */
function icmpHopLimit(family: IpFamily, type: number): number {
  return family === IpFamily.IPV6 && type >= 133 && type <= 136 ? 255 : 64;
}

function firstPacketState(slice: SpaceSlice, type: number): ConnectionState {
  return stateOfFirstPacket(slice.family, slice.protocol, hasPorts(slice.protocol) ? [TcpFlag.SYN] : [], type);
}

/** The state a cell's packets start in, from the port axis value (the ICMP type). */
export function initialState(slice: SpaceSlice, portValue: number): ConnectionState {
  return firstPacketState(slice, portValue);
}

function allMatches(model: RulesetModel): RuleMatch[] {
  const out: RuleMatch[] = [];
  for (const table of model.tables) {
    for (const chain of table.chains) {
      for (const rule of chain.rules) {
        out.push(rule.match);
        for (const entry of rule.verdictMap?.entries ?? []) out.push(entry.match);
      }
    }
  }
  return out;
}

function setElements(model: RulesetModel): Map<string, string[]> {
  return new Map((model.sets ?? []).map((s) => [s.name, s.elements]));
}

/** The cuts every rule of the models makes on a slice's axes (pass both models of a diff). */
export function cutsOf(models: readonly RulesetModel[], slice: SpaceSlice): Cuts {
  const addresses = new Set<bigint>([0n]);
  const ports = new Set<number>([0]);
  const max = familyMax(slice.family);
  const addInterval = (first: bigint, last: bigint) => {
    addresses.add(first);
    if (last < max) addresses.add(last + 1n);
  };
  addInterval(LOOPBACK[slice.family].first, LOOPBACK[slice.family].last);
  const addPort = (from: number, to: number) => {
    ports.add(from);
    if (to < portAxisMax(slice.protocol)) ports.add(to + 1);
  };
  for (const model of models) {
    const sets = setElements(model);
    const peerField = (m: RuleMatch): AddressMatch | undefined => (slice.direction === Direction.INBOUND ? m.source : m.destination);
    for (const m of allMatches(model)) {
      const peer = peerField(m);
      if (peer) {
        for (const e of peer.set !== undefined ? sets.get(peer.set) ?? [] : peer.elements ?? []) {
          const r = addressInterval(e);
          if (r && r.family === slice.family) addInterval(r.first, r.last);
        }
      }
      if (hasPorts(slice.protocol)) {
        const list = m.destinationPortSet !== undefined ? (sets.get(m.destinationPortSet) ?? []).map(portElement) : m.destinationPorts ?? [];
        for (const p of list) addPort(p.from, p.to);
      } else {
        for (const t of m.icmpTypes ?? []) addPort(t, t);
      }
    }
  }
  if (!hasPorts(slice.protocol)) {
    // the first-packet state and the hop limit change with the ICMP type
    for (let t = 1; t <= 255; t++) {
      const stateChanges = firstPacketState(slice, t) !== firstPacketState(slice, t - 1);
      if (stateChanges || icmpHopLimit(slice.family, t) !== icmpHopLimit(slice.family, t - 1)) ports.add(t);
    }
  }
  return {
    addressCuts: [...addresses].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    portCuts: [...ports].sort((a, b) => a - b),
  };
}

/** The index of the interval holding `value` (cuts sorted, cuts[0] = 0). */
export function intervalIndex<T extends number | bigint>(cuts: readonly T[], value: T): number {
  let lo = 0;
  let hi = cuts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cuts[mid] <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The last value of interval `i`. */
export function intervalLast<T extends number | bigint>(cuts: readonly T[], i: number, max: T): T {
  return (i + 1 < cuts.length ? (typeof max === 'bigint' ? (cuts[i + 1] as bigint) - 1n : (cuts[i + 1] as number) - 1) : max) as T;
}

/**
 * The verdicts of a slice's cells: `verdicts[a * ports + p]` for address interval a and
 * port interval p, each the verdicts in the four `LIMIT_CASES` joined by `|`
 * (`accept`, `drop`, `reject:<with>`), and the state each cell's packets start in.
 */
export interface SliceVerdicts {
  readonly cuts: Cuts;
  readonly verdicts: string[];
}

/** Evaluates every cell of a slice of a model (rulesets as deployed: the backend's layout). */
export function evaluateSlice(model: RulesetModel, slice: SpaceSlice, cuts: Cuts): SliceVerdicts {
  const { addressCuts, portCuts } = cuts;
  const nA = addressCuts.length;
  const nP = portCuts.length;
  const sets = setElements(model);
  const family = slice.family;
  const inbound = slice.direction === Direction.INBOUND;
  const withPorts = hasPorts(slice.protocol);

  // each address or port match once over its whole axis
  const addressMemo = new Map<AddressMatch, Uint8Array>();
  const addressVector = (m: AddressMatch): Uint8Array => {
    let v = addressMemo.get(m);
    if (v) return v;
    v = new Uint8Array(nA);
    const elements = m.set !== undefined ? sets.get(m.set) : m.elements;
    if (!elements) throw new Error(`semantic diff: unknown address set '${m.set}'`);
    for (const e of elements) {
      const r = addressInterval(e);
      if (!r || r.family !== family) continue;
      for (let i = intervalIndex(addressCuts, r.first); i < nA && addressCuts[i] <= r.last; i++) v[i] = 1;
    }
    addressMemo.set(m, v);
    return v;
  };
  const own = parseIp(OWN_ADDRESS[family])!.value;
  const ownMemo = new Map<AddressMatch, boolean>();
  const ownMatches = (m: AddressMatch): boolean => {
    let v = ownMemo.get(m);
    if (v === undefined) {
      const elements = m.set !== undefined ? sets.get(m.set) ?? [] : m.elements ?? [];
      v = elements.some((e) => {
        const r = addressInterval(e);
        return r !== undefined && r.family === family && r.first <= own && own <= r.last;
      });
      ownMemo.set(m, v);
    }
    return v;
  };
  const portMemo = new Map<readonly PortRange[] | string, Uint8Array>();
  const portVector = (key: readonly PortRange[] | string): Uint8Array => {
    let v = portMemo.get(key);
    if (v) return v;
    v = new Uint8Array(nP);
    let list: readonly PortRange[];
    if (typeof key === 'string') {
      const elements = sets.get(key);
      if (!elements) throw new Error(`semantic diff: unknown port set '${key}'`);
      list = elements.map(portElement);
    } else {
      list = key;
    }
    for (const p of list) {
      for (let i = intervalIndex(portCuts, p.from); i < nP && portCuts[i] <= p.to; i++) v[i] = 1;
    }
    portMemo.set(key, v);
    return v;
  };
  const sourcePortMatches = (m: RuleMatch): boolean => {
    if (!withPorts) return false;
    const list = m.sourcePortSet !== undefined ? (sets.get(m.sourcePortSet) ?? []).map(portElement) : m.sourcePorts ?? [];
    return list.some((p) => p.from <= EPHEMERAL_PORT && EPHEMERAL_PORT <= p.to);
  };

  interface Cell {
    a: number;
    p: number;
    state: ConnectionState;
    overRate: boolean;
    overConnections: boolean;
    loopback: boolean;
    icmpType: number;
  }
  const matches = (m: RuleMatch, c: Cell): boolean => {
    if (m.family !== undefined && m.family !== family) return false;
    if (m.inInterface !== undefined && m.inInterface !== (inbound ? (c.loopback ? 'lo' : 'eth0') : '')) return false;
    if (m.outInterface !== undefined && m.outInterface !== (inbound ? '' : c.loopback ? 'lo' : 'eth0')) return false;
    if (m.protocol !== undefined && m.protocol !== slice.protocol) return false;
    if (m.states !== undefined && !m.states.includes(c.state)) return false;
    if (m.tcpSynOnly && slice.protocol !== Protocol.TCP) return false;
    if (m.source !== undefined && !(inbound ? addressVector(m.source)[c.a] === 1 : ownMatches(m.source))) return false;
    // inbound packets are addressed to the host, as in the simulator: no destination list matches them
    if (m.destination !== undefined && !(inbound ? false : addressVector(m.destination)[c.a] === 1)) return false;
    if (m.destinationLocal && !inbound) return false;
    if (m.destinationPorts !== undefined && !(withPorts && portVector(m.destinationPorts)[c.p] === 1)) return false;
    if (m.destinationPortSet !== undefined && !(withPorts && portVector(m.destinationPortSet)[c.p] === 1)) return false;
    if ((m.sourcePorts !== undefined || m.sourcePortSet !== undefined) && !sourcePortMatches(m)) return false;
    if (m.icmpTypes !== undefined && (withPorts || !m.icmpTypes.includes(c.icmpType))) return false;
    if (m.icmpCode !== undefined && (withPorts || m.icmpCode !== 0)) return false;
    if (m.hopLimit !== undefined && m.hopLimit !== (withPorts ? 64 : icmpHopLimit(family, c.icmpType))) return false;
    if (m.limit !== undefined && c.overRate) return false;
    if (m.sourceRateOver !== undefined && !c.overRate) return false;
    if (m.rateOver !== undefined && !c.overRate) return false;
    if (m.sourceConnectionsOver !== undefined && !c.overConnections) return false;
    const under = m.limitsUnder;
    if (under && (((under.sourceRate || under.rate) && c.overRate) || (under.sourceConnections && c.overConnections))) return false;
    return true;
  };

  const bases = (hook: ChainHook, beforeConntrack: boolean) => model.tables.flatMap((t) =>
    t.chains
      .filter((c) => c.hook === hook && (t.name === 'raw' ? c.priority !== ChainPriority.FILTER : c.priority === ChainPriority.RAW) === beforeConntrack)
      .map((chain) => ({ chains: new Map(t.chains.map((x) => [x.name, x])), chain, beforeConntrack })));
  const order = [
    ...bases(inbound ? ChainHook.PREROUTING : ChainHook.OUTPUT, true),
    ...bases(inbound ? ChainHook.INPUT : ChainHook.OUTPUT, false),
  ];
  const limited = allMatches(model).some((m) => m.limit || m.sourceRateOver || m.rateOver || m.sourceConnectionsOver || m.limitsUnder);

  const evaluate = (cell: Cell): string => {
    for (const { chains, chain } of order) {
      const verdict = walkChain(chains, chain, cell);
      if (verdict !== Verdict.ACCEPT) return verdict;
    }
    return Verdict.ACCEPT;
  };
  const walkChain = (chains: Map<string, Chain>, base: Chain, cell: Cell): string => {
    const stack: { chain: Chain; index: number }[] = [{ chain: base, index: 0 }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      if (frame.index >= frame.chain.rules.length) {
        stack.pop();
        continue;
      }
      const rule = frame.chain.rules[frame.index++];
      let verdict = rule.verdict;
      let target = rule.target;
      let rejectWith = rule.rejectWith;
      if (verdict === Verdict.MAP) {
        // a map keyed on `th sport` reads ICMP's type and code there (type << 8 | code; the cells' code is 0)
        const icmpKeyed = !withPorts && rule.verdictMap?.keys.includes(MapKey.TRANSPORT_SOURCE_PORT);
        const entryMatches = (e: RuleMatch) => (icmpKeyed && e.sourcePorts
          ? matches({ ...e, sourcePorts: undefined }, cell) && e.sourcePorts.some((r) => r.from <= cell.icmpType << 8 && cell.icmpType << 8 <= r.to)
          : matches(e, cell));
        const entry = matches(rule.match, cell) ? rule.verdictMap?.entries.find((e) => entryMatches(e.match)) : undefined;
        if (!entry) continue;
        verdict = entry.verdict;
        target = entry.target;
        rejectWith = undefined;
      } else if (!matches(rule.match, cell)) {
        continue;
      }
      switch (verdict) {
        case Verdict.JUMP:
        case Verdict.GOTO: {
          const next = target ? chains.get(target) : undefined;
          if (!next) throw new Error(`semantic diff: ${frame.chain.name} ${verdict}s to unknown chain '${target}'`);
          if (verdict === Verdict.GOTO) stack.pop();
          stack.push({ chain: next, index: 0 });
          break;
        }
        case Verdict.RETURN:
          stack.pop();
          break;
        case Verdict.LOG:
        case Verdict.HELPER:
          break;
        case Verdict.NOTRACK:
          cell.state = ConnectionState.UNTRACKED;
          break;
        case Verdict.REJECT:
          return `reject:${rejectWith ?? RejectWith.PORT_UNREACHABLE}`;
        default:
          return verdict;
      }
    }
    return base.policy ?? Verdict.ACCEPT;
  };

  const verdicts = new Array<string>(nA * nP);
  for (let a = 0; a < nA; a++) {
    const first = addressCuts[a];
    const loopback = isLoopback(family, first);
    for (let p = 0; p < nP; p++) {
      const icmpType = withPorts ? -1 : portCuts[p];
      const state = firstPacketState(slice, withPorts ? 0 : icmpType);
      const out: string[] = [];
      for (const [overRate, overConnections] of limited ? LIMIT_CASES : LIMIT_CASES.slice(0, 1)) {
        out.push(evaluate({ a, p, state, overRate, overConnections, loopback, icmpType }));
      }
      while (out.length < LIMIT_CASES.length) out.push(out[0]);
      verdicts[a * nP + p] = out.join('|');
    }
  }
  return { cuts, verdicts };
}
