/**
 * Conntrack sizing in assets/sfw-apply.sh (`tune`, and `apply`/`destroy` with
 * --conntrack-max/--conntrack-buckets), with the values ConntrackSizing computes.
 *
 * nf_conntrack_max and the hash size are only writable in the initial network
 * namespace, so the `tune` tests run the script there (as root) and change the
 * machine's real values: every test writes the values it found back in a
 * `finally`, and afterAll does it once more. Jest runs files one at a time
 * (maxWorkers 1), so nothing else reads the values meanwhile. The persistence
 * files go under SFW_ROOT in a temp dir. The `apply` test runs in a network
 * namespace, where the values are read-only and the script must only warn.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Backend, CompiledRuleset, ConntrackSizing, Peer, Port } from '../../src/core';
import { Lab, netnsSupported, RunResult, runHost, withLab } from '../support/netns';
import { makeScriptCtx, SCRIPT, ScriptCtx } from '../support/script-lab';

const CT_MAX_FILE = '/proc/sys/net/netfilter/nf_conntrack_max';
const CT_HASH_FILE = '/sys/module/nf_conntrack/parameters/hashsize';
const SYSCTL_CONF = 'etc/sysctl.d/90-stateful-firewall-conntrack.conf';
const MODPROBE_CONF = 'etc/modprobe.d/stateful-firewall-conntrack.conf';
const MODULES_CONF = 'etc/modules-load.d/stateful-firewall-conntrack.conf';
const CONFS = [SYSCTL_CONF, MODPROBE_CONF, MODULES_CONF];
const MARK = '# managed by stateful-firewall (conntrack sizing); do not edit';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Root, nf_conntrack loaded, and nf_conntrack_max writable (the initial network namespace, not a container). */
function rootNamespaceUsable(): boolean {
  if (!isRoot || !fs.existsSync(CT_MAX_FILE) || !fs.existsSync(CT_HASH_FILE)) return false;
  return (fs.statSync(CT_MAX_FILE).mode & 0o200) !== 0;
}
const describeRootNs = rootNamespaceUsable() ? describe : describe.skip;
const describeNetns = netnsSupported() && fs.existsSync(CT_MAX_FILE) ? describe : describe.skip;

const readKernel = (file: string): number => Number(fs.readFileSync(file, 'utf8').trim());
const live = () => ({ max: readKernel(CT_MAX_FILE), buckets: readKernel(CT_HASH_FILE) });

/** Writes the values back where they differ (buckets first, as the script does). */
function restoreKernel(values: { max: number; buckets: number }): void {
  if (readKernel(CT_HASH_FILE) !== values.buckets) fs.writeFileSync(CT_HASH_FILE, String(values.buckets));
  if (readKernel(CT_MAX_FILE) !== values.max) fs.writeFileSync(CT_MAX_FILE, String(values.max));
}

type Ctx = ScriptCtx;
const makeCtx = (): Ctx => makeScriptCtx('conntrack');

/** Runs the script in this process's network namespace (the initial one for the tune tests). */
function sfwHost(ctx: Ctx, args: readonly string[]): RunResult {
  return runHost(['sh', SCRIPT, ...args, '--state-dir', ctx.state], { env: ctx.env, timeoutMs: 60_000 });
}

function sfwNs(lab: Lab, ns: string, ctx: Ctx, args: readonly string[]): RunResult {
  return lab.run(ns, ['sh', SCRIPT, ...args, '--state-dir', ctx.state], { env: ctx.env, timeoutMs: 60_000 });
}

