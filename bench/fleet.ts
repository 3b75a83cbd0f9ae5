/**
 * The fleet-scale figures of `npm run bench` (issue 13), each next to what it is judged
 * against, in the same run:
 *
 * - synth: the library's synth of H hosts x 10 services (bench/synth-child.ts `fleet`) and a
 *   cdktf-only app declaring the same provisioning resources (`baseline`), interleaved, each
 *   in a child process with a time limit: wall time, peak RSS, cdk.tf.json and output bytes;
 *   and null_resource against terraform_data at 1,000 hosts;
 * - compile: 65,535 distinct ports and 5,000 services (bench/compile-scale.ts when it exists,
 *   otherwise bench/compile-child.ts per case and backend, stopped at a time limit);
 * - rules: rules evaluated per packet (simulator) with every feature on at 10,000 peers;
 * - ssh: SSH connections one host deploy opens, counted in the lab sshd's log during a real
 *   `terraform apply` (lab/terraform-lab.ts).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { adminAddress } from './contenders';
import { BENCH_DIR, median, TMP } from './kernel-lab';
import { LabHost, TerraformLab } from '../lab/terraform-lab';
import {
  Backend, CompiledRuleset, ConnectionState, ConntrackHelper, DefaultAction, Direction, HostPolicy, Packet, Peer, Port, RateUnit, TcpFlag,
} from '../src/core';

const ROOT = path.resolve(BENCH_DIR, '..');

/** One synth in a child process; `failed` says why there are no figures. */
export interface SynthSample {
  readonly ms?: number;
  readonly rssMiB?: number;
  /** Bytes of the whole output folder. */
  readonly bytes?: number;
  /** Bytes of the stack's cdk.tf.json. */
  readonly tfJsonBytes?: number;
  /** Terraform resources and provisioners by resource type. */
  readonly declared?: Record<string, { resources: number; provisioners: number }>;
  readonly failed?: string;
}

/** The library and the cdktf-only baseline at one fleet size (null_resource). */
export interface FleetSize {
  readonly hosts: number;
  readonly services: number;
  readonly library: SynthSample[];
  readonly baseline: SynthSample[];
}

export interface FleetScale {
  /** Time limit per synth (s) and the child's V8 heap limit (MiB). */
  readonly limitS: number;
  readonly heapMiB: number;
  readonly sizes: FleetSize[];
  /** null_resource against terraform_data (library, and the baseline with terraform_data). */
  resourceKind?: { hosts: number; services: number; nullResource: SynthSample[]; terraformData: SynthSample[]; baselineData: SynthSample[] };
}

export interface CompileScale {
  /** bench/compile-scale.ts, or the inline cases of bench/compile-child.ts. */
  readonly source: string;
  readonly limitS: number;
  /** Milliseconds by case; Infinity: did not finish within the limit. Keys name the case ("ports", "services") and the backend. */
  readonly values: Record<string, number>;
}

export interface EveryFeature {
  readonly peers: number;
  readonly features: string[];
  readonly probes: { name: string; nftables: number; iptables: number }[];
}

export interface SshCount {
  /** "Accepted publickey" lines in the host's sshd log during one `terraform apply` (-1: the lab could not run). */
  readonly accepted: number;
  /** Provisioners of the host's Apply resource in cdk.tf.json (each opens a connection). */
  readonly provisioners: number;
  readonly applyStatus: number | null;
  readonly note?: string;
}

