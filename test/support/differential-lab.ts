/**
 * Differential testing against the kernel: random policies and random probes, each
 * probe both simulated (`CompiledRuleset.simulate`) and sent as a real packet through
 * the rendered ruleset loaded into a network namespace. Shared by
 * test/kernel/differential.test.ts (bounded CI run) and scripts/differential.ts (large runs).
 *
 * The lab: a HOST namespace holding the ruleset and a CLIENT namespace joined by a veth
 * pair. test/support/probe-agent.py runs in the client and injects crafted frames (any
 * source address) on its veth, so the client's own stack never takes part (its output
 * is muted with an nft drop policy as well); it tells whether each probe reached the
 * host's TCP/UDP/ICMP stack (SNMP counters of the host namespace) and which reply came
 * back. See the agent's header for the details.
 *
 * @example
 * const lab = await DifferentialLab.start();
 * try {
 *   const outcome = await runPolicy(lab, { seed: 42, probes: 50, backend: 'nftables' });
 *   console.log(formatOutcome(outcome));
 * } finally {
 *   lab.destroy();
 * }
 */
import { ChildProcess } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import { Lab, netnsSupported } from './netns';
import { lateBindings, randomPolicy, randomPolicyWithFeatures, randomPolicyWithSets, rng } from './random-policy';
import { Backend, CompiledRuleset, ConnectionState, Direction, IpFamily, Packet, Protocol, RejectWith, Rule, SimulationResult, TcpFlag, Verdict } from '../../src/core';
import { iptablesRuleArgs } from '../../src/core/backends/iptables/iptables-restore';
import { nftRuleText } from '../../src/core/backends/nftables/nftables';
import { formatIp, parseIp } from '../../src/core/net/ip';
import { isIcmpError } from '../../src/core/simulate/conntrack-state';
import { evaluateModelWithState } from '../../src/core/simulate/simulator';

export const HOST4 = '10.99.0.1';
export const HOST6 = 'fd00:99::1';
export const CLIENT4 = '10.99.0.2';
export const CLIENT6 = 'fd00:99::2';
const HOST_IF = 'veth-h';
const CLIENT_IF = 'veth-c';

/** Link-local probe sources; the host has permanent neighbour entries for them. */
export const LINK_LOCAL_SOURCES = ['fe80::99:1', 'fe80::99:2', 'fe80::99:3'];

const AGENT = path.join(__dirname, 'probe-agent.py');
const PYTHON = '/usr/bin/python3';

/** How a policy's ruleset is loaded into the host namespace. */
export type LoadBackend = 'iptables-nft' | 'iptables-legacy' | 'nftables';

/** The backends policies rotate through, by policy index. */
export const LOAD_BACKENDS: readonly LoadBackend[] = ['iptables-nft', 'nftables', 'iptables-legacy'];

/** The simulator backend that models a load backend. */
export function simulatorBackend(backend: LoadBackend): Backend {
  return backend === 'nftables' ? Backend.NFTABLES : Backend.IPTABLES;
}

/** One packet the agent sends (see probe-agent.py for the wire format). */
export interface Probe {
  readonly id: number;
  readonly proto: 'tcp' | 'udp' | 'icmp' | 'icmp6';
  readonly src: string;
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags as letters: F S R P A U. */
  readonly flags?: string;
  readonly type?: number;
  readonly code?: number;
  readonly icmpId?: number;
  /** IPv6 hop limit / IPv4 TTL (default 64). */
  readonly hlim?: number;
}

/** What happened to a probe: reached the host's stack or not, and what came back. */
export interface Observation {
  readonly delivered: boolean;
  /** `none`, `tcp-rst`, `tcp-synack`, `icmp:<type>/<code>`, `icmp6:<type>/<code>`; several joined with `+`. */
  readonly reply: string;
}

/** The agent's full result for one probe. */
export interface AgentResult {
  readonly id: number;
  readonly delivered: boolean;
  readonly reply: string;
  readonly replies: string[];
  readonly others: string[];
  readonly deltas: Record<string, number>;
  readonly noise: boolean;
  readonly barrier: boolean;
  readonly ms: number;
  readonly error?: string;
}

const FLAG_LETTERS: Record<string, TcpFlag> = { F: TcpFlag.FIN, S: TcpFlag.SYN, R: TcpFlag.RST, P: TcpFlag.PSH, A: TcpFlag.ACK, U: TcpFlag.URG };

/** The simulator's packet for a probe. */
export function probePacket(probe: Probe): Packet {
  switch (probe.proto) {
    case 'tcp':
      return Packet.tcp({
        from: probe.src,
        port: probe.dport!,
        sourcePort: probe.sport,
        flags: [...(probe.flags ?? 'S')].map((l) => FLAG_LETTERS[l]),
      });
    case 'udp':
      return Packet.udp({ from: probe.src, port: probe.dport!, sourcePort: probe.sport });
    default:
      return Packet.icmp({ from: probe.src, type: probe.type, code: probe.code, hopLimit: probe.hlim });
  }
}

function isV6(probe: Probe): boolean {
  return probe.src.includes(':');
}

