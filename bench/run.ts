/**
 * `npm run bench` (root): this library against the naive ordered ruleset, ferm and ufw, for
 * policies of 10 to 10,000 admin addresses x 1, 15 and 100 ports, and the fleet-scale figures
 * of issue 13 (bench/fleet.ts), all in one run on this machine. Writes bench/RESULTS.md,
 * bench/results.svg and bench/results.json.
 *
 *   npx ts-node --project test/tsconfig.json bench/run.ts [--quick] [--repeats N] [--only GROUP[,GROUP]]
 *       [--synth-runs N] [--large-runs N] [--synth-limit S] [--synth-heap-mib M] [--compile-limit S] [--report-only]
 *   npm run bench -- --only synth
 *
 * Groups (all by default): kernel (the contenders in namespaces: rules, kernel cost, apply,
 * one-host synth), synth (1,000 and 10,000 hosts x 10 services against a cdktf-only
 * baseline, terraform_data against null_resource), compile (65,535 ports, 5,000 services),
 * rules (rules evaluated with every feature on at 10,000 peers), ssh (SSH connections of one
 * host deploy, real terraform and sshd in the lab). A run of some groups (--only) writes its
 * files to bench/tmp/partial-GROUPS/ (e.g. partial-synth/), never over the committed results.
 *
 * --quick: 10 and 100 addresses only, 3 repeats; fleets of 100 and 1,000 hosts (a smoke run; the files say so).
 * --synth-runs N: runs of library and baseline at 1,000 hosts and of the terraform_data comparison (default 3; --quick 1).
 * --large-runs N: runs at 10,000 hosts (default 1). --synth-limit S: time limit of one synth (default 3600 s).
 * --synth-heap-mib M: the synth child's V8 heap limit (default 24576, the 24 GiB of the target).
 * --compile-limit S: time limit of one large compile (default 120 s).
 * --report-only: rewrite RESULTS.md and results.svg from results.json, measuring nothing.
 * See RESULTS.md ("Method") for what is measured and how.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchPolicy, benchPolicy, chunks, fermConfig, naive, ours, ufwCommands, ufwUserRules } from './contenders';
import { CompileScale, EveryFeature, FleetScale, fleetSections, fleetTargets, measureCompile, measureEveryFeature, measureFleet, measureSsh, SshCount } from './fleet';
import { filterRuleCount, parseIptablesSave } from './iptables-model';
import { BENCH_DIR, KernelCost, KernelLab, median, SENDER, TIMEIT, TMP, timed, tmpFile } from './kernel-lab';
import { figure, Panel } from './plot';
import { Lab } from '../lab/netns';
import { Backend, CompiledRuleset, ConnectionState, IpFamily, Packet, Simulator, TcpFlag } from '../src/core';

const ROOT = path.resolve(BENCH_DIR, '..');
/** Longest a one-address change may take before the bench stops it (and reports "> this"). */
const CHANGE_LIMIT_S = 60;
const NAIVE_NOTE = 'IPv4 only (IPv6 left open, as in the discussion); one address: one `-I INPUT` rule per port, all in one `iptables-restore --noflush` '
  + `(stopped after ${CHANGE_LIMIT_S} s and shown as "> ${CHANGE_LIMIT_S} s": with a million rules in the chain iptables-nft takes minutes)`;
const UFW_NOTE = 'one address: one `ufw allow` per group of up to 15 ports, with ufw active (each command rereads and rewrites all of ufw\'s rules)';
const APPLY_SCRIPT = path.join(ROOT, 'assets', 'sfw-apply.sh');

/** The contenders, in report order. */
const CONTENDERS = ['ours-iptables', 'ours-nftables', 'naive', 'ferm', 'ufw'] as const;
type Contender = typeof CONTENDERS[number];
const LABEL: Record<Contender, string> = {
  'ours-iptables': 'this library, iptables + ipset',
  'ours-nftables': 'this library, nftables',
  'naive': 'naive ordered ruleset',
  'ferm': 'ferm',
  'ufw': 'ufw',
};
const COLOR: Record<Contender, string> = {
  'ours-iptables': '#1f77b4',
  'ours-nftables': '#2ca02c',
  'naive': '#d62728',
  'ferm': '#9467bd',
  'ufw': '#ff7f0e',
};

interface Evaluated {
  readonly established: number;
  readonly allowedNew: number;
  readonly unsolicited: number;
}

interface ContenderResult {
  rules: { v4: number; v6: number };
  evaluated: Evaluated;
  /** Rules evaluated read from the kernel's rule counters (iptables rulesets, small policies). */
  counted?: { allowedNew: number; unsolicited: number };
  kernel?: KernelCost;
  /** Loading the rendered ruleset into an empty namespace with the kernel tools (ms). */
  loadMs: number;
  /** The tool's own apply, end to end (ms): the apply script, ferm, ufw enable. */
  toolApplyMs?: number;
  /** One more admin address: the incremental command (ms) and the tool's full re-apply (ms). */
  changeIncrementalMs?: number;
  changeFullMs?: number;
  /** Compile / synth (ms) and its peak memory (MiB). */
  compileMs?: number;
  compileMiB?: number;
  notes: string[];
}

interface PolicyResult {
  readonly addresses: number;
  readonly ports: number;
  readonly contenders: Partial<Record<Contender, ContenderResult>>;
}

/** Interleaved runs of the smallest and the largest policy for one backend and port count (see `flatness`). */
interface Flatness {
  readonly backend: 'ours-iptables' | 'ours-nftables';
  readonly ports: number;
  readonly small: number;
  readonly large: number;
  /** Per round: [small ns, large ns, baseline ns]. */
  readonly rounds: [number, number, number][];
}

interface Results {
  readonly date: string;
  readonly quick: boolean;
  readonly repeats: number;
  readonly machine: Record<string, string>;
  readonly baseline: KernelCost[];
  readonly policies: PolicyResult[];
  /** One-stack synth of a fleet (runs before issue 13; see fleetScale). */
  fleet?: { hosts: number; services: number; runs: { ms: number; rssMiB: number }[] };
  /** The groups measured (undefined: every group, runs before --only existed). */
  groups?: Group[];
  fleetScale?: FleetScale;
  compileScale?: CompileScale;
  everyFeature?: EveryFeature;
  ssh?: SshCount;
  flatness: Flatness[];
  ufwCheck: string[];
  readonly durationS: number;
}

// ---------------------------------------------------------------------------------------

const GROUPS = ['kernel', 'synth', 'compile', 'rules', 'ssh'] as const;
type Group = typeof GROUPS[number];

interface Args {
  quick: boolean;
  repeats: number;
  groups: Group[];
  synthRuns: number;
  largeRuns: number;
  synthLimitS: number;
  synthHeapMiB: number;
  compileLimitS: number;
}