export interface FleetResults {
  fleetScale?: FleetScale;
  compileScale?: CompileScale;
  everyFeature?: EveryFeature;
  ssh?: SshCount;
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------
// synth

/** One synth-child run with a time limit and a heap limit. */
export function synthSample(mode: 'fleet' | 'baseline', hosts: number, services: number, kind: 'null' | 'data', limitS: number, heapMiB: number): SynthSample {
  const out = fs.mkdtempSync(path.join(TMP, 'synth-'));
  try {
    const r = spawnSync(process.execPath, [
      `--max-old-space-size=${heapMiB}`, '-r', 'ts-node/register/transpile-only',
      path.join(BENCH_DIR, 'synth-child.ts'), mode, String(hosts), String(services), out, kind,
    ], {
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'test', 'tsconfig.json') },
      timeout: limitS * 1000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { failed: `did not finish within ${limitS} s` };
    if (r.status !== 0) {
      const oom = /heap out of memory|Allocation failed/i.test(r.stderr ?? '');
      return { failed: oom ? `out of memory (V8 heap limit ${heapMiB} MiB)` : `failed (${r.signal ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}` };
    }
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as SynthSample;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

function describe(s: SynthSample): string {
  return s.failed ?? `${((s.ms ?? NaN) / 1000).toFixed(1)} s, ${Math.round(s.rssMiB ?? NaN)} MiB`;
}

/**
 * Library and baseline interleaved (library, baseline, library, ...), `runs` each, at each
 * size in turn; a size whose library synth did not finish is not repeated. After the first
 * size, terraform_data at that size (library, and the baseline with terraform_data), its
 * null_resource figures being the first size's.
 */
export function measureFleet(sizes: { hosts: number; runs: number }[], limitS: number, heapMiB: number): FleetScale {
  const services = 10;
  const result: FleetScale = { limitS, heapMiB, sizes: [] };
  for (const [n, { hosts, runs }] of sizes.entries()) {
    const size: FleetSize = { hosts, services, library: [], baseline: [] };
    result.sizes.push(size);
    for (let i = 0; i < runs; i++) {
      const lib = synthSample('fleet', hosts, services, 'null', limitS, heapMiB);
      size.library.push(lib);
      log(`synth ${hosts} hosts x ${services}: library ${describe(lib)}`);
      const base = synthSample('baseline', hosts, services, 'null', limitS, heapMiB);
      size.baseline.push(base);
      log(`synth ${hosts} hosts x ${services}: cdktf-only baseline ${describe(base)}`);
      if (lib.failed) break;
    }
    if (n > 0) continue;
    const rk = { hosts, services, nullResource: size.library, terraformData: [] as SynthSample[], baselineData: [] as SynthSample[] };
    result.resourceKind = rk;
    for (let i = 0; i < runs; i++) {
      rk.terraformData.push(synthSample('fleet', hosts, services, 'data', limitS, heapMiB));
      log(`synth ${hosts} hosts x ${services}, terraform_data: library ${describe(rk.terraformData[i])}`);
      rk.baselineData.push(synthSample('baseline', hosts, services, 'data', limitS, heapMiB));
      log(`synth ${hosts} hosts x ${services}, terraform_data: cdktf-only baseline ${describe(rk.baselineData[i])}`);
      if (rk.terraformData[i].failed) break;
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// compile scale

/** bench/compile-scale.ts when it exists; otherwise each case and backend in a child stopped at `limitS`. */
export async function measureCompile(limitS: number): Promise<CompileScale> {
  const external = path.join(BENCH_DIR, 'compile-scale.ts');
  if (fs.existsSync(external)) {
    log('compile scale: bench/compile-scale.ts');
    // require, not import(): this process runs under ts-node's CommonJS hook, which import() bypasses
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(external) as { measureCompileScale: () => Promise<Record<string, number>> };
    return { source: 'bench/compile-scale.ts', limitS: NaN, values: await mod.measureCompileScale() };
  }
  const values: Record<string, number> = {};
  for (const kind of ['ports', 'services'] as const) {
    for (const backend of [Backend.IPTABLES, Backend.NFTABLES]) {
      const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(BENCH_DIR, 'compile-child.ts'), kind, backend], {
        encoding: 'utf8',
        cwd: ROOT,
        env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'test', 'tsconfig.json') },
        timeout: limitS * 1000,
        killSignal: 'SIGKILL',
      });
      const key = `${kind === 'ports' ? 'ports65535' : 'services5000'}.${backend}`;
      if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
        values[key] = Infinity;
      } else if (r.status !== 0) {
        throw new Error(`compile child ${kind} ${backend} failed: ${r.stderr}`);
      } else {
        values[key] = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number }).ms;
      }
      log(`compile scale ${key}: ${Number.isFinite(values[key]) ? `${Math.round(values[key])} ms` : `did not finish within ${limitS} s`}`);
    }
  }
  return { source: 'bench/compile-child.ts', limitS, values };
}

// ---------------------------------------------------------------------------------------
// rules evaluated with every feature on

