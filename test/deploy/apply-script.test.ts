/**
 * Kernel-level tests of assets/sfw-apply.sh. Every test runs the script with
 * dash inside fresh network namespaces (test/support/netns.ts), so the
 * machine's own firewall is never touched. State dir and SFW_ROOT (the
 * persistence root) live in a temp dir under test-tmp/.
 *
 * Persistence detection in these tests: an empty `$SFW_ROOT/etc/iptables/`
 * directory selects netfilter-persistent, `$SFW_ROOT/etc/nftables.conf`
 * selects Debian's nftables.service. Every root is a systemd host
 * (`$SFW_ROOT/etc/systemd/system` exists): where no convention (or its
 * service) is there, confirm installs the library's boot unit
 * (test/deploy/boot-persistence.test.ts covers what each convention restores).
 */
import { ChildProcess, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CompiledRuleset } from '../../src/core';
import { CHAIN_NAME_POLICY } from '../support/chain-name-policy';
import { isLibraryLine, library, target } from '../support/iptables-objects';
import { Lab, netnsSupported, RunResult, withLab } from '../support/netns';
import { SCRIPT, Variant, VARIANTS } from '../support/script-lab';

const describeKernel = netnsSupported() ? describe : describe.skip;

const DEFAULT_VARIANT: Variant = { name: 'default', ipt: 'iptables', ip6t: 'ip6tables' };

/** One test's working dirs plus the env the script runs with. */
interface Ctx {
  readonly dir: string;
  readonly pending: string;
  readonly state: string;
  readonly root: string;
  readonly variant: Variant;
  readonly env: NodeJS.ProcessEnv;
}

function makeCtx(variant: Variant = DEFAULT_VARIANT): Ctx {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-apply-'));
  const ctx = {
    dir,
    pending: path.join(dir, 'pending'),
    state: path.join(dir, 'state'),
    root: path.join(dir, 'root'),
    variant,
    env: {
      PATH: process.env.PATH,
      LC_ALL: 'C',
      TMPDIR: dir,
      SFW_ROOT: path.join(dir, 'root'),
      SFW_TIMER: 'detached',
      ...(variant === DEFAULT_VARIANT ? {} : { SFW_IPTABLES: variant.ipt, SFW_IP6TABLES: variant.ip6t }),
    },
  };
  fs.mkdirSync(ctx.pending);
  fs.mkdirSync(path.join(ctx.root, 'etc', 'systemd', 'system'), { recursive: true });
  return ctx;
}

function sfw(lab: Lab, ns: string, ctx: Ctx, args: readonly string[]): RunResult {
  return lab.run(ns, ['dash', SCRIPT, ...args, '--state-dir', ctx.state], { env: ctx.env, timeoutMs: 60_000 });
}

function ok(r: RunResult): RunResult {
  if (r.status !== 0) throw new Error(`sfw-apply.sh exited ${r.status}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  return r;
}

function apply(lab: Lab, ns: string, ctx: Ctx, extra: readonly string[] = []): RunResult {
  return sfw(lab, ns, ctx, ['apply', '--dir', ctx.pending, ...extra]);
}

function writePending(ctx: Ctx, files: Record<string, string | undefined>): void {
  for (const name of ['rules.v4', 'rules.v6', 'sets.ipset', 'ruleset.nft']) {
    fs.rmSync(path.join(ctx.pending, name), { force: true });
  }
  for (const [name, content] of Object.entries(files)) {
    if (content !== undefined) fs.writeFileSync(path.join(ctx.pending, name), content);
  }
}

/** iptables-save output without comments and with chain counters zeroed. */
function save(lab: Lab, ns: string, cmd: string): string {
  return lab.exec(ns, [cmd])
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n');
}
const save4 = (lab: Lab, ns: string, v: Variant) => save(lab, ns, `${v.ipt}-save`);
const save6 = (lab: Lab, ns: string, v: Variant) => save(lab, ns, `${v.ip6t}-save`);

/** Everything in an iptables-save text that does not belong to the library (tables without rules dropped). */
function foreign(text: string): string[] {
  const out: string[] = [];
  let section: string[] = [];
  for (const line of text.split('\n')) {
    if (isLibraryLine(line)) continue;
    section.push(line);
    if (line === 'COMMIT') {
      if (section.some((l) => l.startsWith('-A ') || / - \[/.test(l))) out.push(...section);
      section = [];
    }
  }
  return out;
}

/** Built-in chain rules in order (to check hook positions). */
function chainRules(text: string, table: string, chain: string): string[] {
  let t = '';
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) t = line.slice(1);
    else if (t === table && line.startsWith(`-A ${chain} `)) out.push(line);
  }
  return out;
}

function filterFile(chains: Record<string, readonly string[]>, hooks: readonly string[], table = 'filter'): string {
  const builtins = table === 'raw' ? ['PREROUTING', 'OUTPUT'] : ['INPUT', 'FORWARD', 'OUTPUT'];
  return [
    `*${table}`,
    ...builtins.map((c) => `:${c} ACCEPT [0:0]`),
    ...Object.keys(chains).map((c) => `:${c} - [0:0]`),
    ...hooks,
    ...Object.entries(chains).flatMap(([c, rules]) => rules.map((r) => `-A ${c} ${r}`)),
    'COMMIT',
    '',
  ].join('\n');
}

function baseInput(v6: boolean, extra: readonly string[] = []): string[] {
  return [
    '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-i lo -j ACCEPT',
    // IPv6 needs neighbour discovery (the contract's example omits it: without these, v6 peers time out)
    ...(v6 ? ['-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT', '-p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT'] : []),
    '-m conntrack --ctstate INVALID -j DROP',
    '-p tcp -m conntrack --ctstate NEW -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT',
    ...extra,
    '-p tcp -j REJECT --reject-with tcp-reset',
    `-j REJECT --reject-with ${v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable'}`,
  ];
}

/** The example ruleset of the deploy contract (TCP 22 only). */
function sshOnly(extra4: readonly string[] = [], extra6: readonly string[] = []): Record<string, string> {
  return {
    'rules.v4': filterFile({ 'SFW-INPUT': baseInput(false, extra4) }, ['-A INPUT -j SFW-INPUT']),
    'rules.v6': filterFile({ 'SFW-INPUT': baseInput(true, extra6) }, ['-A INPUT -j SFW-INPUT']),
  };
}

async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 200): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** No process (e.g. a rollback timer) is left running in the namespace. */
async function expectNoProcesses(lab: Lab, ns: string): Promise<void> {
  await waitFor(() => lab.pids(ns).length === 0, 3000, 100);
  expect(lab.pids(ns)).toEqual([]);
}

/** Measurements printed at the end (information, not assertions). */
const metrics: Record<string, string> = {};

function applyId(r: RunResult): string {
  const m = /apply id: ([0-9a-f]+)/.exec(r.stdout);
  if (!m) throw new Error(`no apply id in:\n${r.stdout}`);
  return m[1];
}