function isIcmpErrorProbe(probe: Probe): boolean {
  if (probe.proto === 'icmp') return isIcmpError(IpFamily.IPV4, probe.type ?? 8);
  if (probe.proto === 'icmp6') return isIcmpError(IpFamily.IPV6, probe.type ?? 128);
  return false;
}

/**
 * What the host's own stack answers to a probe that got through the firewall (no
 * sockets listen in the host namespace): TCP RST (not to a RST), ICMP port unreachable
 * for UDP, echo and timestamp replies, a neighbour advertisement for a solicitation.
 */
export function stackReply(probe: Probe): string {
  const v6 = isV6(probe);
  switch (probe.proto) {
    case 'tcp':
      return (probe.flags ?? 'S').includes('R') ? 'none' : 'tcp-rst';
    case 'udp':
      return v6 ? 'icmp6:1/4' : 'icmp:3/3';
    case 'icmp':
      if (probe.type === 8) return 'icmp:0/0';
      if (probe.type === 13) return 'icmp:14/0';
      return 'none';
    case 'icmp6':
      if (probe.type === 128) return 'icmp6:129/0';
      if (probe.type === 135 && probe.hlim === 255 && (probe.code ?? 0) === 0) return 'icmp6:136/0';
      return 'none';
  }
}

/** The ICMP error (or RST) a REJECT sends for a probe. */
export function rejectReply(probe: Probe, rejectWith: RejectWith | undefined): string {
  const v6 = isV6(probe);
  const reason = rejectWith ?? RejectWith.PORT_UNREACHABLE;
  if (reason === RejectWith.TCP_RESET) return probe.proto === 'tcp' && !(probe.flags ?? 'S').includes('R') ? 'tcp-rst' : 'none';
  if (isIcmpErrorProbe(probe)) return 'none'; // never an ICMP error about an ICMP error (RFC 1122 3.2.2, RFC 4443 2.4)
  switch (reason) {
    case RejectWith.PORT_UNREACHABLE:
      return v6 ? 'icmp6:1/4' : 'icmp:3/3';
    case RejectWith.HOST_PROHIBITED:
      return v6 ? 'icmp6:1/1' : 'icmp:3/10';
    case RejectWith.ADMIN_PROHIBITED:
      return v6 ? 'icmp6:1/1' : 'icmp:3/13';
  }
}

/**
 * The observation the simulator's verdict predicts for a probe. `getsOut` tells whether
 * the host's answer (the stack's or the REJECT's) passes the host's own output filtering
 * (default: always; see `predict`).
 */
export function expectedObservation(probe: Probe, sim: SimulationResult, getsOut: (reply: string) => boolean = () => true): Observation {
  const answer = (reply: string) => (reply === 'none' || getsOut(reply) ? reply : 'none');
  switch (sim.verdict) {
    case Verdict.ACCEPT:
      return { delivered: true, reply: answer(stackReply(probe)) };
    case Verdict.REJECT:
      return { delivered: false, reply: answer(rejectReply(probe, sim.rejectWith)) };
    default:
      return { delivered: false, reply: 'none' };
  }
}

const TRACKED = [ConnectionState.NEW, ConnectionState.ESTABLISHED, ConnectionState.RELATED];

/**
 * The packet the host sends back for a probe (`reply` as `stackReply` and `rejectReply`
 * name it), in the conntrack state the kernel gives it on OUTPUT before the raw table:
 *
 * - the probe was tracked (`probeState` NEW): the answer belongs to its connection,
 *   RELATED for ICMP errors and a REJECT's answers (the REJECT attaches the probe's
 *   connection), ESTABLISHED for the stack's RST, echo, timestamp replies;
 * - the probe was UNTRACKED (neighbour discovery and MLD, which conntrack never tracks;
 *   a notrack service's traffic) or INVALID: there is no connection to belong to, so the
 *   answer is a first packet: an ICMP error or a RST is INVALID (conntrack finds no
 *   connection it could be about), a neighbour advertisement UNTRACKED. The raw table's
 *   notrack rules for a service's replies may then make it UNTRACKED (the simulator
 *   walks them).
 */
export function replyPacket(probe: Probe, reply: string, probeState: ConnectionState, rejected: boolean): Packet {
  const v6 = isV6(probe);
  const from = v6 ? HOST6 : HOST4;
  const direction = Direction.OUTBOUND;
  const tracked = TRACKED.includes(probeState);
  if (reply === 'tcp-rst') {
    const state = tracked ? (rejected ? ConnectionState.RELATED : ConnectionState.ESTABLISHED) : undefined;
    const flags = (probe.flags ?? 'S').includes('A') ? [TcpFlag.RST] : [TcpFlag.RST, TcpFlag.ACK];
    return Packet.tcp({ from, to: probe.src, direction, port: probe.sport!, sourcePort: probe.dport, flags, state });
  }
  const m = /^icmp6?:(\d+)\/(\d+)$/.exec(reply);
  if (!m) throw new Error(`no reply packet for '${reply}'`);
  const type = Number(m[1]);
  const error = isIcmpError(v6 ? IpFamily.IPV6 : IpFamily.IPV4, type);
  const state = tracked ? (error || rejected ? ConnectionState.RELATED : ConnectionState.ESTABLISHED) : undefined;
  return Packet.icmp({ from, to: probe.src, direction, type, code: Number(m[2]), state });
}