const FEATURES = [
  'logDropped (rate-limited)', 'outbound filtering (default drop)', 'notrack (UDP 53)', 'conntrack helpers (FTP, TFTP)',
  'limits (new connections per source, concurrent per source, SYN flood)', 'denies (an address list, a network, a port denial)', 'ping rate limit',
];

/** The policy with every feature on: `peers` admin addresses (a set) to 15 ports. */
export function everyFeaturePolicy(peers: number): HostPolicy {
  const limits = {
    newConnectionsPerSource: { rate: 50, unit: RateUnit.SECOND, burst: 100 },
    concurrentPerSource: 64,
    synFloodLimit: { rate: 1000, unit: RateUnit.SECOND, burst: 2000 },
  };
  return {
    name: 'every-feature',
    origin: 'bench/every',
    defaultAction: DefaultAction.DROP,
    allowances: [
      { origin: 'bench/every/Admins', ports: [Port.SSH, ...Array.from({ length: 14 }, (_, i) => Port.tcp(8002 + 2 * i))], peers: Array.from({ length: peers }, (_, i) => Peer.ipv4(adminAddress(i))), limits },
      { origin: 'bench/every/Web', ports: [Port.tcp(80), Port.tcp(443)], peers: [Peer.any()], limits },
      { origin: 'bench/every/Ftp', ports: [Port.tcp(21)], peers: [Peer.ipv4('192.0.2.0/24')], helper: ConntrackHelper.FTP },
      { origin: 'bench/every/Tftp', ports: [Port.udp(69)], peers: [Peer.ipv4('192.0.2.0/24')], helper: ConntrackHelper.TFTP },
      { origin: 'bench/every/Dns', ports: [Port.udp(53)], peers: [Peer.any()], notrack: true },
    ],
    denials: [
      { origin: 'bench/every/Blocked', peers: Array.from({ length: 100 }, (_, i) => Peer.ipv4(`198.18.${Math.floor(i / 100)}.${2 * (i % 100) + 1}`)) },
      { origin: 'bench/every/BadNet', peers: [Peer.ipv4('203.0.113.0/24')] },
      { origin: 'bench/every/NoSsh', peers: [Peer.ipv4('192.0.2.128/25')], ports: [Port.SSH] },
    ],
    outbound: {
      defaultAction: DefaultAction.DROP,
      allowances: [
        { origin: 'bench/every/Https', ports: [Port.tcp(443)], peers: [Peer.any()] },
        { origin: 'bench/every/Resolver', ports: [Port.udp(53)], peers: [Peer.ipv4('192.0.2.53')], notrack: true },
      ],
    },
    logDropped: { rateLimit: { rate: 10, unit: RateUnit.SECOND, burst: 20 } },
    allowPing: true,
    pingRateLimit: { rate: 10, unit: RateUnit.SECOND, burst: 20 },
  };
}

/** The probes: every path through the policy (admitted, denied, limited, dropped, both directions). */
function everyFeatureProbes(peers: number): [string, Packet][] {
  const last = adminAddress(peers - 1);
  return [
    ['established inbound', Packet.tcp({ from: adminAddress(0), port: 22, flags: [TcpFlag.ACK], state: ConnectionState.ESTABLISHED })],
    ['new from the last admin to the last admin port', Packet.tcp({ from: last, port: 8002 + 2 * 13 })],
    ['new from an admin, over its per-source rate', Packet.tcp({ from: last, port: 22, overRateLimit: true })],
    ['new from an admin, over its connection limit', Packet.tcp({ from: last, port: 22, overConnectionLimit: true })],
    ['new to the public web port', Packet.tcp({ from: '100.64.0.9', port: 443 })],
    ['unsolicited SYN to 22', Packet.tcp({ from: '100.64.0.1', port: 22 })],
    ['unsolicited UDP', Packet.udp({ from: '100.64.0.1', port: 9999 })],
    ['from a denied address (in the list)', Packet.tcp({ from: '198.18.0.199', port: 443 })],
    ['from a denied network', Packet.tcp({ from: '203.0.113.7', port: 443 })],
    ['port denial (SSH from 192.0.2.200)', Packet.tcp({ from: '192.0.2.200', port: 22 })],
    ['FTP control (helper)', Packet.tcp({ from: '192.0.2.7', port: 21 })],
    ['FTP data (related)', Packet.tcp({ from: '192.0.2.7', port: 40000, sourcePort: 20, state: ConnectionState.RELATED })],
    ['TFTP (helper)', Packet.udp({ from: '192.0.2.7', port: 69 })],
    ['DNS query (notrack)', Packet.udp({ from: '100.64.0.5', port: 53, state: ConnectionState.UNTRACKED })],
    ['ping', Packet.icmp({ from: '100.64.0.5', type: 8, code: 0 })],
    ['outbound HTTPS', Packet.tcp({ from: '10.0.0.1', to: '93.184.216.34', port: 443, direction: Direction.OUTBOUND })],
    ['outbound DNS (notrack)', Packet.udp({ from: '10.0.0.1', to: '192.0.2.53', port: 53, direction: Direction.OUTBOUND, state: ConnectionState.UNTRACKED })],
    ['outbound, not allowed (dropped)', Packet.tcp({ from: '10.0.0.1', to: '93.184.216.34', port: 25, direction: Direction.OUTBOUND })],
    ['outbound established', Packet.tcp({ from: '10.0.0.1', to: '100.64.0.9', port: 51000, sourcePort: 443, flags: [TcpFlag.ACK], direction: Direction.OUTBOUND, state: ConnectionState.ESTABLISHED })],
  ];
}