function ok(r: RunResult): RunResult {
  if (r.status !== 0) throw new Error(`sfw-apply.sh exited ${r.status}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  return r;
}

const conf = (ctx: Ctx, rel: string) => path.join(ctx.root, rel);
const confsPresent = (ctx: Ctx) => CONFS.filter((rel) => fs.existsSync(conf(ctx, rel)));

/** A sizing strictly above both live values (the kernel keeps multiples of 512 exactly). */
function sizingAbove(current: { max: number; buckets: number }): ConntrackSizing {
  const s = ConntrackSizing.forConnections(Math.floor(Math.max(current.max, current.buckets) / 2) + 10_000);
  expect(s.maxEntries).toBe(Math.ceil((2 * s.expectedConnections) / 512) * 512);
  expect(s.hashBuckets).toBe(s.maxEntries);
  expect(s.maxEntries).toBeGreaterThan(current.max);
  expect(s.hashBuckets).toBeGreaterThan(current.buckets);
  return s;
}

const tuneArgs = (s: ConntrackSizing) => ['--conntrack-max', String(s.maxEntries), '--conntrack-buckets', String(s.hashBuckets)];

describe('ConntrackSizing', () => {
  test('maxEntries = ceil(2n / 512) * 512, one hash bucket per entry', () => {
    expect(ConntrackSizing.forConnections(1).maxEntries).toBe(512);
    expect(ConntrackSizing.forConnections(256).maxEntries).toBe(512);
    expect(ConntrackSizing.forConnections(257).maxEntries).toBe(1024);
    const s = ConntrackSizing.forConnections(100_000);
    expect([s.maxEntries, s.hashBuckets, s.memoryBytes]).toEqual([200_192, 200_192, 200_192 * 320 + 200_192 * 8]);
    expect(() => ConntrackSizing.forConnections(0)).toThrow(/not usable/);
  });
});

describeRootNs('sfw-apply.sh tune in the initial network namespace (changes the real kernel values, restored after each test)', () => {
  let original: { max: number; buckets: number };
  let ctx: Ctx | undefined;

  beforeAll(() => {
    original = live();
  });
  afterEach(() => {
    restoreKernel(original);
    if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
    ctx = undefined;
  });
  afterAll(() => {
    if (original) restoreKernel(original);
  });

  test('1. tune raises both values exactly to the sizing and persists them; tune without values restores them and removes the files', () => {
    const c = (ctx = makeCtx());
    try {
      const s = sizingAbove(original);
      const up = ok(sfwHost(c, ['tune', ...tuneArgs(s)]));
      expect(up.stderr).toBe('');
      expect(live()).toEqual({ max: s.maxEntries, buckets: s.hashBuckets });
      expect(up.stdout).toContain(`conntrack: hash-buckets raised from ${original.buckets} to ${s.hashBuckets}`);
      expect(up.stdout).toContain(`conntrack: nf_conntrack_max raised from ${original.max} to ${s.maxEntries}`);
      expect(up.stdout).toContain('persistence: conntrack sizing (/etc/sysctl.d/90-stateful-firewall-conntrack.conf');
      expect(fs.readFileSync(conf(c, SYSCTL_CONF), 'utf8')).toBe(`${MARK}\nnet.netfilter.nf_conntrack_max = ${s.maxEntries}\n`);
      expect(fs.readFileSync(conf(c, MODPROBE_CONF), 'utf8')).toBe(`${MARK}\noptions nf_conntrack hashsize=${s.hashBuckets}\n`);
      expect(fs.readFileSync(conf(c, MODULES_CONF), 'utf8')).toBe(`${MARK}\nnf_conntrack\n`);
      expect(fs.readFileSync(path.join(c.state, 'conntrack.saved'), 'utf8')).toBe(`${original.max} ${original.buckets}\n`);
      expect(fs.readFileSync(path.join(c.state, 'conntrack.applied'), 'utf8')).toBe(`${s.maxEntries} ${s.hashBuckets}\n`);

      // a second tune with the same sizing changes nothing and keeps the first saved values
      const again = ok(sfwHost(c, ['tune', ...tuneArgs(s)]));
      expect(again.stdout).toContain(`nf_conntrack_max is ${s.maxEntries}, at least the ${s.maxEntries} needed: unchanged`);
      expect(fs.readFileSync(path.join(c.state, 'conntrack.saved'), 'utf8')).toBe(`${original.max} ${original.buckets}\n`);

      const down = ok(sfwHost(c, ['tune']));
      expect(down.stderr).toBe('');
      expect(live()).toEqual(original);
      expect(down.stdout).toContain(`conntrack: nf_conntrack_max restored to ${original.max}`);
      expect(down.stdout).toContain(`conntrack: hash-buckets restored to ${original.buckets}`);
      for (const rel of CONFS) expect(down.stdout).toContain(`persistence: removed /${rel}`);
      expect(confsPresent(c)).toEqual([]);
      expect(fs.existsSync(path.join(c.state, 'conntrack.saved'))).toBe(false);
      expect(fs.existsSync(path.join(c.state, 'conntrack.applied'))).toBe(false);

      // nothing left to undo: a second untune is a no-op
      const noop = ok(sfwHost(c, ['tune']));
      expect(noop.stdout).toBe('');
      expect(live()).toEqual(original);
    } finally {
      restoreKernel(original);
    }
  });

  test('2. raise-only: a sizing below the live values changes nothing ("unchanged")', () => {
    const c = (ctx = makeCtx());
    try {
      const s = ConntrackSizing.forConnections(Math.max(1, Math.floor(Math.min(original.max, original.buckets) / 4)));
      expect(s.maxEntries).toBeLessThan(original.max);
      expect(s.hashBuckets).toBeLessThan(original.buckets);
      const r = ok(sfwHost(c, ['tune', ...tuneArgs(s)]));
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(`conntrack: hash-buckets is ${original.buckets}, at least the ${s.hashBuckets} needed: unchanged`);
      expect(r.stdout).toContain(`conntrack: nf_conntrack_max is ${original.max}, at least the ${s.maxEntries} needed: unchanged`);
      expect(r.stdout).not.toContain('raised');
      expect(live()).toEqual(original);
      // what is persisted is the live values (at least the sizing): the host's own ones here
      expect(fs.readFileSync(conf(c, SYSCTL_CONF), 'utf8')).toBe(`${MARK}\nnet.netfilter.nf_conntrack_max = ${original.max}\n`);
      expect(fs.readFileSync(conf(c, MODPROBE_CONF), 'utf8')).toBe(`${MARK}\noptions nf_conntrack hashsize=${original.buckets}\n`);

      const down = ok(sfwHost(c, ['tune']));
      expect(down.stdout).not.toContain('restored');
      expect(live()).toEqual(original);
      expect(confsPresent(c)).toEqual([]);
    } finally {
      restoreKernel(original);
    }
  });

  test('3. a value changed by hand after tune is not the library\'s any more: untune leaves it', () => {
    const c = (ctx = makeCtx());
    try {
      const s = sizingAbove(original);
      ok(sfwHost(c, ['tune', ...tuneArgs(s)]));
      expect(live()).toEqual({ max: s.maxEntries, buckets: s.hashBuckets });
      const byHand = s.maxEntries + 1000;
      fs.writeFileSync(CT_MAX_FILE, String(byHand));
      expect(readKernel(CT_MAX_FILE)).toBe(byHand);

      const down = ok(sfwHost(c, ['tune']));
      expect(down.stdout).toContain(`conntrack: nf_conntrack_max is ${byHand}, changed since the library set ${s.maxEntries}: left as it is`);
      expect(down.stdout).toContain(`conntrack: hash-buckets restored to ${original.buckets}`);
      expect(live()).toEqual({ max: byHand, buckets: original.buckets });
      expect(confsPresent(c)).toEqual([]);
      expect(fs.existsSync(path.join(c.state, 'conntrack.saved'))).toBe(false);
    } finally {
      restoreKernel(original);
    }
    expect(live()).toEqual(original);
  });
});

describeNetns('sfw-apply.sh apply with a conntrack sizing in a network namespace (values read-only there)', () => {
  let ctx: Ctx | undefined;
  afterEach(() => {
    if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
    ctx = undefined;
  });

  const ruleset = CompiledRuleset.compile({ name: 'h', origin: 'h', allowances: [{ origin: 'h/Ssh', ports: [Port.SSH], peers: [Peer.any()] }] });

  test.each([Backend.IPTABLES, Backend.NFTABLES])('4. %s: apply warns "read-only here", exits 0 and persists no sizing; confirm and destroy work', (backend) => withLab(async (lab) => {
    const c = (ctx = makeCtx());
    const before = live();
    const host = lab.addNamespace('host');
    for (const [name, text] of Object.entries(ruleset.files(backend))) fs.writeFileSync(path.join(c.pending, name), text);
    // a systemd host: where the convention's service is missing, confirm installs the library's boot unit
    fs.mkdirSync(path.join(c.root, 'etc', 'systemd', 'system'), { recursive: true });
    if (backend === Backend.IPTABLES) fs.mkdirSync(path.join(c.root, 'etc', 'iptables'), { recursive: true });
    if (backend === Backend.NFTABLES) fs.writeFileSync(path.join(c.root, 'etc', 'nftables.conf'), '#!/usr/sbin/nft -f\n');
    const s = sizingAbove(before);

    const r = sfwNs(lab, host, c, ['apply', '--dir', c.pending, ...tuneArgs(s)]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('read-only here') });
    expect(r.stderr).toContain(`conntrack: hash-buckets could not be raised from ${before.buckets} to ${s.hashBuckets}: it is read-only here`);
    expect(r.stderr).toContain(`conntrack: nf_conntrack_max could not be raised from ${before.max} to ${s.maxEntries}: it is read-only here`);
    expect(r.stderr).not.toContain('persisting the conntrack sizing failed');
    expect(r.stdout).toContain('persistence: conntrack sizing not persisted (not applied here)');
    expect(r.stdout).toMatch(/apply id: [0-9a-f]{16}\n$/);
    expect(confsPresent(c)).toEqual([]);
    // the ruleset is live in the namespace
    if (backend === Backend.IPTABLES) {
      expect(lab.exec(host, ['iptables-save'])).toContain('-A INPUT -j SFW-INPUT');
      expect(lab.exec(host, ['ip6tables-save'])).toContain('-A INPUT -j SFW-INPUT');
    } else {
      expect(lab.exec(host, ['nft', 'list', 'table', 'inet', 'stateful_firewall'])).toContain('hook input');
    }
    // the host's values did not move
    expect(live()).toEqual(before);

    const conf2 = ok(sfwNs(lab, host, c, ['confirm']));
    expect(conf2.stdout).toMatch(/confirmed apply [0-9a-f]{16}: rollback cancelled/);
    expect(conf2.stdout).toContain(backend === Backend.IPTABLES ? 'persistence: netfilter-persistent' : 'persistence: nftables.service');
    expect(confsPresent(c)).toEqual([]);

    const d = ok(sfwNs(lab, host, c, ['destroy']));
    expect(d.stderr).toBe('');
    expect(d.stdout).toContain('destroyed: no library objects remain');
    expect(d.stdout).not.toContain('could not be restored');
    expect(fs.existsSync(path.join(c.state, 'conntrack.saved'))).toBe(false);
    expect(fs.existsSync(path.join(c.state, 'conntrack.applied'))).toBe(false);
    if (backend === Backend.IPTABLES) expect(lab.exec(host, ['iptables-save'])).not.toContain('SFW-');
    else expect(lab.run(host, ['nft', 'list', 'table', 'inet', 'stateful_firewall']).status).not.toBe(0);
    expect(confsPresent(c)).toEqual([]);
    expect(live()).toEqual(before);
  }, `ct-${backend}`));
});

describe('sfw-apply.sh conntrack usage errors (exit 2 before anything is touched)', () => {
  let ctx: Ctx | undefined;
  afterEach(() => {
    if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
    ctx = undefined;
  });

  test.each([
    ['tune', ['--conntrack-max', '262144'], /--conntrack-max and --conntrack-buckets go together/],
    ['tune', ['--conntrack-buckets', '262144'], /--conntrack-max and --conntrack-buckets go together/],
    ['apply', ['--conntrack-max=262144'], /--conntrack-max and --conntrack-buckets go together/],
    ['tune', ['--conntrack-max', '256k', '--conntrack-buckets', '262144'], /take whole numbers/],
    ['tune', ['--conntrack-max', '262144', '--conntrack-buckets', '-1'], /take whole numbers/],
    ['apply', ['--conntrack-max', '1e6', '--conntrack-buckets', '1e6'], /take whole numbers/],
    ['tune', ['--conntrack-max', '0600000', '--conntrack-buckets', '262144'], /take whole numbers/], // octal to the kernel
    ['tune', ['--conntrack-max', '99999999999999999999', '--conntrack-buckets', '262144'], /take whole numbers/],
    ['tune', ['--conntrack-max', '0', '--conntrack-buckets', '0'], /take whole numbers/],
  ] as const)('5. %s %j', (cmd, args, message) => {
    const c = (ctx = makeCtx());
    const r = runHost(['sh', SCRIPT, cmd, ...args, '--state-dir', c.state], { env: c.env, timeoutMs: 10_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(c.state)).toBe(false);
  });
});