function args(): Args {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const num = (flag: string, dflt: number, min: number) => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? Number(argv[i + 1]) : dflt;
    if (!Number.isInteger(v) || v < min) throw new Error(`${flag} needs a whole number >= ${min}`);
    return v;
  };
  const only = argv.flatMap((a, i) => (a === '--only' ? (argv[i + 1] ?? '').split(',') : a.startsWith('--only=') ? a.slice(7).split(',') : []));
  for (const g of only) if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`--only ${g}: unknown group; use ${GROUPS.join(', ')}`);
  return {
    quick,
    repeats: num('--repeats', quick ? 3 : 7, 3),
    groups: only.length > 0 ? GROUPS.filter((g) => only.includes(g)) : [...GROUPS],
    synthRuns: num('--synth-runs', quick ? 1 : 3, 1),
    largeRuns: num('--large-runs', 1, 1),
    synthLimitS: num('--synth-limit', 3600, 10),
    synthHeapMiB: num('--synth-heap-mib', 24 * 1024, 512),
    compileLimitS: num('--compile-limit', 120, 5),
  };
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return (r.stdout || r.stderr || '').trim();
}

function machine(): Record<string, string> {
  return {
    'cpu': `${os.cpus()[0]?.model ?? '?'} x ${os.cpus().length}`,
    'memory': `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    'kernel': os.release(),
    'os': sh('. /etc/os-release && echo "$PRETTY_NAME"'),
    'node': process.version,
    'iptables': sh('iptables -V'),
    'nft': sh('nft -v'),
    'ipset': sh('ipset -v | head -1'),
    'ferm': sh('ferm --version | head -1'),
    'ufw': sh('ufw version | head -1'),
    'load average at start': sh('cut -d" " -f1-3 /proc/loadavg'),
  };
}

/** The three packets of the rules-evaluated columns: established, the last admin's new connection to the last port, an unsolicited SYN to port 22. */
function probes(p: BenchPolicy): Record<keyof Evaluated, Packet> {
  return {
    established: Packet.tcp({ from: p.admins[0], port: 22, flags: [TcpFlag.ACK], state: ConnectionState.ESTABLISHED }),
    allowedNew: Packet.tcp({ from: p.admins[p.admins.length - 1], port: p.portList[p.portList.length - 1] }),
    unsolicited: Packet.tcp({ from: '100.64.0.1', port: 22 }),
  };
}

function evaluatedByModel(text: string, p: BenchPolicy): Evaluated {
  const model = parseIptablesSave(text, IpFamily.IPV4);
  const pk = probes(p);
  const n = (k: keyof Evaluated) => Simulator.evaluateModel(model, pk[k]).rulesEvaluated;
  return { established: n('established'), allowedNew: n('allowedNew'), unsolicited: n('unsolicited') };
}

function evaluatedOurs(r: CompiledRuleset, backend: Backend, p: BenchPolicy): Evaluated {
  const pk = probes(p);
  const n = (k: keyof Evaluated) => r.simulate(pk[k], backend).rulesEvaluated;
  return { established: n('established'), allowedNew: n('allowedNew'), unsolicited: n('unsolicited') };
}

/** The iptables-save sections of ferm's --remote output, by family. */
function splitFerm(text: string): { v4: string; v6: string } {
  const parts = text.split(/^(?=# Generated by ferm)/m);
  const v6 = parts.find((s) => /\(ip6tables-save\)/.test(s.split('\n')[0])) ?? '';
  const v4 = parts.find((s) => /\(iptables-save\)/.test(s.split('\n')[0])) ?? '';
  return { v4, v6 };
}

/**
 * user.rules as ufw writes it once it holds rules (the packaged file has no `### END RULES ###`
 * and no logging section yet): taken from the first sandbox the ufw command line filled.
 */
let ufwTemplate: string | undefined;

/**
 * A ufw sandbox (--rootdir/--datadir): ufw's configuration copied, disabled, no sysctl file;
 * with `rules`, its user.rules is ufw's own file (`ufwTemplate`) with `rules` as the RULES section.
 */
function ufwSandbox(name: string, rules: string | undefined): string {
  const dir = path.join(TMP, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'etc', 'default'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
  fs.cpSync('/etc/ufw', path.join(dir, 'etc', 'ufw'), { recursive: true });
  fs.cpSync('/lib/ufw', path.join(dir, 'lib', 'ufw'), { recursive: true });
  const empty = path.join(dir, 'etc', 'ufw', 'sysctl.bench.conf');
  fs.writeFileSync(empty, '');
  const defaults = fs.readFileSync('/etc/default/ufw', 'utf8').replace(/^IPT_SYSCTL=.*$/m, `IPT_SYSCTL=${empty}`);
  fs.writeFileSync(path.join(dir, 'etc', 'default', 'ufw'), defaults);
  const conf = path.join(dir, 'etc', 'ufw', 'ufw.conf');
  fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/^ENABLED=.*$/m, 'ENABLED=no'));
  if (rules !== undefined) {
    if (!ufwTemplate || !/### RULES ###\n[\s\S]*?\n### END RULES ###/.test(ufwTemplate)) throw new Error('no user.rules written by ufw to start from');
    const text = ufwTemplate.replace(/### RULES ###\n[\s\S]*?\n### END RULES ###/, () => `### RULES ###\n\n${rules}\n### END RULES ###`);
    fs.writeFileSync(path.join(dir, 'etc', 'ufw', 'user.rules'), text);
  }
  return dir;
}

function ufwArgs(dir: string): string[] {
  return ['ufw', `--rootdir=${dir}`, `--datadir=${dir}`];
}

/** The RULES section of a sandbox's user.rules. */
function ufwRulesSection(dir: string): string {
  const text = fs.readFileSync(path.join(dir, 'etc', 'ufw', 'user.rules'), 'utf8');
  const m = /### RULES ###\n\n([\s\S]*?)\n### END RULES ###/.exec(text);
  return m ? m[1] : '';
}

/** A scratch namespace for a tool's own apply; destroyed by `done()`. */
function scratch(tag: string): { lab: Lab; ns: string; done: () => void } {
  const lab = new Lab(tag);
  return { lab, ns: lab.addNamespace('s'), done: () => lab.destroy() };
}

/** The apply script end to end in a scratch namespace: apply (timed), then a second apply with one more admin (timed). */
function applyScriptRuns(backend: Backend, first: CompiledRuleset, second: CompiledRuleset): { applyMs: number; changeMs: number } {
  const s = scratch('apply');
  try {
    const dir = fs.mkdtempSync(path.join(TMP, 'apply-'));
    const env = { PATH: process.env.PATH, LC_ALL: 'C', TMPDIR: dir, SFW_ROOT: path.join(dir, 'root'), SFW_TIMER: 'detached' };
    // a host with systemd under the scratch root: confirm persists through the library's boot
    // unit there (a confirm that cannot persist fails since boot persistence landed)
    fs.mkdirSync(path.join(dir, 'root', 'etc', 'systemd', 'system'), { recursive: true });
    const pending = path.join(dir, 'pending');
    const run = (r: CompiledRuleset) => {
      fs.rmSync(pending, { recursive: true, force: true });
      fs.mkdirSync(pending);
      for (const [name, text] of Object.entries(r.files(backend))) fs.writeFileSync(path.join(pending, name), text);
      const t = timed(s.lab, s.ns, ['dash', APPLY_SCRIPT, 'apply', '--dir', pending, '--state-dir', path.join(dir, 'state'), '--backend', backend, '--rollback-timeout', '600'], { env });
      s.lab.exec(s.ns, ['dash', APPLY_SCRIPT, 'confirm', '--state-dir', path.join(dir, 'state')], { env, timeoutMs: 120_000 });
      return t.ms;
    };
    const applyMs = run(first);
    const changeMs = run(second);
    fs.rmSync(dir, { recursive: true, force: true });
    return { applyMs, changeMs };
  } finally {
    s.done();
  }
}

/** Synth of one host (or the fleet) in a child process: construct + synth ms, peak RSS. */
function synthChild(mode: 'policy' | 'fleet', a: number, b: number): { ms: number; rssMiB: number } {
  const out = fs.mkdtempSync(path.join(TMP, 'synth-'));
  try {
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(BENCH_DIR, 'synth-child.ts'), mode, String(a), String(b), out], {
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'test', 'tsconfig.json') },
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`synth child failed: ${r.stderr}`);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; rssMiB: number };
    return { ms: j.ms, rssMiB: j.rssMiB };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------

