/**
 * Compile-scale figures (run by bench/run.ts, or alone):
 *
 *   npx ts-node --project test/tsconfig.json bench/compile-scale.ts [--ports N] [--services N]
 *
 * Prints one JSON object of milliseconds and counts:
 * - `ports65535<Backend>Ms`: one host, one Service with the single ports 1 to 65,535 (three
 *   peers), built, compiled and rendered (`host.renderedFiles`);
 * - `portsSynth65535<Backend>Ms`: the same, synthesized (`app.synth()`: validation, policy checks,
 *   files on disk);
 * - `portsSparse32768<Backend>Ms`: the same with every odd port only (32,768 ranges that
 *   cannot merge);
 * - `services5000<Backend>Ms`: one host, 5,000 Services, each its own port, with one of four
 *   peer lists, built, compiled and rendered;
 * - `servicesOwnPeers5000<Backend>Ms`: the same, each service with its own two peers (5,000 openings);
 * - `servicesSynth5000<Backend>Ms`: the first, synthesized (`app.synth()`: validation, policy
 *   checks, files on disk);
 * - without the backend (`ports65535Ms`, `services5000Ms`, ...): the slower backend's figure;
 * - `fleet52SynthMs`: `app.synth()` of examples/fleet (52 hosts, both files on disk);
 * - `reachability<N>HostsMs`: the fleet reachability matrix (what `FleetDiagram` writes as
 *   reachability.md/.json) of N hosts in four tiers, each tier open on its own port to every
 *   host of the tier before it (N/4 peers per host), both backends in turn, matrix and JSON:
 *   every ordered pair of hosts is a cell, so it grows with the square of the fleet;
 * - `fleet52CompilationsPerHost`: how often each host's policy was compiled in that synth
 *   (the largest count of any host).
 *
 * Each figure is the best of `repeats` runs (default 1) in this process.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { buildApp } from '../examples/fleet/main';
import { Backend, Peer, Port, StatefulHost } from '../src';
import { CompiledRuleset, DefaultAction } from '../src/core';
import * as compileModule from '../src/core/compile/compile';
import { FleetHost, reachability, reachabilityJson } from '../src/core/diff/reachability';
import { HostPolicy } from '../src/core/policy/host-policy';

/** Sizes of the scenarios (smaller ones are useful to see how a slow version grows). */
export interface CompileScaleOptions {
  readonly ports?: number;
  readonly sparsePorts?: number;
  readonly services?: number;
  readonly repeats?: number;
}

const BACKENDS: [string, Backend][] = [['Iptables', Backend.IPTABLES], ['Nftables', Backend.NFTABLES]];
const PEERS = [Peer.ipv4('198.51.100.0/24'), Peer.ipv4('203.0.113.7'), Peer.ipv6('2001:db8:77::/48')];

function ms(since: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - since) / 1e4) / 100;
}

function host(backend: Backend): StatefulHost {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'compile-scale-')) });
  const stack = new TerraformStack(app, 'bench');
  return new StatefulHost(stack, 'host', { address: '203.0.113.10', backend, deployment: { enabled: false } });
}

/** Builds a host with `ports`, compiles and renders it (`synth`: synthesizes the app instead); milliseconds. */
function onePortList(backend: Backend, ports: number[], synth = false): number {
  const started = process.hrtime.bigint();
  const h = host(backend);
  h.addService('Many', { ports: ports.map((p) => Port.tcp(p)), peers: PEERS });
  render(h, synth);
  return ms(started);
}

function render(h: StatefulHost, synth: boolean): void {
  if (synth) {
    (h.node.root as App).synth();
  } else {
    const files = h.renderedFiles;
    if (Object.keys(files).length === 0) throw new Error('nothing rendered');
  }
}

/** Four peer lists the services of `manyServices` take turns with. */
const POOL = [
  [Peer.ipv4('198.51.100.0/24')],
  [Peer.ipv4('203.0.113.7'), Peer.ipv6('2001:db8:7::7')],
  [Peer.ipv4('192.0.2.0/25'), Peer.ipv4('192.0.2.200')],
  [Peer.anyIpv4()],
];

/**
 * Builds a host with `count` services, each its own port and its own two peers (`own`) or
 * one of four shared peer lists, then compiles and renders it (`synth`: synthesizes the
 * app instead, policy checks and files included); milliseconds.
 */
function manyServices(backend: Backend, count: number, own: boolean, synth = false): number {
  const started = process.hrtime.bigint();
  const h = host(backend);
  for (let i = 0; i < count; i++) {
    const peers = own ? [Peer.ipv4(`10.${(i >> 8) & 255}.${i & 255}.0/24`), Peer.ipv6(`2001:db8:${i.toString(16)}::/48`)] : POOL[i % POOL.length];
    h.addService(`svc-${i}`, { ports: [Port.tcp(1024 + i)], peers });
  }
  render(h, synth);
  return ms(started);
}