/** What the simulator predicts for a probe on a backend: its verdict, and the observation that follows. */
export interface Prediction {
  readonly packet: Packet;
  readonly simulated: SimulationResult;
  /** The conntrack state the probe was decided in. */
  readonly state: ConnectionState;
  readonly expected: Observation;
  /** The host's answer on its way out (when there is one): its packet and the simulator's verdict on OUTPUT. */
  readonly answer?: { readonly packet: Packet; readonly simulated: SimulationResult };
}

function modelFor(ruleset: CompiledRuleset, backend: LoadBackend, packet: Packet) {
  return simulatorBackend(backend) === Backend.NFTABLES ? ruleset.nftablesModel() : ruleset.iptablesModel(packet.family);
}

/**
 * The simulator's prediction for a probe: the probe's verdict, then, if the host answers,
 * the answer's verdict on the host's OUTPUT path (outbound filtering may drop it: an ICMP
 * error about an untracked packet is INVALID there).
 */
export function predict(ruleset: CompiledRuleset, backend: LoadBackend, probe: Probe): Prediction {
  const packet = probePacket(probe);
  const decided = evaluateModelWithState(modelFor(ruleset, backend, packet), packet);
  let answer: Prediction['answer'];
  const expected = expectedObservation(probe, decided.result, (reply) => {
    const out = replyPacket(probe, reply, decided.state, decided.result.verdict === Verdict.REJECT);
    answer = { packet: out, simulated: evaluateModelWithState(modelFor(ruleset, backend, out), out).result };
    return answer.simulated.verdict === Verdict.ACCEPT;
  });
  return { packet, simulated: decided.result, state: decided.state, expected, answer };
}

/** The observation as compared: every reply seen, joined. */
export function observed(result: AgentResult): Observation {
  return { delivered: result.delivered, reply: result.replies.length > 0 ? result.replies.join('+') : 'none' };
}

// ---------------------------------------------------------------------------------------
// probe generation