function benchPolicyRun(k: KernelLab, p: BenchPolicy, repeats: number, ufwCheck: string[]): PolicyResult {
  const label = `${p.addresses} addresses x ${p.ports} ports`;
  const result: PolicyResult = { addresses: p.addresses, ports: p.ports, contenders: {} };
  const tag = `${p.addresses}x${p.ports}`;
  const extra = '10.200.0.1';
  const plusOne: BenchPolicy = { ...p, admins: [...p.admins, extra] };
  const small = p.addresses <= 100;

  // ---- this library: synth (one host, in a child process), iptables + ipset, nftables
  log(`${label}: this library`);
  const synth = synthChild('policy', p.addresses, p.ports);
  const r = ours(p);
  const r2 = ours(plusOne);
  const files = r.files(Backend.IPTABLES);
  const v4 = tmpFile(`ours-${tag}.v4`, files['rules.v4']);
  const v6 = tmpFile(`ours-${tag}.v6`, files['rules.v6']);
  const sets = files['sets.ipset'] !== undefined ? tmpFile(`ours-${tag}.ipset`, files['sets.ipset']) : undefined;
  {
    const notes: string[] = [];
    k.clear();
    const loads = [
      ...(sets ? [timed(k.lab, k.host, ['ipset', 'restore'], { inputFile: sets }).ms] : []),
      timed(k.lab, k.host, ['iptables-restore'], { inputFile: v4 }).ms,
      timed(k.lab, k.host, ['ip6tables-restore'], { inputFile: v6 }).ms,
    ];
    const kernel = k.kernelCost(repeats);
    const counted = small ? {
      allowedNew: k.countedRules('iptables-save', 'iptables', p.admins[p.admins.length - 1], p.portList[p.portList.length - 1]),
      unsolicited: k.countedRules('iptables-save', 'iptables', '100.64.0.1', 22),
    } : undefined;
    let changeIncrementalMs: number | undefined;
    if (r.model.sets) {
      const set = r.model.sets.find((s) => s.kind === 'address')!;
      changeIncrementalMs = median([1, 2, 3, 4, 5].map((i) => timed(k.lab, k.host, ['ipset', 'add', set.name, `10.200.1.${i}`]).ms));
      notes.push(`one address: \`ipset add ${set.name} ADDRESS\``);
    } else {
      notes.push('no set at this size (8 or fewer addresses per rule)');
    }
    const script = applyScriptRuns(Backend.IPTABLES, r, r2);
    result.contenders['ours-iptables'] = {
      rules: { v4: filterRuleCount(files['rules.v4']), v6: filterRuleCount(files['rules.v6']) },
      evaluated: evaluatedOurs(r, Backend.IPTABLES, p),
      counted,
      kernel,
      loadMs: loads.reduce((a, b) => a + b, 0),
      toolApplyMs: script.applyMs,
      changeIncrementalMs,
      changeFullMs: script.changeMs,
      compileMs: synth.ms,
      compileMiB: synth.rssMiB,
      notes,
    };
  }
  {
    const nft = tmpFile(`ours-${tag}.nft`, r.toNftables());
    k.clear();
    const load = timed(k.lab, k.host, ['nft', '-f', nft]).ms;
    const kernel = k.kernelCost(repeats);
    const set = r.nftablesModel().sets?.find((s) => s.kind === 'address');
    const changeIncrementalMs = set
      ? median([1, 2, 3, 4, 5].map((i) => timed(k.lab, k.host, ['nft', 'add', 'element', 'inet', 'stateful_firewall', set.name, `{ 10.200.1.${i} }`]).ms))
      : undefined;
    const script = applyScriptRuns(Backend.NFTABLES, r, r2);
    result.contenders['ours-nftables'] = {
      rules: { v4: r.ruleCount(Backend.NFTABLES, IpFamily.IPV4), v6: r.ruleCount(Backend.NFTABLES, IpFamily.IPV6) },
      evaluated: evaluatedOurs(r, Backend.NFTABLES, p),
      kernel,
      loadMs: load,
      toolApplyMs: script.applyMs,
      changeIncrementalMs,
      changeFullMs: script.changeMs,
      compileMs: synth.ms,
      compileMiB: synth.rssMiB,
      notes: set ? [`one address: \`nft add element inet stateful_firewall ${set.name} { ADDRESS }\``] : [],
    };
  }

  // ---- the naive ordered ruleset
  log(`${label}: naive ruleset`);
  {
    const text = naive(p);
    const file = tmpFile(`naive-${tag}.v4`, text);
    k.clear();
    const load = timed(k.lab, k.host, ['iptables-restore'], { inputFile: file }).ms;
    const kernel = k.kernelCost(repeats);
    const counted = small ? {
      allowedNew: k.countedRules('iptables-save', 'iptables', p.admins[p.admins.length - 1], p.portList[p.portList.length - 1]),
      unsolicited: k.countedRules('iptables-save', 'iptables', '100.64.0.1', 22),
    } : undefined;
    const insert = ['*filter', ...p.portList.map((port) => `-I INPUT 2 -s ${extra}/32 -p tcp -m tcp --dport ${port} -j ACCEPT`), 'COMMIT', ''].join('\n');
    const changeRun = timed(k.lab, k.host, ['iptables-restore', '--noflush'], {
      inputFile: tmpFile(`naive-${tag}.change`, insert), limitSeconds: CHANGE_LIMIT_S, allowFail: true,
    });
    if (changeRun.status !== 0 && changeRun.status !== 124) throw new Error(`iptables-restore --noflush failed: ${changeRun.stderr}`);
    const change = changeRun.status === 124 ? Infinity : changeRun.ms;
    result.contenders.naive = {
      rules: { v4: filterRuleCount(text), v6: 0 },
      evaluated: evaluatedByModel(text, p),
      counted,
      kernel,
      loadMs: load,
      toolApplyMs: load,
      changeIncrementalMs: change,
      notes: [NAIVE_NOTE],
    };
  }

  // ---- ferm: compiled with --remote, applied by ferm itself in a scratch namespace
  log(`${label}: ferm`);
  {
    const conf = tmpFile(`ferm-${tag}.conf`, fermConfig(p));
    const conf2 = tmpFile(`ferm-${tag}-plus1.conf`, fermConfig(plusOne));
    const compile = timed(k.lab, k.host, ['ferm', '--remote', conf]);
    const { v4: fv4, v6: fv6 } = splitFerm(compile.stdout);
    const f4 = tmpFile(`ferm-${tag}.v4`, fv4);
    const f6 = tmpFile(`ferm-${tag}.v6`, fv6);
    k.clear();
    const load = timed(k.lab, k.host, ['iptables-restore'], { inputFile: f4 }).ms + timed(k.lab, k.host, ['ip6tables-restore'], { inputFile: f6 }).ms;
    const live = k.lab.exec(k.host, ['iptables-save', '-t', 'filter'], { timeoutMs: 600_000 });
    const kernel = k.kernelCost(repeats);
    const counted = small ? {
      allowedNew: k.countedRules('iptables-save', 'iptables', p.admins[p.admins.length - 1], p.portList[p.portList.length - 1]),
      unsolicited: k.countedRules('iptables-save', 'iptables', '100.64.0.1', 22),
    } : undefined;
    const s = scratch('ferm');
    let apply: number;
    let change: number;
    try {
      apply = timed(s.lab, s.ns, ['ferm', conf]).ms;
      change = timed(s.lab, s.ns, ['ferm', conf2]).ms;
    } finally {
      s.done();
    }
    result.contenders.ferm = {
      rules: { v4: filterRuleCount(fv4), v6: filterRuleCount(fv6) },
      evaluated: evaluatedByModel(live, p),
      counted,
      kernel,
      loadMs: load,
      toolApplyMs: apply,
      changeFullMs: change,
      compileMs: compile.ms,
      compileMiB: compile.rssKiB / 1024,
      notes: ['applied by ferm itself with iptables-legacy (ferm prefers it); measured loaded with iptables-restore like every contender',
        'one address: ferm runs again (no incremental mode)'],
    };
  }

  // ---- ufw: rules in its sandboxed user.rules, enabled in a scratch namespace
  log(`${label}: ufw`);
  {
    const commands = ufwCommands(p);
    const generated = ufwUserRules(p);
    if (p.addresses <= 10) {
      // the ufw command line, rule by rule, must write exactly what the bench generates
      const dir = ufwSandbox(`ufw-cli-${tag}`, undefined);
      const s = scratch('ufwcli');
      try {
        for (const c of commands) s.lab.exec(s.ns, [...ufwArgs(dir), ...c], { timeoutMs: 120_000 });
      } finally {
        s.done();
      }
      ufwTemplate ??= fs.readFileSync(path.join(dir, 'etc', 'ufw', 'user.rules'), 'utf8');
      const same = ufwRulesSection(dir) === generated;
      ufwCheck.push(`${label}: ${commands.length} \`ufw allow\` commands wrote ${same ? 'exactly' : 'NOT'} the user.rules the bench generates`);
      if (!same) throw new Error(`ufw's user.rules for ${label} differ from the bench's: see ${dir}`);
    }
    const dir = ufwSandbox(`ufw-${tag}`, generated);
    const s = scratch('ufw');
    let apply: number;
    let change: number;
    let uv4: string;
    let uv6: string;
    try {
      apply = timed(s.lab, s.ns, [...ufwArgs(dir), '--force', 'enable']).ms;
      uv4 = s.lab.exec(s.ns, ['iptables-save', '-t', 'filter'], { timeoutMs: 600_000 });
      uv6 = s.lab.exec(s.ns, ['ip6tables-save', '-t', 'filter'], { timeoutMs: 600_000 });
      change = chunks(p.portList, 15)
        .map((c) => timed(s.lab, s.ns, [...ufwArgs(dir), 'allow', 'proto', 'tcp', 'from', extra, 'to', 'any', 'port', c.join(',')]).ms)
        .reduce((a, b) => a + b, 0);
    } finally {
      s.done();
    }
    const userRules = uv4.split('\n').filter((l) => l.startsWith('-A ufw-user-input ')).length;
    if (userRules !== commands.length) throw new Error(`ufw loaded ${userRules} user rules for ${label}, expected ${commands.length}: see ${dir}`);
    const u4 = tmpFile(`ufw-${tag}.v4`, uv4);
    const u6 = tmpFile(`ufw-${tag}.v6`, uv6);
    k.clear();
    const load = timed(k.lab, k.host, ['iptables-restore'], { inputFile: u4 }).ms + timed(k.lab, k.host, ['ip6tables-restore'], { inputFile: u6 }).ms;
    const kernel = k.kernelCost(repeats);
    const counted = small ? {
      allowedNew: k.countedRules('iptables-save', 'iptables', p.admins[p.admins.length - 1], p.portList[p.portList.length - 1]),
      unsolicited: k.countedRules('iptables-save', 'iptables', '100.64.0.1', 22),
    } : undefined;
    result.contenders.ufw = {
      rules: { v4: filterRuleCount(uv4), v6: filterRuleCount(uv6) },
      evaluated: evaluatedByModel(uv4, p),
      counted,
      kernel,
      loadMs: load,
      toolApplyMs: apply,
      changeIncrementalMs: change,
      notes: [UFW_NOTE],
    };
  }
  k.clear();
  return result;
}