/** Synthesizes the 52-host example; milliseconds and the most compilations of one host. */
function fleetSynth(): { ms: number; perHost: number } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'compile-scale-fleet-'));
  const counts = new Map<string, number>();
  const original = compileModule.compileHostPolicy;
  // count the calls (the module's own export, read at each call site), then restore it
  (compileModule as any).compileHostPolicy = (policy: HostPolicy) => {
    counts.set(policy.name, (counts.get(policy.name) ?? 0) + 1);
    return original(policy);
  };
  try {
    const started = process.hrtime.bigint();
    buildApp(outdir).synth();
    const took = ms(started);
    return { ms: took, perHost: Math.max(...counts.values()) };
  } finally {
    (compileModule as any).compileHostPolicy = original;
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** The reachability matrix and its JSON for `n` hosts in four tiers; milliseconds (compiling the hosts excluded). */
function fleetReachability(n: number): number {
  const address = (i: number) => `10.${Math.floor(i / 250)}.${i % 250}.1`;
  const hosts: FleetHost[] = Array.from({ length: n }, (_, i) => {
    const tier = i % 4;
    const previous = Array.from({ length: Math.ceil(n / 4) }, (_x, k) => ((tier + 3) % 4) + 4 * k).filter((j) => j < n);
    const ruleset = CompiledRuleset.compile({
      name: `h${i}`,
      origin: `bench/h${i}`,
      defaultAction: DefaultAction.DROP,
      allowances: [
        { origin: `bench/h${i}/Ssh`, ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.0/24')] },
        { origin: `bench/h${i}/Tier`, ports: [Port.tcp(8000 + tier)], peers: previous.map((j) => Peer.ipv4(address(j))) },
      ],
    });
    return { name: `h${i}`, addresses: [address(i)], model: ruleset.model, backend: i % 2 === 0 ? Backend.IPTABLES : Backend.NFTABLES };
  });
  const started = process.hrtime.bigint();
  const matrix = reachability(hosts);
  if (matrix.cells.length !== n * (n - 1) || reachabilityJson(matrix).length === 0) throw new Error('reachability: wrong matrix');
  return ms(started);
}

function best(repeats: number, run: () => number): number {
  let out = Infinity;
  for (let i = 0; i < repeats; i++) out = Math.min(out, run());
  return out;
}

/** Runs every scenario; figures by name. */
export async function measureCompileScale(options: CompileScaleOptions = {}): Promise<Record<string, number>> {
  const ports = options.ports ?? 65535;
  const sparse = options.sparsePorts ?? 32768;
  const services = options.services ?? 5000;
  const repeats = options.repeats ?? 1;
  const out: Record<string, number> = {};
  const all = Array.from({ length: ports }, (_, i) => i + 1);
  const odd = Array.from({ length: sparse }, (_, i) => 2 * i + 1);
  for (const [label, backend] of BACKENDS) {
    out[`ports${ports}${label}Ms`] = best(repeats, () => onePortList(backend, all));
    out[`portsSynth${ports}${label}Ms`] = best(repeats, () => onePortList(backend, all, true));
    out[`portsSparse${sparse}${label}Ms`] = best(repeats, () => onePortList(backend, odd));
    out[`services${services}${label}Ms`] = best(repeats, () => manyServices(backend, services, false));
    out[`servicesOwnPeers${services}${label}Ms`] = best(repeats, () => manyServices(backend, services, true));
    out[`servicesSynth${services}${label}Ms`] = best(repeats, () => manyServices(backend, services, false, true));
  }
  for (const name of [`ports${ports}`, `portsSynth${ports}`, `portsSparse${sparse}`, `services${services}`, `servicesOwnPeers${services}`, `servicesSynth${services}`]) {
    out[`${name}Ms`] = Math.max(out[`${name}IptablesMs`], out[`${name}NftablesMs`]);
  }
  const fleet = fleetSynth();
  out.fleet52SynthMs = fleet.ms;
  out.fleet52CompilationsPerHost = fleet.perHost;
  for (const n of [250, 500]) out[`reachability${n}HostsMs`] = best(repeats, () => fleetReachability(n));
  return out;
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

if (require.main === module) {
  measureCompileScale({ ports: arg('ports'), sparsePorts: arg('sparse'), services: arg('services'), repeats: arg('repeats') })
    .then((r) => process.stdout.write(`${JSON.stringify(r, undefined, 2)}\n`))
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    });
}