/** The confirm window apply opened once its load was complete (from rollback.log). */
function windowOf(ctx: Ctx, id: string): { deadline: number; seconds: number } {
  const log = fs.readFileSync(path.join(ctx.state, 'rollback.log'), 'utf8');
  const m = new RegExp(`apply ${id} loaded: rollback at (\\d+) \\(in (\\d+)s\\)`).exec(log);
  if (!m) throw new Error(`no confirm window for apply ${id} in rollback.log:\n${log}`);
  return { deadline: Number(m[1]), seconds: Number(m[2]) };
}

/** The state dir's rolled-back record (id, reason, epoch seconds), if any. */
function rolledBack(ctx: Ctx): { id: string; reason: string; at: number } | undefined {
  const f = path.join(ctx.state, 'rolled-back');
  if (!fs.existsSync(f)) return undefined;
  const [id, reason, at] = fs.readFileSync(f, 'utf8').split('\n');
  return { id, reason, at: Number(at) };
}

/** A value of the state dir's armed.env. */
function armedValue(ctx: Ctx, key: string): string | undefined {
  const f = path.join(ctx.state, 'armed.env');
  if (!fs.existsSync(f)) return undefined;
  return new RegExp(`^${key}='([^']*)'`, 'm').exec(fs.readFileSync(f, 'utf8'))?.[1];
}

/**
 * A wrapper of `tool` that, once (when the file `<dir>/slow.<name>` exists, which it removes),
 * sleeps before running it; for restore tools only the real load (--noflush without --test)
 * is slowed. Writes the epoch second the slow call went on to `<dir>/slow.<name>.done`.
 */