/** The empty ruleset: a filter table whose INPUT policy is DROP. */
function loadBaseline(k: KernelLab): void {
  k.clear();
  k.lab.exec(k.host, ['iptables-restore'], { input: '*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' });
}

function loadOurs(k: KernelLab, backend: 'ours-iptables' | 'ours-nftables', r: CompiledRuleset, tag: string): void {
  k.clear();
  if (backend === 'ours-nftables') {
    k.lab.exec(k.host, ['nft', '-f', tmpFile(`flat-${tag}.nft`, r.toNftables())]);
    return;
  }
  const files = r.files(Backend.IPTABLES);
  if (files['sets.ipset']) k.lab.exec(k.host, ['ipset', 'restore'], { input: files['sets.ipset'] });
  k.lab.exec(k.host, ['iptables-restore'], { input: files['rules.v4'] });
  k.lab.exec(k.host, ['ip6tables-restore'], { input: files['rules.v6'] });
}

/**
 * The flat-cost check without drift between far-apart measurements: the smallest policy,
 * the largest and the empty ruleset measured in turn, `rounds` times.
 */
function flatness(k: KernelLab, backend: 'ours-iptables' | 'ours-nftables', ports: number, small: number, large: number, rounds: number, repeats: number): Flatness {
  const a = ours(benchPolicy(small, ports));
  const b = ours(benchPolicy(large, ports));
  const out: [number, number, number][] = [];
  for (let i = 0; i < rounds; i++) {
    loadOurs(k, backend, a, 'small');
    const sa = k.kernelCost(repeats).medianNs;
    loadOurs(k, backend, b, 'large');
    const sb = k.kernelCost(repeats).medianNs;
    loadBaseline(k);
    const sc = k.kernelCost(repeats).medianNs;
    out.push([sa, sb, sc]);
  }
  k.clear();
  return { backend, ports, small, large, rounds: out };
}