interface Element {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

function parseElement(element: string): Element | undefined {
  if (element.includes('/')) {
    const [addr, prefix] = element.split('/');
    const ip = parseIp(addr);
    if (!ip) return undefined;
    const bits = ip.family === IpFamily.IPV4 ? 32 : 128;
    const host = (1n << BigInt(bits - Number(prefix))) - 1n;
    return { family: ip.family, first: ip.value & ~host, last: ip.value | host };
  }
  const dash = element.indexOf('-');
  const a = parseIp(dash >= 0 ? element.slice(0, dash) : element);
  const b = parseIp(dash >= 0 ? element.slice(dash + 1) : element);
  if (!a || !b) return undefined;
  return { family: a.family, first: a.value, last: b.value };
}

function v4(text: string): bigint {
  return parseIp(text)!.value;
}

function inRange(value: bigint, first: string, last: string): boolean {
  return v4(first) <= value && value <= v4(last);
}

const V6_LINK_LOCAL = { first: 0xfe80n << 112n, last: (0xfe80n << 112n) | ((1n << 118n) - 1n) };
const V6_LAB = { first: 0xfd000099n << 96n, last: (0xfd000099n << 96n) | ((1n << 64n) - 1n) };

/** Whether an address may be a probe's source: unicast, routable back, not the lab's own. */
export function usableSource(family: IpFamily, value: bigint): boolean {
  if (family === IpFamily.IPV4) {
    if (value < v4('1.0.0.0') || value > v4('223.255.255.255')) return false; // 0/8, multicast, class E, broadcast
    if (inRange(value, '10.99.0.0', '10.99.0.255') || inRange(value, '127.0.0.0', '127.255.255.255')) return false;
    return !inRange(value, '169.254.0.0', '169.254.255.255');
  }
  if (value < 1n << 120n) return false; // ::/8: unspecified, loopback, v4-mapped and -compatible
  if (value >= 0xffn << 120n) return false; // multicast
  if (V6_LINK_LOCAL.first <= value && value <= V6_LINK_LOCAL.last) return false;
  return !(V6_LAB.first <= value && value <= V6_LAB.last);
}

const POOL4 = ['192.0.2', '198.51.100', '203.0.113', '192.0.1', '192.0.3', '198.51.99', '198.51.101', '203.0.112', '203.0.114', '100.64.7', '172.16.5'];
const POOL6 = ['2001:db8::', '2001:db8:1::', '2001:db8:2::', '2001:db8:3::', '2001:db8:4::', '2001:db9::', '2001:db7:ffff::', '2a00:1450::'];
const COMMON_PORTS = [22, 25, 53, 80, 123, 443, 5432, 8080, 8443];
const ODD_TCP_FLAGS = ['SA', 'FA', 'R', 'RA', 'SU', 'SP', 'F', '', 'SF', 'PA', 'FPU', 'SR', 'AU'];

/**
 * `count` probes for a ruleset, reproducible from `seed`: sources at the edges of, inside
 * and just outside every source element of the ruleset's rules, and from a wider pool;
 * ports at the edges of, inside and outside every port range; TCP SYN, bare ACK and odd
 * flag sets (INVALID), UDP, ICMP and ICMPv6 echo, other ICMP(v6) types, neighbour
 * discovery and MLD (some from link-local sources), IPv4 and IPv6 mixed.
 */
export function generateProbes(ruleset: CompiledRuleset, seed: number, count: number): Probe[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)];
  const big = (max: bigint): bigint => (max <= 0n ? 0n : BigInt(Math.floor(r() * 2 ** 52)) % (max + 1n));

  const rules = ruleset.model.tables.flatMap((t) => t.chains).flatMap((c) => c.rules);
  const sets = new Map((ruleset.model.sets ?? []).map((set) => [set.name, set.elements]));
  const sourceElements = (rule: Rule) => (rule.match.source?.set !== undefined
    ? sets.get(rule.match.source.set) ?? []
    : rule.match.source?.elements ?? []);
  const portRanges = (rule: Rule) => (rule.match.destinationPortSet !== undefined
    ? (sets.get(rule.match.destinationPortSet) ?? []).map((e) => {
      const [from, to] = e.includes('-') ? e.split('-').map(Number) : [Number(e), Number(e)];
      return { from, to };
    })
    : rule.match.destinationPorts ?? []);
  const edges: Record<IpFamily, bigint[]> = { [IpFamily.IPV4]: [], [IpFamily.IPV6]: [] };
  const seen = new Set<string>();
  for (const rule of rules) {
    for (const text of sourceElements(rule)) {
      const e = parseElement(text);
      if (!e) continue;
      const size = e.last - e.first;
      for (const v of [e.first, e.last, e.first - 1n, e.last + 1n, e.first + big(size), e.first + size / 2n]) {
        const key = `${e.family}:${v}`;
        if (usableSource(e.family, v) && !seen.has(key)) {
          seen.add(key);
          edges[e.family].push(v);
        }
      }
    }
  }
  const ports: Record<'tcp' | 'udp', number[]> = { tcp: [], udp: [] };
  const icmpTypes: Record<'icmp' | 'icmp6', [number, number | undefined][]> = { icmp: [], icmp6: [] };
  for (const rule of rules) {
    const m = rule.match;
    if (m.protocol === Protocol.TCP || m.protocol === Protocol.UDP) {
      for (const p of portRanges(rule)) {
        for (const v of [p.from, p.to, p.from - 1, p.to + 1, int(p.from, p.to)]) {
          if (v >= 1 && v <= 65535) ports[m.protocol].push(v);
        }
      }
    }
    if (m.protocol === Protocol.ICMP || m.protocol === Protocol.ICMPV6) {
      for (const t of m.icmpTypes ?? []) icmpTypes[m.protocol === Protocol.ICMP ? 'icmp' : 'icmp6'].push([t, m.icmpCode]);
    }
  }

  const source = (family: IpFamily): string => {
    if (edges[family].length > 0 && r() < 0.7) return formatIp(family, pick(edges[family]));
    if (family === IpFamily.IPV4) return `${pick(POOL4)}.${int(0, 255)}`;
    const tail = r() < 0.5 ? int(1, 0xffff).toString(16) : `${int(0, 0xffff).toString(16)}:${int(1, 0xffff).toString(16)}`;
    return `${pick(POOL6)}${tail}`;
  };
  const port = (proto: 'tcp' | 'udp'): number => {
    const x = r();
    if (ports[proto].length > 0 && x < 0.6) return pick(ports[proto]);
    if (x < 0.8) return pick(COMMON_PORTS);
    return int(1, 65535);
  };

  const probes: Probe[] = [];
  for (let i = 0; i < count; i++) {
    const family = r() < 0.5 ? IpFamily.IPV4 : IpFamily.IPV6;
    const v6 = family === IpFamily.IPV6;
    const base = { id: i, sport: 20000 + (i % 40000), icmpId: 1000 + (i % 60000) };
    const kind = r();
    if (kind < 0.32) {
      probes.push({ ...base, proto: 'tcp', src: source(family), dport: port('tcp'), flags: 'S' });
    } else if (kind < 0.40) {
      probes.push({ ...base, proto: 'tcp', src: source(family), dport: port('tcp'), flags: 'A' });
    } else if (kind < 0.47) {
      probes.push({ ...base, proto: 'tcp', src: source(family), dport: port('tcp'), flags: pick(ODD_TCP_FLAGS) });
    } else if (kind < 0.72) {
      probes.push({ ...base, proto: 'udp', src: source(family), dport: port('udp') });
    } else if (kind < 0.86) {
      probes.push({ ...base, proto: v6 ? 'icmp6' : 'icmp', src: source(family), type: v6 ? 128 : 8, code: 0 });
    } else if (!v6) {
      const declared = icmpTypes.icmp.length > 0 && r() < 0.5 ? pick(icmpTypes.icmp) : undefined;
      const [type, code] = declared ?? [pick([13, 0, 3, 17, 15, 11]), undefined];
      const c = code === undefined ? (type === 3 ? int(0, 15) : 0) : pick([code, Math.max(0, code - 1), code + 1]);
      probes.push({ ...base, proto: 'icmp', src: source(family), type, code: c });
    } else {
      const declared = icmpTypes.icmp6.length > 0 && r() < 0.4 ? pick(icmpTypes.icmp6) : undefined;
      // no MLD queries (130): the host would answer with reports it may loop back to itself
      const [type, code] = declared && declared[0] !== 130 ? declared : [pick([139, 129, 1, 135, 135, 135, 133, 134, 136, 143, 131, 132]), undefined];
      const c = code === undefined ? (type === 1 ? int(0, 6) : 0) : pick([code, Math.max(0, code - 1), code + 1]);
      const nd = [133, 134, 135, 136, 143, 131, 132].includes(type);
      const src = nd && r() < 0.5 ? pick(LINK_LOCAL_SOURCES) : source(family);
      const hlim = nd ? (r() < 0.75 ? 255 : pick([64, 1, 254])) : 64;
      probes.push({ ...base, proto: 'icmp6', src, type, code: c, hlim });
    }
  }
  return probes;
}