function slowTool(ctx: Ctx, name: string, tool: string, seconds: number, loadOnly: boolean): string {
  const wrapper = path.join(ctx.dir, name);
  const flag = path.join(ctx.dir, `slow.${name}`);
  fs.writeFileSync(wrapper, [
    '#!/bin/sh',
    loadOnly ? 'case " $* " in *" --test "*) exec ' + tool + ' "$@" ;; *" --noflush "*) ;; *) exec ' + tool + ' "$@" ;; esac' : '',
    `if [ -f ${flag} ]; then rm -f ${flag}; sleep ${seconds}; date +%s >${flag}.done; fi`,
    `exec ${tool} "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });
  fs.writeFileSync(flag, '');
  return wrapper;
}

const NFT_TABLE = [
  'table inet stateful_firewall {',
  '  chain input {',
  '    type filter hook input priority filter; policy accept;',
  '    ct state established,related accept',
  '    iifname "lo" accept',
  '    ct state invalid drop',
  '    tcp dport 22 ct state new accept',
  '    reject',
  '  }',
  '}',
  '',
].join('\n');

const NFT_FOREIGN = [
  'table inet foreign {',
  '  set blocked {',
  '    type ipv4_addr',
  '    elements = { 192.0.2.99 }',
  '  }',
  '  chain input {',
  '    type filter hook input priority 10; policy accept;',
  '    ip saddr @blocked drop',
  '    tcp dport 8080 counter accept',
  '  }',
  '}',
  '',
].join('\n');

describeKernel('sfw-apply.sh on a kernel (network namespaces)', () => {
  let ctx: Ctx | undefined;
  afterEach(() => {
    if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
    ctx = undefined;
  });
  afterAll(() => {
    if (Object.keys(metrics).length > 0) {
      console.log(`apply script measurements:\n${Object.entries(metrics).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
    }
  });

  test('the script is POSIX sh: dash parses it and --help prints the usage', () => {
    const r = ok(runDash(['-n', SCRIPT]));
    expect(r.stderr).toBe('');
    const help = runDash([SCRIPT, '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: sh sfw-apply.sh <command>/);
  });

  describe.each(VARIANTS)('$name', (variant) => {
    test('1. apply on a bare host, confirm, persist (netfilter-persistent)', () => withLab(async (lab) => {
      const c = (ctx = makeCtx(variant));
      const host = lab.addNamespace('host');
      const files = sshOnly();
      writePending(c, files);
      fs.mkdirSync(path.join(c.root, 'etc', 'iptables'), { recursive: true });

      // default 60 s rollback timer: apply must return at once (nothing keeps stdout open):
      // it returned while the timer is still armed (had the timer held stdout, spawnSync would
      // have waited for it to fire, and status would say rolled back)
      const r = ok(apply(lab, host, c));
      expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/pending(.*\n)*.*rollback: armed for apply/);
      expect(r.stdout).toMatch(/stateful-firewall: ipv4: shared: 1 SFW-\* chain\(s\) and 1 hook\(s\)/);
      expect(r.stdout).toMatch(/stateful-firewall: ipv6: shared: /);
      expect(r.stdout).toMatch(/stateful-firewall: apply id: [0-9a-f]{16}\n$/);
      if (variant.name === 'iptables-legacy') expect(r.stdout).toContain('(legacy)');
      else expect(r.stdout).toContain('(nf_tables)');

      const live4 = save4(lab, host, variant);
      const live6 = save6(lab, host, variant);
      expect(library(live4)).toEqual(library(files['rules.v4']));
      expect(library(live6)).toEqual(library(files['rules.v6']));
      expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/rollback: armed for apply [0-9a-f]+, fires in \d+s \(process \d+\)/);

      const conf = ok(sfw(lab, host, c, ['confirm']));
      expect(conf.stdout).toMatch(/confirmed apply [0-9a-f]{16}: rollback cancelled/);
      expect(conf.stdout).toContain('persistence: netfilter-persistent (/etc/iptables/rules.v4 /etc/iptables/rules.v6)');
      // no netfilter-persistent.service under the root: the library's unit loads the ruleset at boot
      expect(conf.stdout).toContain("persistence: netfilter-persistent is configured but netfilter-persistent.service is missing, masked or static: installing the library's boot unit");
      expect(fs.readlinkSync(path.join(c.root, 'etc/systemd/system/sysinit.target.wants/stateful-firewall.service'))).toBe('/etc/systemd/system/stateful-firewall.service');
      const persisted4 = fs.readFileSync(path.join(c.root, 'etc/iptables/rules.v4'), 'utf8');
      const persisted6 = fs.readFileSync(path.join(c.root, 'etc/iptables/rules.v6'), 'utf8');
      const norm = (t: string) => t.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]')).join('\n');
      expect(norm(persisted4)).toBe(live4);
      expect(norm(persisted6)).toBe(live6);
      expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/confirmed.*\n(.*\n)*.*rollback: not armed/);
      // confirm stopped the detached timer
      await expectNoProcesses(lab, host);
    }, variant.name));

    test('3. foreign rules (DOCKER-USER, f2b-*, ipsets, nft table) survive apply, re-apply and destroy', () => withLab(async (lab) => {
      const c = (ctx = makeCtx(variant));
      const host = lab.addNamespace('host');
      const { ipt, ip6t } = variant;
      fs.mkdirSync(path.join(c.root, 'etc', 'iptables'), { recursive: true });
      // ipset-persistent's plugin: netfilter-persistent loads /etc/iptables/ipsets
      fs.mkdirSync(path.join(c.root, 'usr/share/netfilter-persistent/plugins.d'), { recursive: true });
      fs.writeFileSync(path.join(c.root, 'usr/share/netfilter-persistent/plugins.d/10-ipset'), '#!/bin/sh\n');
      lab.sh(host, [
        `${ipt} -N DOCKER-USER`,
        `${ipt} -A DOCKER-USER -s 198.51.100.0/24 -j DROP`,
        `${ipt} -A DOCKER-USER -j RETURN`,
        `${ipt} -I FORWARD 1 -j DOCKER-USER`,
        'ipset create f2b-sshd hash:ip',
        'ipset add f2b-sshd 203.0.113.8',
        `${ipt} -N f2b-sshd`,
        `${ipt} -A f2b-sshd -m set --match-set f2b-sshd src -j REJECT --reject-with icmp-port-unreachable`,
        `${ipt} -A f2b-sshd -s 203.0.113.7/32 -j REJECT --reject-with icmp-port-unreachable`,
        `${ipt} -A f2b-sshd -j RETURN`,
        `${ipt} -I INPUT 1 -p tcp -m multiport --dports 22 -j f2b-sshd`,
        `${ip6t} -N f2b-sshd`,
        `${ip6t} -A f2b-sshd -s 2001:db8:bad::/48 -j REJECT --reject-with icmp6-port-unreachable`,
        `${ip6t} -A f2b-sshd -j RETURN`,
        `${ip6t} -I INPUT 1 -p tcp -m multiport --dports 22 -j f2b-sshd`,
      ].join(' && '));
      lab.exec(host, ['nft', '-f', '-'], { input: NFT_FOREIGN });
      const foreignState = () => ({
        v4: foreign(save4(lab, host, variant)),
        v6: foreign(save6(lab, host, variant)),
        nft: lab.exec(host, ['nft', 'list', 'table', 'inet', 'foreign']),
        ipset: lab.exec(host, ['ipset', 'save', 'f2b-sshd']),
      });
      const before = foreignState();
      expect(before.v4.join('\n')).toContain('-A FORWARD -j DOCKER-USER');

      // first apply: SFW-INPUT + SFW-LOG, set sfw-allow
      const first = {
        'rules.v4': filterFile({
          'SFW-INPUT': baseInput(false, ['-m set --match-set sfw-allow src -j SFW-LOG']),
          'SFW-LOG': ['-j ACCEPT'],
        }, ['-A INPUT -j SFW-INPUT']),
        'rules.v6': filterFile({ 'SFW-INPUT': baseInput(true) }, ['-A INPUT -j SFW-INPUT']),
        'sets.ipset': 'create sfw-allow hash:ip family inet hashsize 1024 maxelem 65536\nadd sfw-allow 192.0.2.10\n',
      };
      writePending(c, first);
      ok(apply(lab, host, c));
      let live4 = save4(lab, host, variant);
      expect(library(live4)).toEqual(library(first['rules.v4']));
      expect(library(save6(lab, host, variant))).toEqual(library(first['rules.v6']));
      // the hook goes last in INPUT, after fail2ban's jump (which keeps deciding first)
      expect(chainRules(live4, 'filter', 'INPUT')).toEqual(['-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd', '-A INPUT -j SFW-INPUT']);
      expect(chainRules(save6(lab, host, variant), 'filter', 'INPUT')).toEqual(['-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd', '-A INPUT -j SFW-INPUT']);
      expect(foreignState()).toEqual(before);
      expect(lab.exec(host, ['ipset', 'save', 'sfw-allow'])).toContain('add sfw-allow 192.0.2.10');
      ok(sfw(lab, host, c, ['confirm']));
      const persisted = fs.readFileSync(path.join(c.root, 'etc/iptables/rules.v4'), 'utf8');
      expect(persisted).toContain('-A FORWARD -j DOCKER-USER');
      expect(persisted).toContain(':SFW-INPUT - [');
      expect(fs.readFileSync(path.join(c.root, 'etc/iptables/ipsets'), 'utf8')).toContain('add sfw-allow 192.0.2.10');

      // drift: a duplicate hook at the end of INPUT
      lab.exec(host, [ipt, '-A', 'INPUT', '-j', 'SFW-INPUT']);

      // re-apply: SFW-LOG dropped, SFW-OUTPUT added, a raw-table chain, new set content
      const second = {
        'rules.v4': filterFile({
          'SFW-INPUT': baseInput(false, ['-m set --match-set sfw-allow src -j ACCEPT']),
          'SFW-OUTPUT': ['-o lo -j ACCEPT', '-p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset'],
        }, ['-A INPUT -j SFW-INPUT', '-A OUTPUT -j SFW-OUTPUT'])
          + filterFile({ 'SFW-RAW-PRE': ['-p udp -m udp --dport 123 -j CT --notrack'] }, ['-A PREROUTING -j SFW-RAW-PRE'], 'raw'),
        'rules.v6': filterFile({ 'SFW-INPUT': baseInput(true, ['-p tcp -m tcp --dport 443 -j ACCEPT']) }, ['-A INPUT -j SFW-INPUT']),
        'sets.ipset': 'create sfw-allow hash:ip family inet hashsize 1024 maxelem 65536\nadd sfw-allow 192.0.2.11\nadd sfw-allow 192.0.2.12\n',
      };
      writePending(c, second);
      const r2 = ok(apply(lab, host, c));
      expect(r2.stdout).toMatch(/ipv4: shared: 3 SFW-\* chain\(s\) and 3 hook\(s\) .*; 1 stale chain\(s\) removed/);
      live4 = save4(lab, host, variant);
      expect(library(live4)).toEqual(library(second['rules.v4']));
      expect(library(save6(lab, host, variant))).toEqual(library(second['rules.v6']));
      const input = chainRules(live4, 'filter', 'INPUT');
      expect(input[input.length - 1]).toBe('-A INPUT -j SFW-INPUT');
      expect(input.filter((l) => target(l).startsWith('SFW-'))).toHaveLength(1);
      const output = chainRules(live4, 'filter', 'OUTPUT');
      expect(output[output.length - 1]).toBe('-A OUTPUT -j SFW-OUTPUT');
      expect(chainRules(live4, 'raw', 'PREROUTING')[0]).toBe('-A PREROUTING -j SFW-RAW-PRE');
      expect(live4).not.toContain('SFW-LOG');
      expect(foreignState()).toEqual(before);
      const set = lab.exec(host, ['ipset', 'save', 'sfw-allow']);
      expect(set).toContain('add sfw-allow 192.0.2.11');
      expect(set).not.toContain('192.0.2.10');
      ok(sfw(lab, host, c, ['confirm']));

      // destroy: only the library goes
      const d = ok(sfw(lab, host, c, ['destroy']));
      expect(d.stdout).toContain('destroyed: no library objects remain');
      const after4 = save4(lab, host, variant);
      const after6 = save6(lab, host, variant);
      expect(after4).not.toMatch(/SFW-/);
      expect(after6).not.toMatch(/SFW-/);
      expect(foreignState()).toEqual(before);
      expect(lab.exec(host, ['ipset', 'list', '-n']).trim()).toBe('f2b-sshd');
      expect(lab.run(host, ['nft', 'list', 'table', 'inet', 'stateful_firewall']).status).not.toBe(0);
      const persistedAfter = fs.readFileSync(path.join(c.root, 'etc/iptables/rules.v4'), 'utf8');
      expect(persistedAfter).not.toContain('SFW-');
      expect(persistedAfter).toContain('-A FORWARD -j DOCKER-USER');
      expect(fs.readFileSync(path.join(c.root, 'etc/iptables/ipsets'), 'utf8')).not.toContain('sfw-');
      expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/ipv4: 0 SFW-\* chain\(s\), 0 hook\(s\)(.*\n)*.*rollback: not armed/);
      await expectNoProcesses(lab, host);
    }, variant.name));
  });

  test('2. a ruleset the host rejects changes nothing and prints the tool error', () => withLab(async (lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    const v = DEFAULT_VARIANT;
    lab.sh(host, 'iptables -N f2b-sshd && iptables -A f2b-sshd -s 203.0.113.7 -j DROP && iptables -I INPUT -p tcp --dport 22 -j f2b-sshd');
    writePending(c, sshOnly());
    ok(apply(lab, host, c));
    ok(sfw(lab, host, c, ['confirm']));
    lab.exec(host, ['nft', '-f', '-'], { input: NFT_FOREIGN });
    const snapshot = () => [save4(lab, host, v), save6(lab, host, v), lab.exec(host, ['ipset', 'list', '-n']), lab.exec(host, ['nft', 'list', 'ruleset'])];
    const before = snapshot();

    const cases: Array<{ files: Record<string, string>; error: RegExp; ours: RegExp }> = [
      { // userspace rejection (iptables-restore --test)
        files: { ...sshOnly(['-m nosuchmatch -j ACCEPT']) },
        error: /Couldn't load match `nosuchmatch'/,
        ours: /stateful-firewall: rules\.v4 rejected by iptables-restore --test; nothing was changed/,
      },
      { // only ip6tables rejects: ipv4 must not be loaded either
        files: { ...sshOnly([], ['-m nosuchmatch -j ACCEPT']) },
        error: /Couldn't load match `nosuchmatch'/,
        ours: /rules\.v6 rejected/,
      },
      { // kernel-side rejection that --test does not see (REJECT tcp-reset without -p tcp)
        files: { ...sshOnly(['-j REJECT --reject-with tcp-reset']) },
        error: /RULE_APPEND failed|line \d+ failed/,
        ours: /the kernel rejected the ruleset \(checked in a scratch network namespace\); nothing was changed/,
      },
      { // a set the rules reference does not exist
        files: { ...sshOnly(['-m set --match-set sfw-missing src -j ACCEPT']) },
        error: /Set sfw-missing doesn't exist/,
        ours: /rejected/,
      },
      { // malformed set file
        files: { ...sshOnly(), 'sets.ipset': 'create sfw-x hash:ip\nadd sfw-x not-an-address\n' },
        error: /ipset v[\d.]+: Error in line 2/,
        ours: /sets\.ipset rejected; nothing was changed/,
      },
      { // shared mode refuses foreign chains
        files: { 'rules.v4': filterFile({ 'f2b-sshd': ['-j RETURN'] }, ['-A INPUT -j f2b-sshd']), 'rules.v6': sshOnly()['rules.v6'] },
        error: /rules\.v4:5: chain f2b-sshd is not a library chain \(SFW-\*\)/,
        ours: /rules\.v4 rejected; nothing was changed/,
      },
      { // Docker's DOCKER-USER is a place the library hooks (published ports), never a chain it fills
        files: { 'rules.v4': filterFile({ 'DOCKER-USER': ['-j RETURN'] }, ['-A FORWARD -j DOCKER-USER']), 'rules.v6': sshOnly()['rules.v6'] },
        error: /rules\.v4:7: built-in chain DOCKER-USER may only jump to SFW-\* chains in shared mode/,
        ours: /rules\.v4 rejected; nothing was changed/,
      },
      { // nft: the kernel rejects a jump to a missing chain (nft -c)
        files: { 'ruleset.nft': NFT_TABLE.replace('reject', 'jump nosuch') },
        error: /Error: Could not process rule: No such file or directory/,
        ours: /ruleset\.nft rejected by nft -c; nothing was changed/,
      },
      { // nft shared mode refuses other tables
        files: { 'ruleset.nft': NFT_TABLE + 'table inet other {\n}\n' },
        error: /only table inet stateful_firewall may be defined in shared mode/,
        ours: /ruleset\.nft rejected/,
      },
    ];
    for (const k of cases) {
      writePending(c, k.files);
      const r = apply(lab, host, c);
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 3, stdout: '' });
      expect(r.stderr).toMatch(k.error);
      expect(r.stderr).toMatch(k.ours);
      expect(snapshot()).toEqual(before);
      expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/confirmed(.*\n)*.*rollback: not armed/);
    }
    await expectNoProcesses(lab, host);
  }));

  test('4. an unconfirmed apply rolls back by itself; a confirmed one stays', async () => withLab(async (lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    const v = DEFAULT_VARIANT;
    writePending(c, sshOnly());
    ok(apply(lab, host, c));
    ok(sfw(lab, host, c, ['confirm']));
    const full = () => [save4(lab, host, v), save6(lab, host, v)];
    const before = full();

    // B: not confirmed -> back to A within ~5 s
    const b = sshOnly(['-p tcp -m tcp --dport 80 -j ACCEPT'], ['-p tcp -m tcp --dport 80 -j ACCEPT']);
    writePending(c, b);
    const rb = ok(apply(lab, host, c, ['--rollback-timeout', '2']));
    const rbId = applyId(rb);
    expect(library(save4(lab, host, v))).toEqual(library(b['rules.v4']));
    const t0 = Date.now();
    // a generous window scaled to the timeout: the order of events is checked below, not the time
    expect(await waitFor(() => JSON.stringify(full()) === JSON.stringify(before), 2 * 1000 + 30_000)).toBe(true);
    metrics['4: unconfirmed apply (timeout 2 s): apply returned -> ruleset restored'] = `${Date.now() - t0} ms`;
    // apply returned before the timer fired: the window started with the load complete, and
    // the rollback came at or after its end
    const rbWindow = windowOf(c, rbId);
    expect(await waitFor(() => rolledBack(c) !== undefined, 10_000)).toBe(true);
    expect(rolledBack(c)).toEqual({ id: rbId, reason: 'timeout', at: expect.any(Number) });
    expect(rolledBack(c)!.at).toBeGreaterThanOrEqual(rbWindow.deadline);
    const conf = sfw(lab, host, c, ['confirm']);
    expect(conf.status).toBe(4);
    expect(conf.stderr).toMatch(/stateful-firewall: the host rolled back apply [0-9a-f]+ \(lockout protection.*\); the deploy must be treated as failed/);
    expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/rolled back/);
    expect(fs.readFileSync(path.join(c.state, 'rollback.log'), 'utf8')).toMatch(/rolled back apply [0-9a-f]+ \(timeout\)/);

    // C: confirmed within the timeout -> still active 4 s later
    const cc = sshOnly(['-p tcp -m tcp --dport 443 -j ACCEPT'], ['-p tcp -m tcp --dport 443 -j ACCEPT']);
    writePending(c, cc);
    const id = /apply id: ([0-9a-f]+)/.exec(ok(apply(lab, host, c, ['--rollback-timeout', '2'])).stdout)![1];
    ok(sfw(lab, host, c, ['confirm', '--apply-id', id]));
    await sleep(4000);
    expect(library(save4(lab, host, v))).toEqual(library(cc['rules.v4']));
    expect(library(save6(lab, host, v))).toEqual(library(cc['rules.v6']));
    expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/confirmed(.*\n)*.*rollback: not armed/);
    await expectNoProcesses(lab, host);

    // a confirm for a stale id is refused
    const stale = sfw(lab, host, c, ['confirm', '--apply-id', '0123456789abcdef']);
    expect(stale.status).toBe(4);
    expect(stale.stderr).toMatch(/is not the latest apply/);

    // manual rollback returns to the state before C
    expect(ok(sfw(lab, host, c, ['rollback'])).stdout).toMatch(/rolled back apply [0-9a-f]+ \(manual\)/);
    expect(full()).toEqual(before);
  }));

  test('4b. a confirm after the live ruleset changed is refused', () => withLab((lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    writePending(c, sshOnly());
    ok(apply(lab, host, c));
    lab.exec(host, ['iptables', '-I', 'SFW-INPUT', '1', '-j', 'ACCEPT']);
    const conf = sfw(lab, host, c, ['confirm']);
    expect(conf.status).toBe(4);
    expect(conf.stderr).toMatch(/the active ruleset is not the one apply [0-9a-f]+ installed/);
    expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/rollback: armed/);
  }));

  test('4e. a load failing after validation (ipv6) restores ipv4 too and exits 5', () => withLab((lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    const v = DEFAULT_VARIANT;
    writePending(c, sshOnly());
    ok(apply(lab, host, c));
    ok(sfw(lab, host, c, ['confirm']));
    const before = [save4(lab, host, v), save6(lab, host, v)];
    // --test and the scratch-namespace check pass; only the real (--noflush) load of the new rules fails
    const wrapper = path.join(c.dir, 'ip6tables-restore-failing');
    fs.writeFileSync(wrapper, [
      '#!/bin/sh',
      'input=$(cat)',
      'case " $* " in *" --test "*) ;; *" --noflush "*)',
      '  case $input in *"--dport 80 "*) echo "ip6tables-restore: simulated failure" >&2; exit 1 ;; esac ;;',
      'esac',
      'printf "%s\\n" "$input" | ip6tables-restore "$@"',
      '',
    ].join('\n'), { mode: 0o755 });
    writePending(c, sshOnly(['-p tcp -m tcp --dport 80 -j ACCEPT'], ['-p tcp -m tcp --dport 80 -j ACCEPT']));
    const r = sfw(lab, host, { ...c, env: { ...c.env, SFW_IP6TABLES_RESTORE: wrapper } }, ['apply', '--dir', c.pending]);
    expect(r.status).toBe(5);
    expect(r.stderr).toContain('ip6tables-restore: simulated failure');
    expect(r.stderr).toContain('stateful-firewall: loading the ipv6 ruleset failed; the previous state was restored');
    expect([save4(lab, host, v), save6(lab, host, v)]).toEqual(before);
    const conf = sfw(lab, host, c, ['confirm']);
    expect(conf.status).toBe(4);
    expect(conf.stderr).toMatch(/the host rolled back apply/);
    expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/rolled back(.*\n)*.*rollback: not armed/);
  }));

  test('4c. exclusive iptables mode replaces the whole filter table; its rollback brings foreign chains back', async () => withLab(async (lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    const v = DEFAULT_VARIANT;
    lab.sh(host, 'iptables -N f2b-sshd && iptables -A f2b-sshd -s 203.0.113.7/32 -j DROP && iptables -I INPUT 1 -p tcp -m tcp --dport 22 -j f2b-sshd');
    const before = [save4(lab, host, v), save6(lab, host, v)];
    const files = sshOnly();
    writePending(c, files);
    const r = ok(apply(lab, host, c, ['--mode', 'exclusive', '--rollback-timeout', '2']));
    expect(r.stdout).toContain('ipv4: exclusive: table(s) filter restored in one iptables-restore transaction');
    expect(save4(lab, host, v)).toBe(files['rules.v4'].trim());
    expect(save6(lab, host, v)).toBe(files['rules.v6'].trim());
    expect(await waitFor(() => JSON.stringify([save4(lab, host, v), save6(lab, host, v)]) === JSON.stringify(before), 6000)).toBe(true);
    expect(sfw(lab, host, c, ['confirm']).status).toBe(4);
  }));

  test('4d. persistence conventions: none detected, then iptables-services; confirm is idempotent', () => withLab((lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    writePending(c, sshOnly());
    ok(apply(lab, host, c));
    const none = ok(sfw(lab, host, c, ['confirm'])).stdout;
    expect(none).toContain("persistence: no persistence convention found (netfilter-persistent, iptables-services): installing the library's boot unit");
    expect(none).toContain('persistence: boot unit /etc/systemd/system/stateful-firewall.service, enabled (sysinit.target.wants): loads rules.v4 rules.v6 from /etc/stateful-firewall/boot');
    expect(fs.readdirSync(path.join(c.root, 'etc')).sort()).toEqual(['stateful-firewall', 'systemd']);
    expect(fs.readdirSync(path.join(c.root, 'etc/stateful-firewall/boot')).sort()).toEqual(['boot.env', 'rules.v4', 'rules.v6']);
    fs.mkdirSync(path.join(c.root, 'etc', 'sysconfig'), { recursive: true });
    fs.writeFileSync(path.join(c.root, 'etc', 'sysconfig', 'iptables-config'), 'IPTABLES_SAVE_ON_STOP="no"\n');
    const again = ok(sfw(lab, host, c, ['confirm']));
    expect(again.stdout).toContain('persistence: iptables-services (/etc/sysconfig/iptables /etc/sysconfig/ip6tables)');
    expect(fs.readFileSync(path.join(c.root, 'etc/sysconfig/iptables'), 'utf8')).toContain('-A INPUT -j SFW-INPUT');
    expect(fs.readFileSync(path.join(c.root, 'etc/sysconfig/ip6tables'), 'utf8')).toContain('icmp6-port-unreachable');
    ok(sfw(lab, host, c, ['destroy']));
    expect(fs.readFileSync(path.join(c.root, 'etc/sysconfig/iptables'), 'utf8')).not.toContain('SFW-');
    expect(fs.readdirSync(path.join(c.root, 'etc')).sort()).toEqual(['sysconfig', 'systemd']);
    expect(fs.readdirSync(path.join(c.root, 'etc/systemd/system'))).toEqual([]);
  }));

  test('5. nftables backend: apply, confirm, re-apply, destroy next to a foreign table; exclusive mode rolls back', async () => withLab(async (lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    lab.exec(host, ['nft', '-f', '-'], { input: NFT_FOREIGN });
    const foreignTable = () => lab.exec(host, ['nft', 'list', 'table', 'inet', 'foreign']);
    const before = foreignTable();
    const conf = path.join(c.root, 'etc', 'nftables.conf');
    fs.mkdirSync(path.dirname(conf), { recursive: true });
    fs.writeFileSync(conf, '#!/usr/sbin/nft -f\n\nflush ruleset\n');
    const include = path.join(c.root, 'etc', 'nftables.d', 'stateful-firewall.nft');
    const includeLine = 'include "/etc/nftables.d/stateful-firewall.nft"';

    writePending(c, { 'ruleset.nft': NFT_TABLE });
    const r = ok(apply(lab, host, c));
    expect(r.stdout).toContain('inet: shared: table inet stateful_firewall replaced in one nft transaction; other tables untouched');
    expect(lab.exec(host, ['nft', 'list', 'table', 'inet', 'stateful_firewall'])).toContain('tcp dport 22 ct state new accept');
    expect(foreignTable()).toBe(before);
    const confirmed = ok(sfw(lab, host, c, ['confirm']));
    expect(confirmed.stdout).toContain('persistence: nftables.service (debian: /etc/nftables.d/stateful-firewall.nft included from /etc/nftables.conf)');
    // no nftables.service unit under the root: the library's unit loads the table at boot
    expect(confirmed.stdout).toContain("persistence: /etc/nftables.conf is there but nftables.service is missing, masked or static: installing the library's boot unit");
    expect(fs.readFileSync(include, 'utf8')).toMatch(/^# managed by stateful-firewall.*\ntable inet stateful_firewall\ndelete table inet stateful_firewall\ntable inet stateful_firewall \{/);
    // the persisted include is loadable on its own, again and again
    lab.exec(host, ['nft', '-c', '-f', include]);

    writePending(c, { 'ruleset.nft': NFT_TABLE.replace('    reject', '    tcp dport 443 accept\n    reject') });
    ok(apply(lab, host, c));
    expect(lab.exec(host, ['nft', 'list', 'table', 'inet', 'stateful_firewall'])).toContain('tcp dport 443 accept');
    expect(lab.exec(host, ['nft', 'list', 'tables']).split('\n').filter((l) => l.includes('stateful_firewall'))).toHaveLength(1);
    ok(sfw(lab, host, c, ['confirm']));
    expect(fs.readFileSync(conf, 'utf8').split('\n').filter((l) => l === includeLine)).toHaveLength(1);
    expect(fs.readFileSync(include, 'utf8')).toContain('tcp dport 443 accept');
    expect(foreignTable()).toBe(before);

    const d = ok(sfw(lab, host, c, ['destroy']));
    expect(d.stdout).toContain('nftables: removed table inet stateful_firewall');
    expect(lab.run(host, ['nft', 'list', 'table', 'inet', 'stateful_firewall']).status).not.toBe(0);
    expect(foreignTable()).toBe(before);
    expect(fs.existsSync(include)).toBe(false);
    expect(fs.readFileSync(conf, 'utf8')).toBe('#!/usr/sbin/nft -f\n\nflush ruleset\n');

    // exclusive: the whole ruleset is replaced, and the rollback brings the foreign table back
    const rx = ok(apply(lab, host, c, ['--mode', 'exclusive', '--rollback-timeout', '2']));
    expect(rx.stdout).toContain('inet: exclusive: ruleset replaced by table inet stateful_firewall');
    expect(lab.exec(host, ['nft', 'list', 'tables']).trim()).toBe('table inet stateful_firewall');
    expect(await waitFor(() => lab.run(host, ['nft', 'list', 'table', 'inet', 'foreign']).status === 0, 6000)).toBe(true);
    expect(foreignTable()).toBe(before);
    expect(lab.exec(host, ['nft', 'list', 'tables']).trim()).toBe('table inet foreign');
    expect(sfw(lab, host, c, ['confirm']).status).toBe(4);
  }));

  test.each([
    { loose: 1, label: 'default conntrack settings' },
    { loose: 0, label: 'nf_conntrack_tcp_loose=0' },
  ])('6. traffic: TCP 22 open, 23 refused, an SSH-like session opened on the bare host survives ($label)', async ({ loose }) => withLab(async (lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    const client = lab.addNamespace('client');
    lab.connect(
      { ns: host, ifname: 'eth0', addresses: ['192.0.2.1/24', '2001:db8::1/64'] },
      { ns: client, ifname: 'eth0', addresses: ['192.0.2.2/24', '2001:db8::2/64'] },
    );
    lab.exec(host, ['sysctl', '-qw', `net.netfilter.nf_conntrack_tcp_loose=${loose}`]);
    await startEchoServer(lab, host, [22, 23]);
    expect(lab.tcpProbe(client, '192.0.2.1', 23)).toBe('open'); // the listener is there

    // the "deploy session": connected before any firewall exists
    const session = new LineClient(lab.spawn(client, ['python3', '-u', '-c', SESSION_CLIENT, '192.0.2.1', '22']));
    expect(await session.next()).toBe('connected');
    expect(await session.send('before')).toBe('echo:before');
    expect(lab.exec(host, ['conntrack', '-L']).trim()).toBe('');

    writePending(c, sshOnly());
    const r = ok(apply(lab, host, c));
    if (loose === 0) expect(r.stderr).toContain('nf_conntrack_tcp_loose is 0');
    expect(r.stdout).toMatch(/conntrack: tracking on; [1-9]\d* established connection\(s\) added as ESTABLISHED before the load/);
    expect(lab.exec(host, ['cat', '/proc/sys/net/netfilter/nf_conntrack_tcp_loose']).trim()).toBe('1');

    expect(await session.send('after-apply')).toBe('echo:after-apply');
    expect(lab.tcpProbe(client, '192.0.2.1', 22)).toBe('open');
    expect(lab.tcpProbe(client, '2001:db8::1', 22)).toBe('open');
    // 'refused' is an RST (no answer within the probe's timeout would be 'timeout')
    expect(lab.tcpProbe(client, '192.0.2.1', 23, 3)).toBe('refused');
    expect(lab.tcpProbe(client, '2001:db8::1', 23, 3)).toBe('refused');

    ok(sfw(lab, host, c, ['confirm']));
    expect(lab.exec(host, ['cat', '/proc/sys/net/netfilter/nf_conntrack_tcp_loose']).trim()).toBe(String(loose));
    expect(await session.send('after-confirm')).toBe('echo:after-confirm');
    session.close();
  }));
  test('5b. nftables: a redeploy after the chains were renamed leaves none of the old chains behind', () => withLab((lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    const ruleset = CompiledRuleset.compile(CHAIN_NAME_POLICY);
    const now = ruleset.toNftables();
    expect(now).toContain('chain sfw_new_v4_tcp_p22 {');
    // what releases before the transport map wrote for the same policy (a chain per family and protocol)
    const before = now.split('sfw_new_v4_tcp_p22').join('sfw_new_v4_tcp');
    const chains = () => lab.exec(host, ['nft', 'list', 'table', 'inet', 'stateful_firewall']).split('\n')
      .map((l) => /^\s*chain (\S+) \{/.exec(l)?.[1]).filter((n): n is string => n !== undefined).sort();
    const written = (text: string) => [...text.matchAll(/^\s*chain (\S+) \{/gm)].map((m) => m[1]).sort();

    writePending(c, { 'ruleset.nft': before });
    ok(apply(lab, host, c));
    ok(sfw(lab, host, c, ['confirm']));
    expect(chains()).toContain('sfw_new_v4_tcp');
    writePending(c, { 'ruleset.nft': now });
    ok(apply(lab, host, c));
    ok(sfw(lab, host, c, ['confirm']));
    expect(chains()).toEqual(written(now));
    expect(chains()).not.toContain('sfw_new_v4_tcp');
  }));

  test('6c. without conntrack seeding (SFW_CT_SEED=0): an active session survives, an idle one is reset when its client speaks first', async () => withLab(async (lab) => {
    const c = (ctx = makeCtx());
    const host = lab.addNamespace('host');
    const client = lab.addNamespace('client');
    lab.connect({ ns: host, ifname: 'eth0', addresses: ['192.0.2.1/24'] }, { ns: client, ifname: 'eth0', addresses: ['192.0.2.2/24'] });
    await startEchoServer(lab, host, [22]);
    const idle = new LineClient(lab.spawn(client, ['python3', '-u', '-c', SESSION_CLIENT, '192.0.2.1', '22']));
    const chatty = new LineClient(lab.spawn(client, ['python3', '-u', '-c', CHATTY_CLIENT, '192.0.2.1', '22', '4']));
    expect(await idle.next()).toBe('connected');
    expect(await chatty.next()).toBe('connected');
    writePending(c, sshOnly());
    const r = ok(sfw(lab, host, { ...c, env: { ...c.env, SFW_CT_SEED: '0' } }, ['apply', '--dir', c.pending]));
    expect(r.stdout).toContain('conntrack: tracking on; waiting 1s so active connections are tracked');
    // the active session had traffic while tracking was on before the load
    expect(await chatty.next(10_000)).toMatch(/^ok \d+$/);
    // the idle one is picked up mid-stream as NEW (no SYN) and hits REJECT tcp-reset
    expect(await idle.send('after-apply')).toMatch(/^error:.*(reset|Errno 104)/i);
  }));

  describe('the confirm window counts the deploy\'s own work (load-confirm)', () => {
    const B4 = ['-p tcp -m tcp --dport 80 -j ACCEPT'];

    /** A confirmed ruleset A, then the pending ruleset B (port 80). */
    function setup(lab: Lab): { c: Ctx; host: string; before: () => string[]; full: () => string[] } {
      const c = (ctx = makeCtx());
      const host = lab.addNamespace('host');
      writePending(c, sshOnly());
      ok(apply(lab, host, c));
      ok(sfw(lab, host, c, ['confirm']));
      const full = () => [save4(lab, host, DEFAULT_VARIANT), save6(lab, host, DEFAULT_VARIANT)];
      const was = full();
      writePending(c, sshOnly(B4, B4));
      return { c, host, before: () => was, full };
    }
    const isB = (lab: Lab, host: string) => save4(lab, host, DEFAULT_VARIANT).includes('-A SFW-INPUT -p tcp -m tcp --dport 80 -j ACCEPT');

    test('the deadline moves when the load is complete: a slow load does not eat the window, a confirm after arm + T succeeds', async () => withLab(async (lab) => {
      const { c, host } = setup(lab);
      const T = 5;
      // the real load takes longer than the whole window: armed before the load, the timer
      // of the old design fired during it
      const restore = slowTool(c, 'slow-restore', 'iptables-restore', T + 1, true);
      const env = { ...c.env, SFW_IPTABLES_RESTORE: restore };
      const r = ok(sfw(lab, host, { ...c, env }, ['apply', '--dir', c.pending, '--rollback-timeout', String(T)]));
      const id = applyId(r);
      const loadedAt = Number(fs.readFileSync(path.join(c.dir, 'slow.slow-restore.done'), 'utf8'));
      const w = windowOf(c, id);
      expect(w.seconds).toBe(T);
      // the countdown started after the load, not at arm time
      expect(w.deadline).toBeGreaterThanOrEqual(loadedAt + T);
      expect(Number(armedValue(c, 'A_DEADLINE'))).toBe(w.deadline);
      const conf = ok(sfw(lab, host, { ...c, env }, ['confirm', '--apply-id', id]));
      expect(conf.stdout).toContain(`confirmed apply ${id}`);
      // and it stays confirmed after the window has passed
      await waitFor(() => Date.now() / 1000 > w.deadline + 2, (T + 5) * 1000);
      expect(isB(lab, host)).toBe(true);
      expect(rolledBack(c)).toBeUndefined();
      expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/confirmed(.*\n)*.*rollback: not armed/);
      expect(fs.readdirSync(c.state).filter((f) => f.startsWith('confirming.'))).toEqual([]);
      await expectNoProcesses(lab, host);
    }));

    test('a lockout (no confirm) rolls back T after the load completed, not T after arming', async () => withLab(async (lab) => {
      const { c, host, before, full } = setup(lab);
      const T = 2;
      const restore = slowTool(c, 'slow-restore', 'iptables-restore', 4, true);
      const t0 = Date.now();
      const id = applyId(ok(sfw(lab, host, { ...c, env: { ...c.env, SFW_IPTABLES_RESTORE: restore } }, ['apply', '--dir', c.pending, '--rollback-timeout', String(T)])));
      const loadedAt = Number(fs.readFileSync(path.join(c.dir, 'slow.slow-restore.done'), 'utf8'));
      expect(await waitFor(() => rolledBack(c) !== undefined, (T + 60) * 1000)).toBe(true);
      metrics['lockout (timeout 2 s, load 4 s): apply started -> rolled back'] = `${Date.now() - t0} ms`;
      const rb = rolledBack(c)!;
      expect(rb).toEqual({ id, reason: 'timeout', at: expect.any(Number) });
      expect(rb.at).toBeGreaterThanOrEqual(loadedAt + T);
      expect(rb.at).toBeGreaterThanOrEqual(windowOf(c, id).deadline);
      metrics['lockout: rollback fired after load completion'] = `${rb.at - loadedAt} s (window ${T} s; 1 s resolution)`;
      expect(full()).toEqual(before());
      expect(sfw(lab, host, c, ['confirm', '--apply-id', id]).status).toBe(4);
      await expectNoProcesses(lab, host);
    }));

    test('the timer waits for a confirm that reached the host before the deadline and is still running', async () => withLab(async (lab) => {
      const { c, host } = setup(lab);
      const T = 5;
      const id = applyId(ok(apply(lab, host, c, ['--rollback-timeout', String(T)])));
      const w = windowOf(c, id);
      // confirm's fingerprint (iptables-save) takes longer than the rest of the window, but
      // less than the window plus the grace
      const slowSave = slowTool(c, 'slow-save', 'iptables-save', T + 2, false);
      const conf = ok(sfw(lab, host, { ...c, env: { ...c.env, SFW_IPTABLES_SAVE: slowSave } }, ['confirm', '--apply-id', id]));
      const slowDone = Number(fs.readFileSync(path.join(c.dir, 'slow.slow-save.done'), 'utf8'));
      expect(conf.stdout).toContain(`confirmed apply ${id}`);
      // the deadline did pass while the confirm ran, and the timer said it waited
      expect(slowDone).toBeGreaterThan(w.deadline);
      expect(fs.readFileSync(path.join(c.state, 'rollback.log'), 'utf8')).toMatch(
        new RegExp(`deadline of apply ${id} passed while its confirm \\(process \\d+\\) runs: waiting for it`));
      await waitFor(() => Date.now() / 1000 > w.deadline + T + 2, (2 * T + 5) * 1000);
      expect(rolledBack(c)).toBeUndefined();
      expect(isB(lab, host)).toBe(true);
      expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/confirmed(.*\n)*.*rollback: not armed/);
      await expectNoProcesses(lab, host);
    }));

    test('a new SSH connection from the deploy client after the load defers the rollback, at most T', async () => withLab(async (lab) => {
      const { c, host, before, full } = setup(lab);
      const client = lab.addNamespace('client');
      lab.connect({ ns: host, ifname: 'eth0', addresses: ['192.0.2.1/24'] }, { ns: client, ifname: 'eth0', addresses: ['192.0.2.2/24'] });
      await startEchoServer(lab, host, [22]);
      // the deploy's own session, open before the load: not evidence of anything new
      const session = new LineClient(lab.spawn(client, ['python3', '-u', '-c', SESSION_CLIENT, '192.0.2.1', '22']));
      expect(await session.next()).toBe('connected');
      const T = 3;
      // apply runs "in" an SSH session from 192.0.2.2 to port 22 (sshd's variable)
      const env = { ...c.env, SSH_CONNECTION: '192.0.2.2 40000 192.0.2.1 22' };
      const id = applyId(ok(sfw(lab, host, { ...c, env }, ['apply', '--dir', c.pending, '--rollback-timeout', String(T)])));
      const w = windowOf(c, id);
      expect(fs.readFileSync(path.join(c.state, 'rollback.log'), 'utf8')).toContain('(deploy client 192.0.2.2, ssh port 22)');
      // the deploy's next connection gets through the new rules, but no confirm ever runs
      const next = new LineClient(lab.spawn(client, ['python3', '-u', '-c', SESSION_CLIENT, '192.0.2.1', '22']));
      expect(await next.next()).toBe('connected');
      expect(await waitFor(() => rolledBack(c) !== undefined, (3 * T + 30) * 1000)).toBe(true);
      const rb = rolledBack(c)!;
      expect(rb).toEqual({ id, reason: 'timeout', at: expect.any(Number) });
      // waited for the connection's confirm, then gave up T after the deadline
      expect(fs.readFileSync(path.join(c.state, 'rollback.log'), 'utf8')).toMatch(
        new RegExp(`deadline of apply ${id} passed while a new SSH connection from the deploy client \\(192\\.0\\.2\\.2 port \\d+\\) is open`));
      expect(rb.at).toBeGreaterThanOrEqual(w.deadline + T);
      expect(full()).toEqual(before());
      session.close();
      next.close();
    }));

    test('the timer rolls back when the registered confirm process is dead', async () => withLab(async (lab) => {
      const { c, host, before, full } = setup(lab);
      const T = 3;
      const id = applyId(ok(apply(lab, host, c, ['--rollback-timeout', String(T)])));
      const slowSave = slowTool(c, 'slow-save', 'iptables-save', 60, false);
      const confirm = lab.spawn(host, ['dash', SCRIPT, 'confirm', '--apply-id', id, '--state-dir', c.state], { env: { ...c.env, SFW_IPTABLES_SAVE: slowSave } });
      const marker = () => fs.readdirSync(c.state).find((f) => f.startsWith('confirming.'));
      expect(await waitFor(() => marker() !== undefined, 30_000, 50)).toBe(true);
      expect(fs.readFileSync(path.join(c.state, marker()!), 'utf8').trim()).toBe(id);
      // the confirm dies (SIGKILL: no clean-up), its marker stays with a dead pid
      process.kill(Number(marker()!.split('.')[1]), 'SIGKILL');
      const rolled = await waitFor(() => rolledBack(c) !== undefined, (T + 30) * 1000);
      if (!rolled) throw new Error(`no rollback:\n${fs.readFileSync(path.join(c.state, 'rollback.log'), 'utf8')}\n${fs.readdirSync(c.state).join(' ')}\n${lab.exec(host, ['ps', '-ef'])}`);
      expect(rolledBack(c)).toEqual({ id, reason: 'timeout', at: expect.any(Number) });
      expect(full()).toEqual(before());
      expect(fs.readFileSync(path.join(c.state, 'rollback.log'), 'utf8')).not.toMatch(/waiting for it/);
      confirm.kill('SIGKILL');
    }));
  });
});