/** Median ratios of a flatness check: the firewall's share (minus the round's baseline), and the whole time. */
function flatRatios(f: Flatness): { share: number; total: number } {
  return {
    share: median(f.rounds.map(([a, b, c]) => (b - c) / (a - c))),
    total: median(f.rounds.map(([a, b]) => b / a)),
  };
}

// ---------------------------------------------------------------------------------------
// report

/** A duration with its unit: `12.3 ms`, `1.29 s`. */
function ms(v: number | undefined): string {
  if (v === Infinity) return `>&nbsp;${CHANGE_LIMIT_S}&nbsp;s`;
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (v < 10) return `${v.toFixed(2)}&nbsp;ms`;
  if (v < 1000) return `${v.toFixed(1)}&nbsp;ms`;
  return `${(v / 1000).toFixed(2)}&nbsp;s`;
}

function ns(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}&nbsp;ms`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}&nbsp;µs`;
  return `${Math.round(v)}&nbsp;ns`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === Infinity && b !== undefined && Number.isFinite(b) && b > 0) return `>&nbsp;${Math.round((CHANGE_LIMIT_S * 1000) / b)}×`;
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return '–';
  const r = a / b;
  return r >= 100 ? `${Math.round(r)}×` : r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(1)}×`;
}

function int(v: number): string {
  return v.toLocaleString('en-US');
}

function baselineNs(res: Results): number {
  return median(res.baseline.map((b) => b.medianNs));
}

/** The baseline around a policy's measurements: the mean of the ones measured just before and just after it. */
function localBaselineNs(res: Results, p: PolicyResult): number {
  const i = res.policies.indexOf(p);
  const around = [res.baseline[i], res.baseline[i + 1]].filter((b) => b !== undefined).map((b) => b.medianNs);
  return around.length > 0 ? around.reduce((x, y) => x + y, 0) / around.length : baselineNs(res);
}

function share(res: Results, p: PolicyResult, c: ContenderResult | undefined): number | undefined {
  return c?.kernel ? c.kernel.medianNs - localBaselineNs(res, p) : undefined;
}

/** Rows of the Targets table for the kernel group (the contenders' policies). */
function kernelTargets(res: Results): string[] {
  const L: string[] = [];
  const sizes = res.policies;
  const get = (p: PolicyResult, c: Contender) => p.contenders[c];
  const pol = (a: number, pp: number) => sizes.find((x) => x.addresses === a && x.ports === pp);
  // ---- targets
  const maxEval = (c: Contender) => Math.max(...sizes.map((p) => {
    const e = get(p, c)?.evaluated;
    return e ? Math.max(e.established, e.allowedNew, e.unsolicited) : 0;
  }));
  const largest = Math.max(...sizes.map((p) => p.addresses));
  const smallest = Math.min(...sizes.map((p) => p.addresses));
  const flat = (c: Contender) => [1, 15, 100].filter((pp) => pol(largest, pp) && pol(smallest, pp)).map((pp) => {
    const hi = share(res, pol(largest, pp)!, get(pol(largest, pp)!, c));
    const lo = share(res, pol(smallest, pp)!, get(pol(smallest, pp)!, c));
    const totalHi = get(pol(largest, pp)!, c)?.kernel?.medianNs;
    const totalLo = get(pol(smallest, pp)!, c)?.kernel?.medianNs;
    const r = hi !== undefined && lo !== undefined ? hi / lo : NaN;
    return { pp, r, total: totalHi !== undefined && totalLo !== undefined ? totalHi / totalLo : NaN };
  });
  const met = (ok: boolean) => (ok ? '**met**' : '**missed**');
  const nftMax = maxEval('ours-nftables');
  const iptMax = maxEval('ours-iptables');
  L.push(`| at most 6 rules evaluated for any packet at any size | nftables: ${met(nftMax <= 6)}; iptables: ${met(iptMax <= 6)} `
    + `| most rules for the established, allowed-new and unsolicited packet at any size: nftables ${nftMax}, iptables ${iptMax} (the built-in INPUT chain's jump to SFW-INPUT included) |`);
  for (const c of ['ours-iptables', 'ours-nftables'] as Contender[]) {
    const f = flat(c);
    const inter = res.flatness.filter((x) => x.backend === c).map((x) => ({ pp: x.ports, ...flatRatios(x), rounds: x.rounds.length }));
    const worst = Math.max(...inter.map((x) => x.share));
    L.push(`| kernel cost of an unsolicited packet at ${int(largest)} addresses within 1.2× of ${smallest} (${LABEL[c]}) | ${met(worst <= 1.2)} `
      + `| firewall's share (time per packet minus the empty ruleset), ${int(largest)} ÷ ${smallest} addresses, measured interleaved (${inter[0]?.rounds ?? 0} rounds, `
      + `median): ${inter.map((x) => `${x.pp} port(s) ${x.share.toFixed(2)}×`).join(', ')}; whole time per packet ${inter.map((x) => `${x.total.toFixed(2)}×`).join(', ')}. `
      + `From the main table (measured minutes apart): share ${f.map((x) => `${x.r.toFixed(2)}×`).join(', ')} |`);
  }
  for (const c of ['ours-iptables', 'ours-nftables'] as Contender[]) {
    const big = sizes.filter((p) => p.addresses === largest).map((p) => get(p, c)!);
    const worstLoad = Math.max(...big.map((x) => x.loadMs));
    const worstScript = Math.max(...big.map((x) => x.toolApplyMs ?? NaN));
    const worstInc = Math.max(...big.map((x) => x.changeIncrementalMs ?? NaN));
    const worstFull = Math.max(...big.map((x) => x.changeFullMs ?? NaN));
    L.push(`| the ${int(largest)}-address policy applies in under 0.1 s (${LABEL[c]}) | kernel load: ${met(worstLoad < 100)}; apply script end to end: ${met(worstScript < 100)} `
      + `| slowest of the three port counts: load ${ms(worstLoad)}; \`sfw-apply.sh apply\` (validation in a scratch namespace, rollback point, armed timer, load) ${ms(worstScript)} |`);
    L.push(`| a one-address change in under 10 ms (${LABEL[c]}) | incremental: ${met(worstInc < 10)}; redeploy through the apply script: ${met(worstFull < 10)} `
      + `| ${c === 'ours-iptables' ? '`ipset add`' : '`nft add element`'} ${ms(worstInc)}; apply script with the new address (set swapped${c === 'ours-nftables' ? ', table replaced' : ''}) ${ms(worstFull)} |`);
  }
  return L;
}