// ---------------------------------------------------------------------------------------
// the lab

/** Options for `DifferentialLab.start`. */
export interface LabOptions {
  /** Part of the namespace names (default `diff`). */
  readonly tag?: string;
  /** Longest wait per probe for the agent's ARP barrier, ms (default 300; normally < 2). */
  readonly probeTimeoutMs?: number;
}

/** Whether the differential lab can run here (root, network namespaces, python3 with scapy). */
export function differentialLabSupported(): boolean {
  // as root the lab runs, and fails loudly when scapy is missing (scripts/test-setup.sh installs it)
  return netnsSupported();
}

/** Host and client namespaces, the probe agent, and loading rulesets into the host. */
export class DifferentialLab {
  /** Builds the namespaces and starts the agent; destroys everything if that fails. */
  public static async start(options: LabOptions = {}): Promise<DifferentialLab> {
    const lab = new DifferentialLab(new Lab(options.tag ?? 'diff'), options.probeTimeoutMs ?? 300);
    try {
      lab.setup();
      await lab.startAgent();
      return lab;
    } catch (e) {
      lab.destroy();
      throw e;
    }
  }

  public readonly host: string;
  public readonly client: string;
  private agent?: ChildProcess;
  private lines?: readline.Interface;
  private readonly pending: ((line: string | Error) => void)[] = [];
  private readonly queued: string[] = [];
  private stderr = '';
  private hostMac = '';
  private legacyUsed = false;
  private looseChecked = false;

  private constructor(private readonly lab: Lab, private readonly probeTimeoutMs: number) {
    this.host = lab.addNamespace('host');
    this.client = lab.addNamespace('client');
  }

  /**
   * Replaces whatever firewall the host has with `ruleset` on `backend`, and empties
   * conntrack. For iptables the ruleset's sets (`sets.ipset`) are restored first, as the
   * apply script does.
   */
  public load(ruleset: CompiledRuleset, backend: LoadBackend): void {
    const h = this.host;
    this.lab.exec(h, ['nft', 'flush', 'ruleset']); // also drops iptables-nft's tables
    if (this.legacyUsed) {
      // every legacy table, not only filter: a previous policy's raw notrack (and helper)
      // rules would otherwise go on deciding the conntrack state of the next policy's probes
      this.lab.exec(h, ['iptables-legacy-restore'], { input: this.emptyLegacyTables('iptables-legacy-save') });
      this.lab.exec(h, ['ip6tables-legacy-restore'], { input: this.emptyLegacyTables('ip6tables-legacy-save') });
    }
    this.lab.exec(h, ['ipset', 'destroy']); // no rule refers to a set any more
    const sets = ruleset.toIpset();
    if (backend !== 'nftables' && sets !== '') this.lab.exec(h, ['ipset', 'restore'], { input: sets });
    switch (backend) {
      case 'iptables-nft':
        this.lab.exec(h, ['iptables-restore'], { input: ruleset.toIptablesRestore(IpFamily.IPV4) });
        this.lab.exec(h, ['ip6tables-restore'], { input: ruleset.toIptablesRestore(IpFamily.IPV6) });
        break;
      case 'iptables-legacy':
        this.legacyUsed = true;
        this.lab.exec(h, ['iptables-legacy-restore'], { input: ruleset.toIptablesRestore(IpFamily.IPV4) });
        this.lab.exec(h, ['ip6tables-legacy-restore'], { input: ruleset.toIptablesRestore(IpFamily.IPV6) });
        break;
      case 'nftables':
        this.lab.exec(h, ['nft', '-f', '-'], { input: ruleset.toNftables() });
        break;
    }
    this.lab.exec(h, ['conntrack', '-F']);
    if (!this.looseChecked) {
      // the sysctl exists once conntrack is active in the namespace
      this.lab.exec(h, ['sysctl', '-qw', 'net.netfilter.nf_conntrack_tcp_loose=1']);
      this.looseChecked = true;
    }
  }

