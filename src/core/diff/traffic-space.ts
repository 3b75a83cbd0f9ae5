import {
  addressInterval, Cuts, firstPacketState, hasPorts, icmpHopLimit, intervalIndex, isLoopback, LIMIT_CASES, LOOPBACK,
  OWN_ADDRESS, EPHEMERAL_PORT, portAxisMax, portElement, SpaceSlice,
} from './space-axes';
import { Chain, ChainPriority } from '../ir/chain';
import { ChainHook } from '../ir/chain-hook';
import { ConnectionState } from '../ir/connection-state';
import { RejectWith } from '../ir/reject-with';
import { Rule } from '../ir/rule';
import { AddressMatch, PortRange, RuleMatch } from '../ir/rule-match';
import { RulesetModel } from '../ir/ruleset-model';
import { Verdict } from '../ir/verdict';
import { MapKey } from '../ir/verdict-map';
import { familyMax, parseIp } from '../net/ip';
import { walkChain as walkChainOnce } from '../simulate/chain-walk';
import { Direction } from '../simulate/direction';
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

export {
  addressInterval, EPHEMERAL_PORT, hasPorts, initialState, intervalIndex, intervalLast, isLoopback, LIMIT_CASES, OWN_ADDRESS,
  portAxisMax, portElement, protocolsOf,
} from './space-axes';
export type { Cuts, SpaceSlice } from './space-axes';

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
    const visit = (rule: Rule): Rule | undefined => {
      if (rule.verdict !== Verdict.MAP) return matches(rule.match, cell) ? rule : undefined;
      // a map keyed on `th sport` reads ICMP's type and code there (type << 8 | code; the cells' code is 0)
      const icmpKeyed = !withPorts && rule.verdictMap?.keys.includes(MapKey.TRANSPORT_SOURCE_PORT);
      const entryMatches = (e: RuleMatch) => (icmpKeyed && e.sourcePorts
        ? matches({ ...e, sourcePorts: undefined }, cell) && e.sourcePorts.some((r) => r.from <= cell.icmpType << 8 && cell.icmpType << 8 <= r.to)
        : matches(e, cell));
      const entry = matches(rule.match, cell) ? rule.verdictMap?.entries.find((e) => entryMatches(e.match)) : undefined;
      return entry ? { match: rule.match, verdict: entry.verdict, target: entry.target, origins: [] } : undefined;
    };
    const effect = (rule: Rule) => {
      if (rule.verdict === Verdict.NOTRACK) cell.state = ConnectionState.UNTRACKED;
    };
    let end;
    try {
      end = walkChainOnce(chains, base, visit, effect);
    } catch (e) {
      throw new Error(`semantic diff: ${(e as Error).message}`);
    }
    return end.verdict === Verdict.REJECT ? `reject:${end.rule?.rejectWith ?? RejectWith.PORT_UNREACHABLE}` : end.verdict;
  };

  // Address intervals that every address match of the model contains alike (and that are
  // alike loopback or not) get the same verdicts: each such class is evaluated once. A
  // host open to a few hundred peers has as many intervals but two or three classes.
  const peerMatches = [...new Set(allMatches(model).map((m) => (inbound ? m.source : m.destination)))]
    .filter((m): m is AddressMatch => m !== undefined);
  // classes refined one match at a time (class, in or out) -> new class: integers, no signatures
  let classOf = new Int32Array(nA);
  for (let a = 0; a < nA; a++) classOf[a] = isLoopback(family, addressCuts[a]) ? 1 : 0;
  for (const m of peerMatches) {
    const v = addressVector(m);
    const next = new Int32Array(nA);
    const ids = new Map<number, number>();
    for (let a = 0; a < nA; a++) {
      const key = classOf[a] * 2 + v[a];
      let id = ids.get(key);
      if (id === undefined) {
        id = ids.size;
        ids.set(key, id);
      }
      next[a] = id;
    }
    classOf = next;
  }
  const representative = new Int32Array(nA);
  const firstOfClass = new Map<number, number>();
  for (let a = 0; a < nA; a++) {
    const seen = firstOfClass.get(classOf[a]);
    representative[a] = seen ?? a;
    if (seen === undefined) firstOfClass.set(classOf[a], a);
  }
  const verdicts = new Array<string>(nA * nP);
  for (let a = 0; a < nA; a++) {
    const rep = representative[a];
    if (rep !== a) {
      for (let p = 0; p < nP; p++) verdicts[a * nP + p] = verdicts[rep * nP + p];
      continue;
    }
    const loopback = isLoopback(family, addressCuts[a]);
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