/** The kernel group's sections: rules, kernel cost, apply, one-host synth, method, notes. */
function kernelSections(res: Results): string[] {
  const L: string[] = [];
  const sizes = res.policies;
  const get = (p: PolicyResult, c: Contender) => p.contenders[c];
  const base = baselineNs(res);
  const baseSpread = `${ns(Math.min(...res.baseline.map((b) => b.minNs)))} – ${ns(Math.max(...res.baseline.map((b) => b.maxNs)))}`;
  const largest = Math.max(...sizes.map((p) => p.addresses));
  // ---- rule counts
  L.push('## Rules per family');
  L.push('');
  L.push('Rules in the filter table (iptables: every `-A` line, hooks and tool chains included; nftables: the rules a packet of the family can meet in the library\'s table).');
  L.push('');
  L.push(`| addresses × ports | ${CONTENDERS.map((c) => `${LABEL[c]} v4 / v6`).join(' | ')} |`);
  L.push(`| --- | ${CONTENDERS.map(() => '---:').join(' | ')} |`);
  for (const p of sizes) L.push(`| ${int(p.addresses)} × ${p.ports} | ${CONTENDERS.map((c) => (get(p, c) ? `${int(get(p, c)!.rules.v4)} / ${int(get(p, c)!.rules.v6)}` : '–')).join(' | ')} |`);
  L.push('');

  // ---- rules evaluated
  L.push('## Rules evaluated per packet');
  L.push('');
  L.push('The packet simulator\'s `rulesEvaluated` (jumps and gotos included; a verdict map is one rule) for an established packet, '
    + 'a new connection from the **last** admin address to the **last** port (the worst case for ordered rules), and an unsolicited SYN to port 22 '
    + 'from an address that is not an admin. The other contenders\' rulesets are read back from the kernel (`iptables-save`) into the simulator\'s model '
    + '(bench/iptables-model.ts). For 10 and 100 addresses the kernel\'s own rule counters were read as well (counters zeroed, one packet sent, '
    + 'the rules up to the one that decided counted); the column *kernel* shows them where they are available.');
  L.push('');
  L.push(`| addresses × ports | ${CONTENDERS.map((c) => `${LABEL[c]}: est. / new / unsol.`).join(' | ')} |`);
  L.push(`| --- | ${CONTENDERS.map(() => '---:').join(' | ')} |`);
  for (const p of sizes) {
    L.push(`| ${int(p.addresses)} × ${p.ports} | ${CONTENDERS.map((c) => {
      const x = get(p, c);
      if (!x) return '–';
      const e = x.evaluated;
      return `${int(e.established)} / ${int(e.allowedNew)} / ${int(e.unsolicited)}`;
    }).join(' | ')} |`);
  }
  L.push('');
  const checks = sizes.flatMap((p) => CONTENDERS.map((c) => ({ p, c, x: get(p, c) })))
    .filter((o) => o.x?.counted);
  const agree = checks.filter((o) => o.x!.counted!.allowedNew === o.x!.evaluated.allowedNew
    && o.x!.counted!.unsolicited === o.x!.evaluated.unsolicited);
  L.push(`Kernel counters vs simulator: ${agree.length} of ${checks.length} (policy, contender) pairs agree on both packets`
    + (agree.length < checks.length ? `; differing: ${checks.filter((o) => !agree.includes(o)).map((o) => `${o.p.addresses}×${o.p.ports} ${o.c} `
      + `(kernel ${o.x!.counted!.allowedNew}/${o.x!.counted!.unsolicited}, simulator ${o.x!.evaluated.allowedNew}/${o.x!.evaluated.unsolicited})`).join('; ')}` : '') + '.');
  L.push('');

  // ---- kernel cost
  L.push('## Kernel cost per unsolicited packet');
  L.push('');
  L.push(`Median time per packet (min – max over ${res.repeats} repeats) and, below it, the firewall's share: the median minus the empty-ruleset baseline `
    + `measured just before and just after the policy (overall ${ns(base)} per packet, median of ${res.baseline.length} baseline measurements spread through the run, ${baseSpread}). `
    + 'Ratio: the contender\'s share over this library\'s (iptables + ipset).');
  L.push('');
  L.push(`| addresses × ports | ${CONTENDERS.map((c) => LABEL[c]).join(' | ')} |`);
  L.push(`| --- | ${CONTENDERS.map(() => '---:').join(' | ')} |`);
  for (const p of sizes) {
    const oursShare = share(res, p, get(p, 'ours-iptables'));
    L.push(`| ${int(p.addresses)} × ${p.ports} | ${CONTENDERS.map((c) => {
      const x = get(p, c);
      if (!x?.kernel) return '–';
      const s = share(res, p, x)!;
      return `${ns(x.kernel.medianNs)} (${ns(x.kernel.minNs)} – ${ns(x.kernel.maxNs)})<br>share ${ns(s)}${c === 'ours-iptables' ? '' : ` = ${ratio(s, oursShare)}`}`;
    }).join(' | ')} |`);
  }
  L.push('');

  L.push('Interleaved check of the flat cost (the smallest policy, the largest and the empty ruleset measured in turn, so that drift of the machine '
    + 'between far-apart measurements does not count): time per packet, smallest / largest / empty, per round.');
  L.push('');
  L.push('| ruleset | ports | rounds: small / large / empty (ns) | share large ÷ small (median) | whole time large ÷ small (median) |');
  L.push('| --- | ---: | --- | ---: | ---: |');
  for (const f of res.flatness) {
    const r = flatRatios(f);
    L.push(`| ${LABEL[f.backend]}, ${int(f.small)} vs ${int(f.large)} addresses | ${f.ports} | ${f.rounds.map((x) => x.map((v) => Math.round(v)).join(' / ')).join('; ')} `
      + `| ${r.share.toFixed(2)}× | ${r.total.toFixed(2)}× |`);
  }
  L.push('');

  // ---- apply
  L.push('## Time to apply');
  L.push('');
  L.push('*Load*: the rendered ruleset loaded into an empty namespace with the kernel tools, as one transaction per tool '
    + '(`ipset restore` + `iptables-restore` + `ip6tables-restore`, or `nft -f`), timed inside the namespace. '
    + '*Tool*: the contender\'s own apply, end to end (this library: `sfw-apply.sh apply`, which validates in a scratch namespace, saves a rollback point, '
    + 'arms the rollback timer and loads; ferm: `ferm FILE`; ufw: `ufw enable`; naive: its `iptables-restore`). '
    + '*+1 address*: one more admin address — incremental (`ipset add`, `nft add element`, P `-I` rules for the naive ruleset, `ufw allow` commands) '
    + 'and / or the tool\'s full re-apply (this library: the apply script with the new ruleset, which swaps the set; ferm: a full run). Milliseconds.');
  L.push('');
  L.push(`| addresses × ports | ${CONTENDERS.map((c) => `${LABEL[c]}: load / tool / +1 incr. / +1 full`).join(' | ')} |`);
  L.push(`| --- | ${CONTENDERS.map(() => '---:').join(' | ')} |`);
  for (const p of sizes) {
    L.push(`| ${int(p.addresses)} × ${p.ports} | ${CONTENDERS.map((c) => {
      const x = get(p, c);
      if (!x) return '–';
      return `${ms(x.loadMs)} / ${ms(x.toolApplyMs)} / ${ms(x.changeIncrementalMs)} / ${ms(x.changeFullMs)}`;
    }).join(' | ')} |`);
  }
  L.push('');
  L.push('Ratios at the largest size (contender ÷ this library, iptables + ipset):');
  L.push('');
  L.push('| addresses × ports | contender | load | tool apply | +1 address (fastest way the tool has) |');
  L.push('| --- | --- | ---: | ---: | ---: |');
  for (const p of sizes.filter((x) => x.addresses === largest)) {
    const o = get(p, 'ours-iptables')!;
    const fastest = (x: ContenderResult) => Math.min(x.changeIncrementalMs ?? Infinity, x.changeFullMs ?? Infinity);
    for (const c of ['naive', 'ferm', 'ufw'] as Contender[]) {
      const x = get(p, c);
      if (!x) continue;
      L.push(`| ${int(p.addresses)} × ${p.ports} | ${LABEL[c]} | ${ratio(x.loadMs, o.loadMs)} | ${ratio(x.toolApplyMs, o.toolApplyMs)} | ${ratio(fastest(x), fastest(o))} |`);
    }
  }
  L.push('');

  // ---- synth
  L.push('## Time to synth (compile) and memory');
  L.push('');
  L.push('This library: `cdktf synth` of one stack with one `StatefulHost` (construct tree + `app.synth()`, in a child process: Terraform JSON, '
    + 'rules.v4/v6, sets.ipset, model.json, explain.md). ferm: `ferm --remote` (compile only). The naive ruleset and ufw have no compile step: '
    + 'the naive file is written by hand, ufw turns each `ufw allow` into rules as it goes (see *+1 address*).');
  L.push('');
  L.push('| addresses × ports | this library: synth ms / peak MiB | ferm: compile ms / peak MiB | ferm ÷ this library (time) |');
  L.push('| --- | ---: | ---: | ---: |');
  for (const p of sizes) {
    const o = get(p, 'ours-iptables');
    const f = get(p, 'ferm');
    L.push(`| ${int(p.addresses)} × ${p.ports} | ${ms(o?.compileMs)} / ${Math.round(o?.compileMiB ?? NaN)} | ${ms(f?.compileMs)} / ${Math.round(f?.compileMiB ?? NaN)} | ${ratio(f?.compileMs, o?.compileMs)} |`);
  }
  L.push('');
  if (res.fleet) {
    L.push(`Fleet: ${int(res.fleet.hosts)} hosts × ${res.fleet.services} services each (half public, half open to a /24; SSH for 3 admins; a null_resource deployment per host), `
      + `one stack: ${res.fleet.runs.map((x) => `${(x.ms / 1000).toFixed(1)} s / ${Math.round(x.rssMiB)} MiB`).join('; ')}.`);
    L.push('');
  }

  // ---- method
  L.push('## Method');
  L.push('');
  L.push('- **Policy.** N admin IPv4 addresses (10.0.0.1, 10.0.0.3, …: never adjacent, so nothing merges) may open TCP connections to P ports '
    + '(22, 8002, 8004, …: never adjacent either); established traffic passes; everything else is dropped; ping is answered. The same policy is written '
    + 'for every contender (bench/contenders.ts): the library\'s `HostPolicy` (default set threshold 8, so 10 and more addresses are one ipset / nftables set, '
    + 'and 100 ports one `bitmap:port` ipset for iptables); the naive ruleset (established first, then one `-A INPUT -s A -p tcp --dport P -j ACCEPT` per address and port, '
    + 'then DROP; IPv4 only); ferm (the admin list in a variable, ports through multiport in groups of 15, ferm\'s best case; same stateful baseline as ours); '
    + 'ufw (`ufw allow proto tcp from A to any port P1,…,P15` per address and group of 15 ports; ufw\'s own defaults otherwise).');
  L.push('- **Where ferm and ufw run.** Only in network namespaces created for the bench: ferm compiles with `ferm --remote` and applies with `ferm FILE` '
    + 'inside a scratch namespace; ufw runs with `--rootdir/--datadir` pointing at a copy of its configuration under bench/tmp (sysctl file emptied), '
    + '`ufw enable` inside a scratch namespace, and its ruleset is read back there with `iptables-save`. ufw\'s user.rules for 10 addresses are written by the '
    + 'ufw command line, rule by rule, and compared byte for byte with the bench\'s generator, which writes the larger ones '
    + `(the command line rereads and rewrites the whole file for every rule: hours for 70,000 rules). ${res.ufwCheck.length > 0 ? res.ufwCheck.join('; ') : ''}.`);
  L.push('- **Kernel cost.** A HOST namespace holds the ruleset (every iptables-format ruleset loaded with the same `iptables-restore`, i.e. iptables-nft, '
    + 'Debian\'s default; ours with its `sets.ipset` first; ours on nftables with `nft -f`); a CLIENT namespace is joined to it by a veth pair. '
    + 'bench/sender.c writes prebuilt TCP SYN frames (64 source addresses in 100.64.0.0/10, none an admin, to port 22) into an AF_PACKET socket on the '
    + 'client\'s veth with `sendmmsg`, pinned to one CPU. A veth hands each frame to the peer\'s receive path in the sender\'s own softirq context, so '
    + 'the sender\'s wall time per packet is the kernel\'s whole cost of receiving and dropping it: veth, IP, conntrack (every contender is stateful and '
    + 'creates, then frees an unconfirmed entry), the INPUT hook. Each measurement: a warm-up, a calibration sizing each repeat to about 0.25 s, then '
    + `${res.repeats} repeats; the median and the spread are reported. The baseline is the same path with an empty filter table whose INPUT policy is DROP (no rules, `
    + 'no conntrack), measured before and after every policy; the firewall\'s share is the median minus the baseline median.');
  L.push('- **Rules evaluated.** See the table\'s note. For this library the simulator walks the model the renderers print (the iptables layout, '
    + 'or the nftables layout with its verdict maps); the differential tests keep that model in agreement with the kernel.');
  L.push('- **Apply.** Timed inside the namespace by bench/timeit.c (fork, exec, wait), so `ip netns exec` and Node stay out of the figures; '
    + 'loads go into an empty namespace.');
  L.push('- **Synth.** In a child process (`ts-node --transpile-only`), module loading excluded; peak RSS of that process.');
  L.push('');
  L.push('## Notes per contender');
  L.push('');
  const fixed: Partial<Record<Contender, string>> = { naive: NAIVE_NOTE, ufw: UFW_NOTE };
  for (const c of CONTENDERS) {
    const notes = fixed[c] ? [fixed[c]!] : [...new Set(sizes.flatMap((p) => get(p, c)?.notes ?? []))];
    if (notes.length > 0) L.push(`- ${LABEL[c]}: ${notes.join('; ')}.`);
  }
  L.push('');
  return L;
}