  /**
   * A restore input that empties every table the legacy tool shows in the host (built-in
   * chains back to ACCEPT, no rules, no user chains); with `--noflush` off, restoring a
   * table replaces all of it.
   */
  private emptyLegacyTables(save: 'iptables-legacy-save' | 'ip6tables-legacy-save'): string {
    const out: string[] = [];
    for (const line of this.lab.exec(this.host, [save]).split('\n')) {
      if (line.startsWith('*')) out.push(line);
      else if (line.startsWith(':') && !/^:\S+ - /.test(line)) out.push(`${line.split(' ')[0]} ACCEPT [0:0]`);
      else if (line === 'COMMIT') out.push(line);
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }

  /** Sends probes (in order) and returns the agent's results. */
  public async send(probes: readonly Probe[]): Promise<AgentResult[]> {
    if (probes.length === 0) return [];
    const line = await this.request(JSON.stringify(probes), 10_000 + probes.length * (this.probeTimeoutMs + 200));
    const results = JSON.parse(line) as AgentResult[];
    if (!Array.isArray(results) || results.length !== probes.length) throw new Error(`agent answered ${line.slice(0, 500)}`);
    return results;
  }

  /** Stops the agent and deletes the namespaces; idempotent. */
  public destroy(): void {
    this.lines?.close();
    this.agent?.stdin?.end();
    this.lab.destroy();
    for (const resolve of this.pending.splice(0)) resolve(new Error('lab destroyed'));
  }

  private setup(): void {
    const { host, client } = this;
    const quiet = [
      'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
      'net.ipv6.conf.all.router_solicitations=0', 'net.ipv6.conf.default.router_solicitations=0',
      'net.ipv6.conf.all.autoconf=0', 'net.ipv6.conf.default.autoconf=0',
      'net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0',
      'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0',
    ];
    for (const ns of [host, client]) this.lab.exec(ns, ['sysctl', '-qw', ...quiet]);
    this.lab.connect(
      { ns: host, ifname: HOST_IF, addresses: [`${HOST4}/24`, `${HOST6}/64`] },
      { ns: client, ifname: CLIENT_IF, addresses: [`${CLIENT4}/24`, `${CLIENT6}/64`] },
    );
    for (const [ns, ifname] of [[host, HOST_IF], [client, CLIENT_IF]]) {
      this.lab.exec(ns, ['sysctl', '-qw',
        `net.ipv6.conf.${ifname}.accept_dad=0`, `net.ipv6.conf.${ifname}.router_solicitations=0`,
        `net.ipv6.conf.${ifname}.autoconf=0`, `net.ipv6.conf.${ifname}.accept_ra=0`, `net.ipv4.conf.${ifname}.rp_filter=0`]);
    }
    // REJECT's ICMP errors (and the stack's) must never be rate limited
    this.lab.exec(host, ['sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000']);
    this.lab.run(host, ['sysctl', '-qw', 'net.ipv4.icmp_msgs_burst=100000']); // not in every kernel
    this.lab.run(host, ['sysctl', '-qw', 'net.netfilter.nf_conntrack_tcp_loose=1']); // re-set after the first load
    const hostMac = this.mac(host, HOST_IF);
    const clientMac = this.mac(client, CLIENT_IF);
    // replies to any source go back over the veth; no ARP/ND during probes
    this.lab.exec(host, ['ip', 'route', 'add', 'default', 'via', CLIENT4, 'dev', HOST_IF]);
    this.lab.exec(host, ['ip', '-6', 'route', 'add', 'default', 'via', CLIENT6, 'dev', HOST_IF]);
    this.lab.exec(client, ['ip', 'route', 'add', 'default', 'via', HOST4, 'dev', CLIENT_IF]);
    this.lab.exec(client, ['ip', '-6', 'route', 'add', 'default', 'via', HOST6, 'dev', CLIENT_IF]);
    for (const addr of [CLIENT4, CLIENT6, ...LINK_LOCAL_SOURCES]) {
      this.lab.exec(host, ['ip', 'neigh', 'replace', addr, 'lladdr', clientMac, 'dev', HOST_IF, 'nud', 'permanent']);
    }
    for (const addr of [HOST4, HOST6]) {
      this.lab.exec(client, ['ip', 'neigh', 'replace', addr, 'lladdr', hostMac, 'dev', CLIENT_IF, 'nud', 'permanent']);
    }
    // the client's own stack stays silent: no MLD reports, ND, ICMP errors or RSTs reach the host
    this.lab.exec(client, ['nft', '-f', '-'], {
      input: 'table inet sfw_client_mute {\n\tchain output {\n\t\ttype filter hook output priority filter; policy drop;\n\t}\n}\n',
    });
    this.hostMac = hostMac;
  }

  private mac(ns: string, ifname: string): string {
    const info = JSON.parse(this.lab.exec(ns, ['ip', '-j', 'link', 'show', 'dev', ifname])) as { address: string }[];
    return info[0].address;
  }

  private async startAgent(): Promise<void> {
    // a process inside the host namespace whose /proc/<pid>/net shows the host's counters
    const sleeper = this.lab.spawn(this.host, ['sleep', 'infinity']);
    if (sleeper.pid === undefined) throw new Error('could not start a process in the host namespace');
    const agent = this.lab.spawn(this.client, [
      PYTHON, AGENT,
      '--iface', CLIENT_IF,
      '--host-pid', String(sleeper.pid),
      '--host-mac', this.hostMac,
      '--host4', HOST4,
      '--host6', HOST6,
      '--barrier-ip', CLIENT4,
      '--timeout-ms', String(this.probeTimeoutMs),
    ]);
    this.agent = agent;
    agent.stderr!.setEncoding('utf8');
    agent.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
    agent.on('exit', (code, signal) => {
      for (const resolve of this.pending.splice(0)) resolve(new Error(`probe agent exited (${code ?? signal}): ${this.stderr}`));
    });
    this.lines = readline.createInterface({ input: agent.stdout! });
    this.lines.on('line', (line) => {
      const resolve = this.pending.shift();
      if (resolve) resolve(line);
      else this.queued.push(line);
    });
    const ready = JSON.parse(await this.nextLine(30_000)) as { ready?: boolean };
    if (!ready.ready) throw new Error(`probe agent did not start: ${JSON.stringify(ready)} ${this.stderr}`);
    await this.waitQuiet(sleeper.pid);
  }

  /** Waits (bounded) until the host's counters stop moving: nothing but probes may reach it. */
  private async waitQuiet(pid: number): Promise<void> {
    const read = () => this.lab.exec(this.client, ['sh', '-c', `cat /proc/${pid}/net/snmp /proc/${pid}/net/snmp6`]);
    let last = read();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = read();
      if (now === last) return;
      last = now;
    }
    throw new Error('host counters keep moving without probes');
  }