export function measureEveryFeature(peers: number): EveryFeature {
  log(`rules evaluated, every feature on, ${peers} peers`);
  const r = CompiledRuleset.compile(everyFeaturePolicy(peers));
  const probes = everyFeatureProbes(peers).map(([name, p]) => ({
    name,
    nftables: r.simulate(p, Backend.NFTABLES).rulesEvaluated,
    iptables: r.simulate(p, Backend.IPTABLES).rulesEvaluated,
  }));
  return { peers, features: FEATURES, probes };
}

// ---------------------------------------------------------------------------------------
// SSH connections per deploy

/** One host deployed with `terraform apply` in the terraform lab; its sshd (LogLevel VERBOSE) logs each accepted connection. */
export async function measureSsh(): Promise<SshCount> {
  log('ssh connections: terraform apply of one host against the lab sshd');
  const lab = new TerraformLab('bench-ssh');
  try {
    let host: LabHost;
    try {
      host = await lab.addHost('h', 1, { sshdLogLevel: 'VERBOSE' });
    } catch (e) {
      return { accepted: -1, provisioners: NaN, applyStatus: null, note: `the lab did not start: ${(e as Error).message.split('\n')[0]}` };
    }
    await lab.synth((stack) => lab.firewall(stack, host, { ports: [Port.tcp(8080)] }));
    const json = JSON.parse(fs.readFileSync(path.join(lab.stackDir, 'cdk.tf.json'), 'utf8'));
    const applies = Object.entries<Record<string, { provisioner?: unknown[] }>>(json.resource ?? {})
      .flatMap(([, byName]) => Object.entries(byName)).filter(([name]) => /apply/i.test(name));
    const provisioners = applies.reduce((n, [, r]) => n + (r.provisioner?.length ?? 0), 0);
    const before = (lab.sshdLog(host).match(/Accepted publickey/g) ?? []).length;
    const apply = await lab.terraform(['apply', '-auto-approve', '-input=false'], 300_000);
    const accepted = (lab.sshdLog(host).match(/Accepted publickey/g) ?? []).length - before;
    log(`ssh connections: ${accepted} accepted (terraform apply exit ${apply.status}); ${provisioners} provisioners on the Apply resource`);
    return {
      accepted,
      provisioners,
      applyStatus: apply.status,
      note: apply.status === 0 ? undefined : `terraform apply failed: ${apply.output.trim().split('\n').slice(-5).join(' ')}`,
    };
  } finally {
    lab.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// report

function int(v: number): string {
  return v.toLocaleString('en-US');
}

function okSamples(xs: SynthSample[]): SynthSample[] {
  return xs.filter((x) => !x.failed);
}

/** Median of a field over the samples that finished (NaN when none did). */
function med(xs: SynthSample[], f: (x: SynthSample) => number | undefined): number {
  const ok = okSamples(xs).map(f).filter((v): v is number => v !== undefined);
  return ok.length === 0 ? NaN : median(ok);
}

function secs(v: number): string {
  return Number.isFinite(v) ? `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s` : '–';
}

function mib(v: number): string {
  return Number.isFinite(v) ? `${int(Math.round(v))} MiB` : '–';
}

function mb(v: number): string {
  return Number.isFinite(v) ? `${(v / 1e6).toFixed(v < 1e7 ? 2 : 1)} MB` : '–';
}

function times(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–';
}

/**
 * Time ratio of the samples' median to `base`; when none finished because of the time limit,
 * the lower bound the limit gives ("> N×").
 */
function timeRatio(xs: SynthSample[], base: number, limitS: number): string {
  const t = med(xs, (v) => v.ms);
  if (Number.isFinite(t)) return times(t, base);
  const timedOut = xs.length > 0 && xs.every((v) => v.failed?.startsWith('did not finish'));
  return timedOut && Number.isFinite(base) ? `>&nbsp;${times(limitS * 1000, base)}` : '–';
}

function failures(xs: SynthSample[]): string {
  const f = [...new Set(xs.filter((s) => s.failed).map((s) => s.failed!))];
  return f.length > 0 ? ` (${xs.filter((s) => s.failed).length} of ${xs.length}: ${f.join('; ')})` : '';
}

function sameDeclared(a: SynthSample[], b: SynthSample[]): string {
  const da = okSamples(a)[0]?.declared;
  const db = okSamples(b)[0]?.declared;
  if (!da || !db) return '–';
  const show = (d: Record<string, { resources: number; provisioners: number }>) => Object.entries(d).map(([t, v]) => `${int(v.resources)} ${t}, ${int(v.provisioners)} provisioners`).join('; ');
  return JSON.stringify(da) === JSON.stringify(db) ? `same: ${show(da)}` : `**differ**: library ${show(da)}; baseline ${show(db)}`;
}

const met = (ok: boolean) => (ok ? '**met**' : '**missed**');

/** Rows of the Targets table for the fleet-scale figures (issue 13). */
export function fleetTargets(res: FleetResults): string[] {
  const L: string[] = [];
  const fs2 = res.fleetScale;
  if (fs2) {
    for (const s of fs2.sizes) {
      const lt = med(s.library, (v) => v.ms);
      const bt = med(s.baseline, (v) => v.ms);
      const lm = med(s.library, (v) => v.rssMiB);
      const peak = Math.max(...okSamples(s.library).map((v) => v.rssMiB ?? NaN));
      const done = okSamples(s.library).length > 0;
      const label = `${int(s.hosts)} hosts × ${s.services} services`;
      if (s.hosts >= 10_000) {
        L.push(`| synth of ${label} completes in 24 GiB at most 2.5× the cdktf-only baseline (same run) | completes in 24 GiB: ${met(done && peak <= 24 * 1024)}; `
          + `time: ${met(done && lt / bt <= 2.5)} | library ${done ? `${secs(lt)}, peak ${mib(peak)}` : 'no figures'}${failures(s.library)}; baseline ${secs(bt)}, ${mib(med(s.baseline, (v) => v.rssMiB))}; `
          + `time ratio ${timeRatio(s.library, bt, fs2.limitS)}, memory ratio ${times(lm, med(s.baseline, (v) => v.rssMiB))} |`);
      } else {
        L.push(`| synth of ${label} at most 2× the cdktf-only baseline of the same resources (same run) | ${met(done && lt / bt <= 2)} `
          + `| library ${secs(lt)} / ${mib(lm)} (median of ${okSamples(s.library).length}${failures(s.library)}); baseline ${secs(bt)} / ${mib(med(s.baseline, (v) => v.rssMiB))}; ratio ${times(lt, bt)} (time), ${times(lm, med(s.baseline, (v) => v.rssMiB))} (peak memory) |`);
      }
      const lj = med(s.library, (v) => v.tfJsonBytes);
      const bj = med(s.baseline, (v) => v.tfJsonBytes);
      if (!Number.isFinite(lj)) continue; // the library did not finish: no size to compare
      L.push(`| \`cdk.tf.json\` at most 2× the baseline's size, ${label} | ${met(lj / bj <= 2)} | library ${mb(lj)}, baseline ${mb(bj)}: ${times(lj, bj)} `
        + `(whole output folder: ${mb(med(s.library, (v) => v.bytes))} vs ${mb(med(s.baseline, (v) => v.bytes))}) |`);
    }
  }
  const ef = res.everyFeature;
  if (ef) {
    const nft = Math.max(...ef.probes.map((p) => p.nftables));
    const ipt = Math.max(...ef.probes.map((p) => p.iptables));
    const worst = (k: 'nftables' | 'iptables', n: number) => ef.probes.filter((p) => p[k] === n).map((p) => p.name).join(', ');
    L.push(`| every feature on at ${int(ef.peers)} peers: at most 6 rules evaluated per packet (nftables), at most 7 (iptables, the INPUT hook included) `
      + `| nftables: ${met(nft <= 6)}; iptables: ${met(ipt <= 7)} | most over ${ef.probes.length} packets: nftables ${nft} (${worst('nftables', nft)}), iptables ${ipt} (${worst('iptables', ipt)}) |`);
  }
  const cs = res.compileScale;
  if (cs) {
    const pick = (re: RegExp) => Object.entries(cs.values).filter(([k]) => re.test(k));
    const show = (e: [string, number][]) => e.map(([k, v]) => `${k} ${Number.isFinite(v) ? secs(v) : `did not finish within ${cs.limitS} s`}`).join(', ');
    // the target's case: 65,535 distinct ports (compile and render, and a full synth), both backends
    const ports = pick(/^ports(Synth)?65535/i);
    // a harder case than the target's, reported on its own: 32,768 ports none of which are adjacent
    const sparse = pick(/sparse/i);
    const services = pick(/service/i);
    const worst = (e: [string, number][]) => (e.length === 0 ? NaN : Math.max(...e.map(([, v]) => v)));
    L.push(`| 65,535 distinct ports compile in under 2 s | ${ports.length > 0 ? met(worst(ports) < 2000) : '–'} | ${show(ports) || 'not measured'} |`);
    if (sparse.length > 0) {
      L.push(`| (beyond the targets) 32,768 non-adjacent ports compile in under 2 s | ${met(worst(sparse) < 2000)} | ${show(sparse)} |`);
    }
    L.push(`| 5,000 services compile in under 5 s | ${services.length > 0 ? met(worst(services) < 5000) : '–'} | ${show(services) || 'not measured'} |`);
    const r250 = cs.values.reachability250HostsMs;
    const r500 = cs.values.reachability500HostsMs;
    if (r250 !== undefined && r500 !== undefined) {
      L.push(`| (beyond the targets, not a target) the fleet reachability matrix (FleetDiagram) grows with the square of the fleet | – | 250 hosts ${secs(r250)}, 500 hosts ${secs(r500)}: ${(r500 / r250).toFixed(2)}× for twice the hosts (4× is quadratic) |`);
    }
  }
  const ssh = res.ssh;
  if (ssh) {
    const real = ssh.accepted >= 0 && ssh.applyStatus === 0;
    L.push(`| a host deploy opens at most 3 SSH connections | ${met((real ? ssh.accepted : ssh.provisioners) <= 3)} `
      + `| ${real ? `${ssh.accepted} connections accepted by the host's sshd during \`terraform apply\`` : `lab: ${ssh.note}; counted from cdk.tf.json`}; `
      + `the Apply resource has ${ssh.provisioners} provisioners |`);
  }
  return L;
}

/** The report's fleet-scale sections. */
export function fleetSections(res: FleetResults): string[] {
  const L: string[] = [];
  const f = res.fleetScale;
  if (f) {
    L.push('## Fleet synth against cdktf alone');
    L.push('');
    L.push('`cdktf synth` of one stack with H `StatefulHost`s of 10 services each (half public, half open to a /24; SSH for 3 admins; iptables; '
      + 'a null_resource deployment per host), and a cdktf-only app (bench/synth-child.ts `baseline`) that declares the same provisioning resources per host '
      + '(the Apply null_resource with its connection, triggers and 7 provisioners, the Teardown one with 3 destroy-time provisioners, as '
      + 'src/deploy/host-deployment.ts declares them) with one-line contents. Each synth in a child process (construct tree + `app.synth()`, module '
      + `loading excluded; peak RSS of the process), library and baseline interleaved, stopped after ${int(f.limitS)} s, V8 heap limit ${int(f.heapMiB)} MiB. Medians of the runs that finished.`);
    L.push('');
    L.push('| hosts × services | runs | library: time / peak / cdk.tf.json / output | cdktf-only: time / peak / cdk.tf.json / output | ratio: time / peak / cdk.tf.json / output | resources declared |');
    L.push('| --- | ---: | ---: | ---: | ---: | --- |');
    for (const s of f.sizes) {
      const m = (xs: SynthSample[]) => [med(xs, (v) => v.ms), med(xs, (v) => v.rssMiB), med(xs, (v) => v.tfJsonBytes), med(xs, (v) => v.bytes)];
      const [a, b] = [m(s.library), m(s.baseline)];
      const cell = (v: number[]) => `${secs(v[0])} / ${mib(v[1])} / ${mb(v[2])} / ${mb(v[3])}`;
      L.push(`| ${int(s.hosts)} × ${s.services} | ${s.library.length} + ${s.baseline.length} | ${cell(a)}${failures(s.library)} | ${cell(b)}${failures(s.baseline)} `
        + `| ${[timeRatio(s.library, b[0], f.limitS), ...a.slice(1).map((v, i) => times(v, b[i + 1]))].join(' / ')} | ${sameDeclared(s.library, s.baseline)} |`);
    }
    L.push('');
    const rk = f.resourceKind;
    if (rk) {
      const t = (xs: SynthSample[]) => med(xs, (v) => v.ms);
      L.push(`\`ProvisioningResource.TERRAFORM_DATA\` against \`NULL_RESOURCE\`, ${int(rk.hosts)} hosts × ${rk.services} services (runs: ${rk.nullResource.length}): `
        + `null_resource ${secs(t(rk.nullResource))}${failures(rk.nullResource)}, terraform_data ${secs(t(rk.terraformData))}${failures(rk.terraformData)} `
        + `(${timeRatio(rk.terraformData, t(rk.nullResource), f.limitS)}); cdktf alone with terraform_data ${secs(t(rk.baselineData))}${failures(rk.baselineData)}.`);
      L.push('');
    }
  }
  const cs = res.compileScale;
  if (cs) {
    L.push('## Compile at scale');
    L.push('');
    L.push(cs.source === 'bench/compile-child.ts'
      ? 'bench/compile-child.ts, one child per case and backend, stopped after the limit: *ports*, one service of 65,535 distinct TCP ports (1 to 65,535, each its own `Port`) '
        + 'open to one network; *services*, 5,000 services of one TCP port each, each open to one address of its own. Policy compiled and the backend\'s files rendered.'
      : `Measured by ${cs.source} (\`measureCompileScale()\`).`);
    L.push('');
    L.push('| case | time |');
    L.push('| --- | ---: |');
    for (const [k, v] of Object.entries(cs.values)) L.push(`| ${k} | ${Number.isFinite(v) ? secs(v) : `did not finish within ${cs.limitS} s`} |`);
    L.push('');
  }
  const ef = res.everyFeature;
  if (ef) {
    L.push('## Rules evaluated per packet, every feature on');
    L.push('');
    L.push('The simulator\'s `rulesEvaluated` (as in *Rules evaluated per packet*) for one policy with every feature on (bench/fleet.ts `everyFeaturePolicy`): '
      + `${int(ef.peers)} admin addresses to 15 ports, ${ef.features.join(', ')}.`);
    L.push('');
    L.push('| packet | nftables | iptables |');
    L.push('| --- | ---: | ---: |');
    for (const p of ef.probes) L.push(`| ${p.name} | ${p.nftables} | ${p.iptables} |`);
    L.push('');
  }
  const ssh = res.ssh;
  if (ssh) {
    L.push('## SSH connections per host deploy');
    L.push('');
    L.push('One host of the terraform lab (lab/terraform-lab.ts: a network namespace with its own sshd, LogLevel VERBOSE) deployed with a real `terraform apply` '
      + '(terraform_data, the lab\'s key, the host key pinned); connections counted as the `Accepted publickey` lines sshd logged during the apply. '
      + `Result: ${ssh.accepted >= 0 ? `${ssh.accepted} connections` : 'the lab could not run'}${ssh.note ? ` (${ssh.note})` : ''}; `
      + `the Apply resource in cdk.tf.json has ${ssh.provisioners} provisioners (Terraform opens one connection per provisioner).`);
    L.push('');
  }
  return L;
}