function report(res: Results): string {
  const L: string[] = [];
  const sizes = res.policies;

  L.push('# Benchmark: flat cost as policies grow');
  L.push('');
  L.push(`Generated by \`npm run bench\` (bench/run.ts) on ${res.date}${res.quick ? ' — **quick smoke run (--quick): not the reference figures**' : ''}; `
    + `${res.repeats} repeats per kernel measurement; whole run ${Math.round(res.durationS)} s. Raw data: [results.json](results.json); figure: [results.svg](results.svg).`);
  L.push('');
  L.push('| machine | |');
  L.push('| --- | --- |');
  for (const [k2, v] of Object.entries(res.machine)) L.push(`| ${k2} | ${v} |`);
  L.push('');
  if (res.groups && res.groups.length < GROUPS.length) {
    L.push(`**Partial run (--only ${res.groups.join(',')})**: the other groups were not measured.`);
    L.push('');
  }
  if (sizes.length > 0) {
    L.push('![kernel cost, rules evaluated and apply time against policy size](results.svg)');
    L.push('');
  }

  L.push('## Targets');
  L.push('');
  L.push('| target | result | measured |');
  L.push('| --- | --- | --- |');
  if (sizes.length > 0) L.push(...kernelTargets(res));
  if (res.fleet) {
    const met = (ok: boolean) => (ok ? '**met**' : '**missed**');
    const m = median(res.fleet.runs.map((x) => x.ms));
    L.push(`| ${int(res.fleet.hosts)} hosts × ${res.fleet.services} services synthesize in under 15 s on 2 cores | ${met(m < 15_000)} `
      + `| ${(m / 1000).toFixed(1)} s (median of ${res.fleet.runs.length}; ${res.fleet.runs.map((x) => `${(x.ms / 1000).toFixed(1)} s`).join(', ')}), peak ${Math.round(Math.max(...res.fleet.runs.map((x) => x.rssMiB)))} MiB on ${res.machine.cpu} |`);
  }
  L.push(...fleetTargets(res));
  L.push('');

  if (sizes.length > 0) L.push(...kernelSections(res));
  L.push(...fleetSections(res));
  return `${L.join('\n')}\n`;
}