  private nextLine(timeoutMs: number): Promise<string> {
    const queued = this.queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.pending.indexOf(done);
        if (i >= 0) this.pending.splice(i, 1);
        reject(new Error(`probe agent silent for ${timeoutMs} ms: ${this.stderr}`));
      }, timeoutMs);
      const done = (line: string | Error) => {
        clearTimeout(timer);
        if (line instanceof Error) reject(line);
        else resolve(line);
      };
      this.pending.push(done);
    });
  }

  private async request(text: string, timeoutMs: number): Promise<string> {
    if (!this.agent?.stdin) throw new Error('probe agent not running');
    const reply = this.nextLine(timeoutMs);
    this.agent.stdin.write(`${text}\n`);
    return reply;
  }
}

// ---------------------------------------------------------------------------------------
// one policy, end to end

/** A probe where the kernel and the simulator disagree (or the lab could not tell). */
export interface Mismatch {
  readonly probe: Probe;
  readonly packet: string;
  readonly simulated: SimulationResult;
  readonly expected: Observation;
  /** The host's answer on its way out, as the simulator saw it. */
  readonly answer?: Prediction['answer'];
  readonly result: AgentResult;
  /** `disagreement`, or why the observation is not trustworthy. */
  readonly kind: 'disagreement' | 'agent-error' | 'no-barrier' | 'noise';
}

/** The outcome of one policy's probes. */
export interface PolicyOutcome {
  readonly seed: number;
  readonly backend: LoadBackend;
  /** Whether the policy came from `randomPolicyWithSets`. */
  readonly sets: boolean;
  /** Whether the policy came from `randomPolicyWithFeatures`. */
  readonly features: boolean;
  readonly rules: number;
  readonly probes: number;
  readonly compared: number;
  readonly agreed: number;
  readonly mismatches: Mismatch[];
  readonly ms: number;
}

/** Options for `runPolicy`. */
export interface PolicyRun {
  /** Seed of the random policy (its probes use a seed derived from it). */
  readonly seed: number;
  /** How many probes. */
  readonly probes: number;
  /** How the ruleset is loaded; the simulator models the matching backend. */
  readonly backend: LoadBackend;
  /** `randomPolicy`'s maxAllowances (default 12). */
  readonly maxAllowances?: number;
  /** Use `randomPolicyWithSets` (long peer and port lists, random set thresholds) instead of `randomPolicy`. */
  readonly sets?: boolean;
  /**
   * Use `randomPolicyWithFeatures` instead (drop logging, outbound filtering, notrack,
   * conntrack helpers, limits, denials, ping limits, late-bound peers, single-family
   * hosts in random combinations: the verdict-map layout of every nftables chain). Takes
   * precedence over `sets`.
   */
  readonly features?: boolean;
}

/** The seed of a policy's probes. */
export function probeSeed(policySeed: number): number {
  return (Math.imul(policySeed, 2654435761) ^ 0x5bd1e995) >>> 0;
}