/** Sends a byte every 100 ms for N seconds (like an SSH session streaming output); prints "ok COUNT" or "error:...". */
const CHATTY_CLIENT = `
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
print("connected", flush=True)
end, n = time.time() + float(sys.argv[3]), 0
try:
    while time.time() < end:
        s.sendall(b"k")
        if s.recv(1) != b"k":
            raise OSError("closed")
        n += 1
        time.sleep(0.1)
    print("ok %d" % n, flush=True)
except OSError as e:
    print("error:" + str(e), flush=True)
`;

/** Starts ECHO_SERVER in the namespace and waits until it listens. */
async function startEchoServer(lab: Lab, ns: string, ports: readonly number[]): Promise<void> {
  const server = lab.spawn(ns, ['python3', '-c', ECHO_SERVER, ...ports.map(String)]);
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    server.on('exit', (code) => reject(new Error(`echo server exited ${code}`)));
  });
}

function runDash(args: readonly string[]): RunResult {
  const started = Date.now();
  const r = spawnSync('dash', args, { encoding: 'utf8' });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, durationMs: Date.now() - started };
}

/** Echo server on the given ports (IPv4 + IPv6), prints "ready", exits after 90 s. */
const ECHO_SERVER = `
import socket, sys, threading, time
def serve(conn):
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                return
            conn.sendall(data)
def listen(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(16)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
for p in sys.argv[1:]:
    listen(int(p))
print("ready", flush=True)
time.sleep(90)
`;

/** Long-lived TCP client: connects, then echoes each stdin line over the connection and prints the reply. */
const SESSION_CLIENT = `
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("connected", flush=True)
for line in sys.stdin:
    msg = line.strip().encode()
    try:
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("closed")
            got += chunk
        print("echo:" + got.decode(), flush=True)
    except OSError as e:
        print("error:" + str(e), flush=True)
`;

/** Line-oriented driver for SESSION_CLIENT. */
class LineClient {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;

  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, i));
        this.buffer = this.buffer.slice(i + 1);
      }
      this.waiter?.();
    });
    child.on('exit', () => this.waiter?.());
  }

  public async next(timeoutMs = 10_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (Date.now() > end || this.child.exitCode !== null) return `no answer (exit ${this.child.exitCode})`;
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 200);
      });
    }
    return this.lines.shift()!;
  }

  public async send(msg: string): Promise<string> {
    this.child.stdin!.write(`${msg}\n`);
    return this.next();
  }

  public close(): void {
    this.child.stdin!.end();
  }
}