function plot(res: Results): string {
  const sizes = res.policies;
  const series = (pp: number, value: (x: ContenderResult, p: PolicyResult) => number | undefined) => CONTENDERS.map((c) => ({
    label: LABEL[c],
    color: COLOR[c],
    dashed: c === 'ours-nftables',
    points: sizes.filter((p) => p.ports === pp && p.contenders[c]).map((p): [number, number] => [p.addresses, value(p.contenders[c]!, p) ?? NaN]),
  }));
  const maxPorts = Math.max(...sizes.map((p) => p.ports));
  const panels: Panel[] = [
    {
      title: `Firewall's kernel cost per unsolicited packet, ${maxPorts} ports`,
      xLabel: 'admin addresses',
      yLabel: 'ns per packet above the empty ruleset',
      series: series(maxPorts, (x, p) => (x.kernel ? Math.max(1, share(res, p, x)!) : undefined)),
    },
    {
      title: 'Same, 1 port',
      xLabel: 'admin addresses',
      yLabel: 'ns per packet above the empty ruleset',
      series: series(1, (x, p) => (x.kernel ? Math.max(1, share(res, p, x)!) : undefined)),
    },
    {
      title: `Rules evaluated, unsolicited packet, ${maxPorts} ports`,
      xLabel: 'admin addresses',
      yLabel: 'rules',
      series: series(maxPorts, (x) => x.evaluated.unsolicited),
      reference: { y: 6, label: 'target: 6' },
    },
    {
      title: `Full apply (kernel load), ${maxPorts} ports`,
      xLabel: 'admin addresses',
      yLabel: 'ms',
      series: series(maxPorts, (x) => x.loadMs),
      reference: { y: 100, label: 'target: 0.1 s' },
    },
  ];
  return figure('cdktf-stateful-firewall vs the naive ruleset, ferm and ufw', panels);
}

// ---------------------------------------------------------------------------------------

/** Writes RESULTS.md and results.svg (the figure only when the kernel group ran) into `dir`. */
function writeReports(results: Results, dir = BENCH_DIR): void {
  if (results.policies.length > 0) fs.writeFileSync(path.join(dir, 'results.svg'), plot(results));
  fs.writeFileSync(path.join(dir, 'RESULTS.md'), report(results));
}

async function main(): Promise<void> {
  if (process.argv.includes('--report-only')) {
    // rewrite RESULTS.md and results.svg from the last run's results.json (no measurement)
    writeReports(JSON.parse(fs.readFileSync(path.join(BENCH_DIR, 'results.json'), 'utf8'), (_k, v) => (v === 'Infinity' ? Infinity : v)) as Results);
    return;
  }
  const a = args();
  const { quick, repeats, groups } = a;
  const has = (g: Group) => groups.includes(g);
  if ((has('kernel') || has('ssh')) && process.getuid?.() !== 0) throw new Error(`the kernel and ssh groups need root (network namespaces, netfilter, sshd): run as root, or --only ${GROUPS.filter((g) => g !== 'kernel' && g !== 'ssh').join(',')}`);
  if (has('kernel')) {
    for (const tool of ['ferm', 'ufw', 'ipset', 'nft', 'conntrack', 'taskset', 'dash']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: run sh bench/setup.sh (npm run bench does)`);
    }
    for (const prog of [SENDER, TIMEIT]) if (!fs.existsSync(prog)) throw new Error(`${prog} is missing: run sh bench/setup.sh (npm run bench does)`);
  }
  fs.mkdirSync(TMP, { recursive: true });
  const started = Date.now();
  const results: Results = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    quick,
    repeats,
    machine: machine(),
    groups,
    baseline: [],
    policies: [],
    flatness: [],
    ufwCheck: [],
    durationS: 0,
  };
  if (has('kernel')) {
    const addresses = quick ? [10, 100] : [10, 100, 1000, 10000];
    const ports = [1, 15, 100];
    const k = new KernelLab();
    const baseline = () => {
      loadBaseline(k);
      const b = k.kernelCost(repeats);
      results.baseline.push(b);
      log(`baseline ${Math.round(b.medianNs)} ns/packet`);
    };
    try {
      baseline();
      for (const n of addresses) {
        for (const pp of ports) {
          results.policies.push(benchPolicyRun(k, benchPolicy(n, pp), repeats, results.ufwCheck));
          baseline();
        }
      }
      const small = addresses[0];
      const large = addresses[addresses.length - 1];
      for (const backend of ['ours-iptables', 'ours-nftables'] as const) {
        for (const pp of ports) {
          log(`flatness: ${backend}, ${small} vs ${large} addresses x ${pp} ports, interleaved`);
          results.flatness.push(flatness(k, backend, pp, small, large, quick ? 2 : 3, Math.min(repeats, 5)));
        }
      }
    } finally {
      k.destroy();
    }
  }
  if (has('rules')) results.everyFeature = measureEveryFeature(10_000);
  if (has('compile')) results.compileScale = await measureCompile(a.compileLimitS);
  if (has('ssh')) results.ssh = await measureSsh();
  if (has('synth')) {
    const [small, large] = quick ? [100, 1000] : [1000, 10_000];
    results.fleetScale = measureFleet([{ hosts: small, runs: a.synthRuns }, { hosts: large, runs: a.largeRuns }], a.synthLimitS, a.synthHeapMiB);
  }
  (results as { durationS: number }).durationS = (Date.now() - started) / 1000;
  results.machine['load average at end'] = sh('cut -d" " -f1-3 /proc/loadavg');
  // a run of some groups never overwrites the committed results
  const dir = groups.length === GROUPS.length ? BENCH_DIR : path.join(TMP, `partial-${groups.join('-')}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify(results, (_k, v) => (v === Infinity ? 'Infinity' : v), 1)}\n`);
  writeReports(results, dir);
  log(`done in ${Math.round(results.durationS)} s: ${path.relative(ROOT, dir)}/RESULTS.md, results.json${results.policies.length > 0 ? ', results.svg' : ''}`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