/** Compiles the random policy for `seed`, loads it, sends its probes, and compares each with the simulator. */
export async function runPolicy(lab: DifferentialLab, run: PolicyRun): Promise<PolicyOutcome> {
  const started = Date.now();
  const maxAllowances = run.maxAllowances ?? 12;
  const policy = run.features
    ? randomPolicyWithFeatures(run.seed, maxAllowances)
    : (run.sets ? randomPolicyWithSets : randomPolicy)(run.seed, maxAllowances);
  const compiled = CompiledRuleset.compile(policy);
  // late-bound peers get addresses as the deploy would fill them in (some sets stay empty)
  const ruleset = compiled.lateBoundLabels.length > 0 ? compiled.bindAddresses(lateBindings(compiled, run.seed)) : compiled;
  const probes = generateProbes(ruleset, probeSeed(run.seed), run.probes);
  lab.load(ruleset, run.backend);
  const results = await lab.send(probes);
  const mismatches: Mismatch[] = [];
  let compared = 0;
  let agreed = 0;
  probes.forEach((probe, i) => {
    const result = results[i];
    const { packet, simulated, expected, answer } = predict(ruleset, run.backend, probe);
    const base = { probe, packet: packet.toString(), simulated, expected, answer, result };
    if (result.error !== undefined || result.id !== probe.id) {
      mismatches.push({ ...base, kind: 'agent-error' });
      return;
    }
    compared++;
    const seen = observed(result);
    if (seen.delivered !== expected.delivered || seen.reply !== expected.reply) mismatches.push({ ...base, kind: 'disagreement' });
    else if (!result.barrier) mismatches.push({ ...base, kind: 'no-barrier' });
    else if (result.noise) mismatches.push({ ...base, kind: 'noise' });
    else agreed++;
  });
  const rules = ruleCount(ruleset, run.backend);
  const ms = Date.now() - started;
  const kind = { sets: run.sets ?? false, features: run.features ?? false };
  return { seed: run.seed, backend: run.backend, ...kind, rules, probes: probes.length, compared, agreed, mismatches, ms };
}

function ruleCount(ruleset: CompiledRuleset, backend: LoadBackend): number {
  const b = simulatorBackend(backend);
  if (b === Backend.NFTABLES) return ruleset.nftablesModel().tables.flatMap((t) => t.chains).reduce((n, c) => n + c.rules.length, 0);
  return ruleset.ruleCount(b, IpFamily.IPV4) + ruleset.ruleCount(b, IpFamily.IPV6);
}

function describeVerdict(sim: SimulationResult): string {
  const how = sim.verdict === Verdict.REJECT ? ` with ${sim.rejectWith}` : '';
  const where = sim.rule ? `rule in ${sim.chain}` : `${sim.chain} policy`;
  return `${sim.verdict}${how} (${where}; origins: ${sim.origins.join(', ') || '-'})`;
}

/** A mismatch as the failure message shows it: seed, probe, simulator trace, kernel observation. */
export function formatMismatch(seed: number, backend: LoadBackend, m: Mismatch): string {
  const r = m.result;
  const kernel = r.error !== undefined
    ? `agent error: ${r.error}`
    : `delivered=${r.delivered} reply=${observed(r).reply} deltas=${JSON.stringify(r.deltas)} barrier=${r.barrier} noise=${r.noise}` +
      (r.others.length > 0 ? ` unrelated frames=${JSON.stringify(r.others)}` : '');
  const rule = m.simulated.rule;
  const family = isV6(m.probe) ? IpFamily.IPV6 : IpFamily.IPV4;
  const rendered = !rule ? '(chain policy)'
    : backend === 'nftables' ? nftRuleText(rule) : `-A ${m.simulated.chain} ${iptablesRuleArgs(rule, family).join(' ')}`;
  return [
    `${m.kind}: policy seed ${seed} on ${backend}, probe #${m.probe.id}: ${m.packet}`,
    `  probe:     ${JSON.stringify(m.probe)}`,
    `  simulator: ${describeVerdict(m.simulated)} (${simulatorBackend(backend)} model)`,
    `  deciding rule as loaded: ${rendered}`,
    ...(m.answer ? [`  answer:    ${m.answer.packet} -> ${describeVerdict(m.answer.simulated)} on the way out`] : []),
    `  expected:  delivered=${m.expected.delivered} reply=${m.expected.reply}`,
    `  kernel:    ${kernel}`,
    '  trace:',
    ...m.simulated.trace.map((t) => `    ${t}`),
  ].join('\n');
}

/** Every mismatch of an outcome, with a header line and a hint on reproducing it. */
export function formatOutcome(outcome: PolicyOutcome): string {
  const head = `policy seed ${outcome.seed} on ${outcome.backend}: ${outcome.agreed}/${outcome.compared} probes agree` +
    ' (reproduce: npx ts-node --project test/tsconfig.json scripts/differential.ts' +
    ` --seed ${outcome.seed} --policies 1 --probes ${outcome.probes} --backend ${outcome.backend}${outcome.features ? ' --features' : outcome.sets ? ' --sets' : ''})`;
  return [head, ...outcome.mismatches.map((m) => formatMismatch(outcome.seed, outcome.backend, m))].join('\n\n');
}
