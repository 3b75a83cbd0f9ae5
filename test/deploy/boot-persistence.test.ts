/**
 * Boot persistence lab for assets/sfw-apply.sh (issue 12, item 5: reboot).
 *
 * For each persistence convention a host can have, the test applies and confirms a
 * ruleset compiled by the library (IPv4 + IPv6, peer lists long enough to become ipsets /
 * nft sets) in a network namespace, checks that confirm names the mechanism and enabled
 * it (the symlink `systemctl enable` makes), then wipes the live rules and sets (both
 * iptables variants, every table, `ipset destroy`, `nft flush ruleset`: the state of a
 * freshly booted kernel) and runs what the boot runs:
 *
 * - the library's unit (`stateful-firewall.service`): its `ExecStart=` line, parsed from
 *   the unit file confirm wrote, run verbatim;
 * - Debian's `nftables.service`: its `ExecStart=` line (`nft -f /etc/nftables.conf`);
 * - netfilter-persistent: its plugins in order, emulated with the commands they run
 *   (10-ipset, when present: `ipset restore -exist` of /etc/iptables/ipsets;
 *   15-ip4tables: `iptables-restore` of rules.v4; 25-ip6tables: `ip6tables-restore` of
 *   rules.v6), the netfilter-persistent command itself is not installed here;
 * - iptables-services: `ipset restore` of /etc/sysconfig/ipset when ipset.service is
 *   there, then `iptables-restore` / `ip6tables-restore` of /etc/sysconfig/ip(6)tables.
 *
 * Where the library's unit is ordered before a conventional service, the unit runs first.
 *
 * The script writes its /etc files under SFW_ROOT (a temp dir), and those paths appear in
 * the files as host paths (`include "/etc/nftables.d/..."`, `ExecStart=... boot`, which
 * reads /etc/stateful-firewall/boot). So the boot commands run without SFW_ROOT, in a
 * private mount namespace (`unshare -m`, nothing propagates back) where a read-only
 * overlay puts `$SFW_ROOT/etc` over this machine's /etc (lowerdir=$SFW_ROOT/etc:/etc):
 * every /etc path the boot reads resolves to what confirm wrote, and the tools keep their
 * own /etc (alternatives, protocols). Only the systemd side is not run: the enable
 * symlinks are checked as files, not started by a systemd.
 *
 * After the boot the live ruleset is compared with the declared one (normalized with
 * test/support/kernel.ts) and probed with real traffic from a client namespace: declared
 * ports answer, an undeclared one is refused. Then destroy must remove the unit, its
 * enable link and the boot files, and leave the conventions' other content.
 *
 * Also: a save command that fails (or prints half a ruleset) makes confirm fail and leaves
 * the persisted files as they were; a host without any systemd and without a convention
 * that covers the ruleset makes confirm fail with what to install.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Backend, CompiledRuleset, IpFamily, Peer, Port } from '../../src/core';
import { normalizeIpsetSave, normalizeIptablesSave } from '../support/kernel';
import { Lab, netnsSupported, RunResult, withLab } from '../support/netns';
import { makeScriptCtx, runScript, ScriptCtx, scriptOk, startListener } from '../support/script-lab';

const describeKernel = netnsSupported() ? describe : describe.skip;

// 10 IPv4 and 10 IPv6 peers that do not merge into ranges: both become sets (threshold 8)
const PEERS = [
  Peer.ipv4('192.0.2.2'),
  ...Array.from({ length: 9 }, (_, i) => Peer.ipv4(`198.51.100.${i * 2 + 1}`)),
  Peer.ipv6('2001:db8::2'),
  ...Array.from({ length: 9 }, (_, i) => Peer.ipv6(`2001:db8:1::${i * 2 + 1}`)),
];
function compile(extraPorts: readonly number[] = []): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'h',
    origin: 'h',
    allowances: [
      { origin: 'h/Ssh', ports: [Port.SSH], peers: PEERS },
      { origin: 'h/Web', ports: [Port.tcp(80), ...extraPorts.map((p) => Port.tcp(p))], peers: [Peer.any()] },
    ],
  });
}
const RULESET = compile();

type Ctx = ScriptCtx;
const makeCtx = (): Ctx => makeScriptCtx('boot');
const sfw = runScript;
const ok = scriptOk;

function writePending(ctx: Ctx, ruleset: CompiledRuleset, backend: Backend): void {
  for (const name of fs.readdirSync(ctx.pending)) fs.rmSync(path.join(ctx.pending, name));
  for (const [name, text] of Object.entries(ruleset.files(backend))) fs.writeFileSync(path.join(ctx.pending, name), text);
}

/** Writes a file under the fake root (dirs created). */
function put(root: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

/** Where a symlink under the fake root points, or undefined. */
function link(root: string, rel: string): string | undefined {
  try {
    return fs.readlinkSync(path.join(root, rel));
  } catch {
    return undefined;
  }
}

/** The argv of a unit file's ExecStart= line (no quoting in the units used here). */
function execStart(unitFile: string): string[] {
  const line = fs.readFileSync(unitFile, 'utf8').split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error(`no ExecStart= in ${unitFile}`);
  return line.slice('ExecStart='.length).trim().split(/\s+/);
}

/**
 * Runs argv in the namespace as the boot would: in a private mount namespace where a
 * read-only overlay puts $SFW_ROOT/etc over /etc, without SFW_ROOT.
 */
function bootRun(lab: Lab, ns: string, ctx: Ctx, argv: readonly string[]): RunResult {
  return lab.run(ns, [
    'unshare', '-m', '--propagation', 'private', 'sh', '-c',
    'mount -t overlay sfw-boot-etc -o "lowerdir=$1/etc:/etc" /etc && shift && exec "$@"',
    'sh', ctx.root, ...argv,
  ], { env: { PATH: process.env.PATH, LC_ALL: 'C' }, timeoutMs: 60_000 });
}

/** A freshly booted kernel: no rules, no sets, in any variant. */
function wipe(lab: Lab, ns: string): void {
  lab.sh(ns, [
    'for t in iptables-nft iptables-legacy ip6tables-nft ip6tables-legacy; do for tb in filter raw mangle nat; do $t -t $tb -F; $t -t $tb -X; done; done 2>/dev/null',
    'ipset destroy',
    'nft flush ruleset',
    'conntrack -F 2>/dev/null; true',
  ].join('; '));
  for (const tool of ['iptables-nft-save', 'iptables-legacy-save', 'ip6tables-nft-save', 'ip6tables-legacy-save']) {
    expect(lab.exec(ns, [tool])).not.toMatch(/SFW-|^-A /m);
  }
  expect(lab.exec(ns, ['ipset', 'list', '-n']).trim()).toBe('');
  expect(lab.exec(ns, ['nft', 'list', 'ruleset']).trim()).toBe('');
}

/** The tables a rendered iptables file declares, read back from the kernel, compared as loadRuleset does. */
function expectLiveIptables(lab: Lab, ns: string, ruleset: CompiledRuleset): void {
  for (const family of [IpFamily.IPV4, IpFamily.IPV6]) {
    const tool = family === IpFamily.IPV4 ? 'iptables' : 'ip6tables';
    const rendered = ruleset.toIptablesRestore(family).split(/^(?=\*)/m).sort();
    const names = rendered.map((t) => t.split('\n')[0]);
    const live = lab.exec(ns, [`${tool}-save`]).split(/^(?=\*)/m).filter((t) => names.includes(t.split('\n')[0])).sort();
    expect(normalizeIptablesSave(live.join(''))).toBe(normalizeIptablesSave(rendered.join('')));
  }
  expect(normalizeIpsetSave(lab.exec(ns, ['ipset', 'save']))).toBe(normalizeIpsetSave(ruleset.toIpset()));
}

function expectLiveNft(lab: Lab, ns: string, ruleset: CompiledRuleset): void {
  expect(lab.exec(ns, ['nft', 'list', 'table', 'inet', 'stateful_firewall'])).toBe(ruleset.toNftables());
}

/** Echo server on the ports (IPv4 + IPv6), prints "ready". */


/** Connects to every address and port at once (one python3 in the client): open, refused (RST) or timeout. */
const PROBE = `
import socket, sys, threading
out = {}
def probe(h, p):
    s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((h, int(p))); out[h + " " + p] = "open"
    except ConnectionRefusedError:
        out[h + " " + p] = "refused"
    except socket.timeout:
        out[h + " " + p] = "timeout"
    except OSError as e:
        out[h + " " + p] = "error:%s" % e.errno
    s.close()
ts = [threading.Thread(target=probe, args=a.split(" ")) for a in sys.argv[1:]]
for t in ts: t.start()
for t in ts: t.join()
for a in sys.argv[1:]: print(a + "=" + out[a])
`;

/** The declared ports (22 from an allowed peer, 80) and an undeclared one (23), over IPv4 and IPv6. */
function probe(lab: Lab, client: string): Record<string, string> {
  const targets = ['192.0.2.1', '2001:db8::1'].flatMap((a) => [22, 80, 23].map((p) => `${a} ${p}`));
  const out = lab.exec(client, ['python3', '-c', PROBE, ...targets], { timeoutMs: 20_000 });
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split('=') as [string, string]));
}
const FIREWALLED = Object.fromEntries(['192.0.2.1', '2001:db8::1'].flatMap((a) => [[`${a} 22`, 'open'], [`${a} 80`, 'open'], [`${a} 23`, 'refused']]));
const OPEN = Object.fromEntries(Object.keys(FIREWALLED).map((k) => [k, 'open']));

// unit files as the distributions ship them ([Install] is what enabling reads)
const DEBIAN_NFTABLES_UNIT = `[Unit]
Description=nftables
Documentation=man:nft(8) http://wiki.nftables.org
Wants=network-pre.target
Before=network-pre.target shutdown.target
Conflicts=shutdown.target
DefaultDependencies=no

[Service]
Type=oneshot
RemainAfterExit=yes
StandardInput=null
ProtectSystem=full
ProtectHome=true
ExecStart=/usr/sbin/nft -f /etc/nftables.conf
ExecReload=/usr/sbin/nft -f /etc/nftables.conf
ExecStop=/usr/sbin/nft flush ruleset

[Install]
WantedBy=sysinit.target
`;
const DEBIAN_NFTABLES_CONF = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter;
\t}
\tchain forward {
\t\ttype filter hook forward priority filter;
\t}
\tchain output {
\t\ttype filter hook output priority filter;
\t}
}
`;
const NETFILTER_PERSISTENT_UNIT = `[Unit]
Description=netfilter persistent configuration
DefaultDependencies=no
Wants=network-pre.target systemd-modules-load.service local-fs.target
Before=network-pre.target shutdown.target
After=systemd-modules-load.service local-fs.target
Conflicts=shutdown.target
Documentation=man:netfilter-persistent(8)

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/netfilter-persistent start
ExecStop=/usr/sbin/netfilter-persistent stop

[Install]
WantedBy=multi-user.target
`;
const rhelUnit = (name: string, data: string) => `[Unit]
Description=${name} firewall
AssertPathExists=${data}
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/libexec/iptables/${name}.init start

[Install]
WantedBy=multi-user.target
`;

const UNIT = 'etc/systemd/system/stateful-firewall.service';
const BOOT_DIR = 'etc/stateful-firewall/boot';

interface Convention {
  readonly name: string;
  readonly backend: Backend;
  /** Table ownership (apply --mode), shared unless set. */
  readonly mode?: 'exclusive';
  /** Lays out the fake root (a systemd host: /etc/systemd/system exists in every case). */
  readonly setup: (root: string) => void;
  /** Lines confirm must print. */
  readonly says: readonly string[];
  /** Enable symlinks (relative to the root) and their targets. */
  readonly enabled: Readonly<Record<string, string>>;
  /** What the library's unit loads (files of the boot dir besides boot.env), if installed. */
  readonly unitLoads?: readonly string[];
  /** The conventional service's start, as shell commands with host paths (after the library unit). */
  readonly service: (root: string) => readonly string[];
  /** Files (relative to the root) destroy must leave, with what they must (not) contain. */
  readonly afterDestroy: (root: string) => void;
}

const NFP_PLUGINS = ['15-ip4tables', '25-ip6tables'];
const nfpSetup = (withIpset: boolean) => (root: string) => {
  fs.mkdirSync(path.join(root, 'etc', 'iptables'), { recursive: true });
  for (const p of [...(withIpset ? ['10-ipset'] : []), ...NFP_PLUGINS]) put(root, `usr/share/netfilter-persistent/plugins.d/${p}`, '#!/bin/sh\n');
  put(root, 'lib/systemd/system/netfilter-persistent.service', NETFILTER_PERSISTENT_UNIT);
};
const SUMMARY_UNIT = (loads: string) =>
  `persistence: boot unit /etc/systemd/system/stateful-firewall.service, enabled (sysinit.target.wants): loads ${loads} from /etc/stateful-firewall/boot at boot`;
const LIB_LINK = { 'etc/systemd/system/sysinit.target.wants/stateful-firewall.service': '/etc/systemd/system/stateful-firewall.service' };
const noSfw = (root: string, rel: string) => expect(fs.readFileSync(path.join(root, rel), 'utf8')).not.toMatch(/SFW-|sfw-/);

const CONVENTIONS: readonly Convention[] = [
  {
    name: 'none (iptables)',
    backend: Backend.IPTABLES,
    setup: () => undefined,
    says: ['persistence: no persistence convention found (netfilter-persistent, iptables-services): installing the library\'s boot unit', SUMMARY_UNIT('sets.ipset rules.v4 rules.v6')],
    enabled: LIB_LINK,
    unitLoads: ['rules.v4', 'rules.v6', 'sets.ipset'],
    service: () => [],
    afterDestroy: () => undefined,
  },
  {
    name: 'none (iptables, exclusive mode: a full restore at boot)',
    backend: Backend.IPTABLES,
    mode: 'exclusive',
    setup: () => undefined,
    says: [SUMMARY_UNIT('sets.ipset rules.v4 rules.v6')],
    enabled: LIB_LINK,
    unitLoads: ['rules.v4', 'rules.v6', 'sets.ipset'],
    service: () => [],
    afterDestroy: () => undefined,
  },
  {
    name: 'none (nftables, exclusive mode)',
    backend: Backend.NFTABLES,
    mode: 'exclusive',
    setup: () => undefined,
    says: [SUMMARY_UNIT('ruleset.nft')],
    enabled: LIB_LINK,
    unitLoads: ['ruleset.nft'],
    service: () => [],
    afterDestroy: () => undefined,
  },
  {
    name: 'none (plain nftables, no nftables.conf)',
    backend: Backend.NFTABLES,
    setup: () => undefined,
    says: ['persistence: no persistence convention found (nftables.service: /etc/nftables.conf or /etc/sysconfig/nftables.conf): installing the library\'s boot unit', SUMMARY_UNIT('ruleset.nft')],
    enabled: LIB_LINK,
    unitLoads: ['ruleset.nft'],
    service: () => [],
    afterDestroy: () => undefined,
  },
  {
    name: 'netfilter-persistent with the ipset plugin',
    backend: Backend.IPTABLES,
    setup: nfpSetup(true),
    says: [
      'persistence: netfilter-persistent (/etc/iptables/rules.v4 /etc/iptables/rules.v6 /etc/iptables/ipsets)',
      'persistence: netfilter-persistent.service enabled (multi-user.target.wants)',
    ],
    enabled: { 'etc/systemd/system/multi-user.target.wants/netfilter-persistent.service': '/lib/systemd/system/netfilter-persistent.service' },
    service: () => ['ipset restore -exist -file /etc/iptables/ipsets', 'iptables-restore /etc/iptables/rules.v4', 'ip6tables-restore /etc/iptables/rules.v6'],
    afterDestroy: (root) => {
      for (const f of ['rules.v4', 'rules.v6', 'ipsets']) noSfw(root, `etc/iptables/${f}`);
    },
  },
  {
    name: 'netfilter-persistent without the ipset plugin',
    backend: Backend.IPTABLES,
    setup: nfpSetup(false),
    says: [
      'persistence: netfilter-persistent (/etc/iptables/rules.v4 /etc/iptables/rules.v6)',
      'persistence: netfilter-persistent.service enabled (multi-user.target.wants)',
      'persistence: netfilter-persistent cannot load the sets before the rules: installing the library\'s boot unit',
      SUMMARY_UNIT('sets.ipset'),
    ],
    enabled: {
      ...LIB_LINK,
      'etc/systemd/system/multi-user.target.wants/netfilter-persistent.service': '/lib/systemd/system/netfilter-persistent.service',
    },
    unitLoads: ['sets.ipset'],
    service: () => ['iptables-restore /etc/iptables/rules.v4', 'ip6tables-restore /etc/iptables/rules.v6'],
    afterDestroy: (root) => {
      for (const f of ['rules.v4', 'rules.v6']) noSfw(root, `etc/iptables/${f}`);
      expect(fs.existsSync(path.join(root, 'etc/iptables/ipsets'))).toBe(false);
    },
  },
  {
    name: 'iptables-services without ipset.service',
    backend: Backend.IPTABLES,
    setup: (root) => {
      put(root, 'etc/sysconfig/iptables-config', 'IPTABLES_SAVE_ON_STOP="no"\n');
      put(root, 'usr/lib/systemd/system/iptables.service', rhelUnit('iptables', '/etc/sysconfig/iptables'));
      put(root, 'usr/lib/systemd/system/ip6tables.service', rhelUnit('ip6tables', '/etc/sysconfig/ip6tables'));
    },
    says: [
      'persistence: iptables-services (/etc/sysconfig/iptables /etc/sysconfig/ip6tables)',
      'persistence: iptables.service enabled (multi-user.target.wants)',
      'persistence: ip6tables.service enabled (multi-user.target.wants)',
      'persistence: iptables-services cannot load the sets before the rules: installing the library\'s boot unit',
      SUMMARY_UNIT('sets.ipset'),
    ],
    enabled: {
      ...LIB_LINK,
      'etc/systemd/system/multi-user.target.wants/iptables.service': '/usr/lib/systemd/system/iptables.service',
      'etc/systemd/system/multi-user.target.wants/ip6tables.service': '/usr/lib/systemd/system/ip6tables.service',
    },
    unitLoads: ['sets.ipset'],
    service: () => ['iptables-restore /etc/sysconfig/iptables', 'ip6tables-restore /etc/sysconfig/ip6tables'],
    afterDestroy: (root) => {
      noSfw(root, 'etc/sysconfig/iptables');
      expect(fs.readFileSync(path.join(root, 'etc/sysconfig/iptables-config'), 'utf8')).toBe('IPTABLES_SAVE_ON_STOP="no"\n');
    },
  },
  {
    name: 'iptables-services with ipset.service',
    backend: Backend.IPTABLES,
    setup: (root) => {
      put(root, 'etc/sysconfig/iptables-config', 'IPTABLES_SAVE_ON_STOP="no"\n');
      put(root, 'usr/lib/systemd/system/iptables.service', rhelUnit('iptables', '/etc/sysconfig/iptables'));
      put(root, 'usr/lib/systemd/system/ip6tables.service', rhelUnit('ip6tables', '/etc/sysconfig/ip6tables'));
      put(root, 'usr/lib/systemd/system/ipset.service', rhelUnit('ipset', '/etc/sysconfig/ipset').replace('Before=network-pre.target', 'Before=iptables.service ip6tables.service'));
    },
    says: [
      'persistence: iptables-services (/etc/sysconfig/iptables /etc/sysconfig/ip6tables /etc/sysconfig/ipset)',
      'persistence: ipset.service enabled (multi-user.target.wants)',
      'persistence: iptables.service enabled (multi-user.target.wants)',
    ],
    enabled: {
      'etc/systemd/system/multi-user.target.wants/ipset.service': '/usr/lib/systemd/system/ipset.service',
      'etc/systemd/system/multi-user.target.wants/iptables.service': '/usr/lib/systemd/system/iptables.service',
      'etc/systemd/system/multi-user.target.wants/ip6tables.service': '/usr/lib/systemd/system/ip6tables.service',
    },
    service: () => ['ipset restore -exist -file /etc/sysconfig/ipset', 'iptables-restore /etc/sysconfig/iptables', 'ip6tables-restore /etc/sysconfig/ip6tables'],
    afterDestroy: (root) => {
      for (const f of ['iptables', 'ip6tables', 'ipset']) noSfw(root, `etc/sysconfig/${f}`);
    },
  },
  {
    name: 'Debian nftables.conf (nftables.service present, disabled)',
    backend: Backend.NFTABLES,
    setup: (root) => {
      put(root, 'etc/nftables.conf', DEBIAN_NFTABLES_CONF);
      put(root, 'lib/systemd/system/nftables.service', DEBIAN_NFTABLES_UNIT);
    },
    says: [
      'persistence: nftables.service (debian: /etc/nftables.d/stateful-firewall.nft included from /etc/nftables.conf)',
      'persistence: nftables.service enabled (sysinit.target.wants)',
    ],
    enabled: { 'etc/systemd/system/sysinit.target.wants/nftables.service': '/lib/systemd/system/nftables.service' },
    // the service's own ExecStart= line
    service: (root) => [execStart(path.join(root, 'lib/systemd/system/nftables.service')).join(' ')],
    afterDestroy: (root) => {
      expect(fs.readFileSync(path.join(root, 'etc/nftables.conf'), 'utf8')).toBe(DEBIAN_NFTABLES_CONF);
      expect(fs.existsSync(path.join(root, 'etc/nftables.d/stateful-firewall.nft'))).toBe(false);
    },
  },
  {
    name: 'Debian nftables.conf, nftables.service masked: the library unit instead',
    backend: Backend.NFTABLES,
    setup: (root) => {
      put(root, 'etc/nftables.conf', DEBIAN_NFTABLES_CONF);
      put(root, 'lib/systemd/system/nftables.service', DEBIAN_NFTABLES_UNIT);
      fs.symlinkSync('/dev/null', path.join(root, 'etc/systemd/system/nftables.service'));
    },
    says: [
      'persistence: nftables.service (debian: /etc/nftables.d/stateful-firewall.nft included from /etc/nftables.conf)',
      'persistence: /etc/nftables.conf is there but nftables.service is missing, masked or static: installing the library\'s boot unit',
      SUMMARY_UNIT('ruleset.nft'),
    ],
    enabled: { ...LIB_LINK, 'etc/systemd/system/nftables.service': '/dev/null' },
    unitLoads: ['ruleset.nft'],
    // masked: nftables.service does not start
    service: () => [],
    afterDestroy: (root) => {
      expect(fs.readFileSync(path.join(root, 'etc/nftables.conf'), 'utf8')).toBe(DEBIAN_NFTABLES_CONF);
      expect(link(root, 'etc/systemd/system/nftables.service')).toBe('/dev/null');
    },
  },
];

describeKernel('boot persistence: after a wipe (a reboot), what the boot runs brings the declared firewall back', () => {
  let ctx: Ctx | undefined;
  afterEach(() => {
    if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
    ctx = undefined;
  });

  test.each(CONVENTIONS)('$name', (conv) => withLab(async (lab) => {
    const c = (ctx = makeCtx());
    fs.mkdirSync(path.join(c.root, 'etc', 'systemd', 'system'), { recursive: true });
    conv.setup(c.root);
    const host = lab.addNamespace('host');
    const client = lab.addNamespace('client');
    lab.connect(
      { ns: host, ifname: 'eth0', addresses: ['192.0.2.1/24', '2001:db8::1/64'] },
      { ns: client, ifname: 'eth0', addresses: ['192.0.2.2/24', '2001:db8::2/64'] },
    );
    await startListener(lab, host, [22, 23, 80]);
    const expectLive = () => (conv.backend === Backend.NFTABLES ? expectLiveNft(lab, host, RULESET) : expectLiveIptables(lab, host, RULESET));

    writePending(c, RULESET, conv.backend);
    ok(sfw(lab, host, c, ['apply', '--dir', c.pending, '--mode', conv.mode ?? 'shared']));
    const conf = ok(sfw(lab, host, c, ['confirm']));
    for (const line of conv.says) expect(conf.stdout).toContain(`stateful-firewall: ${line}`);
    for (const [rel, target] of Object.entries(conv.enabled)) expect([rel, link(c.root, rel)]).toEqual([rel, target]);
    if (conv.unitLoads) {
      expect(fs.readFileSync(path.join(c.root, UNIT), 'utf8')).toMatch(/^DefaultDependencies=no$(.|\n)*^Before=network-pre\.target .*netfilter-persistent\.service iptables\.service ip6tables\.service nftables\.service$/m);
      expect(fs.readdirSync(path.join(c.root, BOOT_DIR)).sort()).toEqual(['boot.env', ...conv.unitLoads].sort());
      expect(fs.statSync(path.join(c.root, BOOT_DIR)).mode & 0o777).toBe(0o700);
    } else {
      expect(fs.existsSync(path.join(c.root, UNIT))).toBe(false);
      expect(fs.existsSync(path.join(c.root, BOOT_DIR))).toBe(false);
    }
    expectLive();
    expect(probe(lab, client)).toEqual(FIREWALLED);

    // reboot: nothing in the kernel, the host is open
    wipe(lab, host);
    expect(probe(lab, client)).toEqual(OPEN);
    if (conv.unitLoads?.length === 1 && conv.unitLoads[0] === 'sets.ipset') {
      // the convention alone cannot restore rules that use sets: that is why the unit is there
      const alone = bootRun(lab, host, c, ['sh', '-c', conv.service(c.root)[0]]);
      expect(alone.status).not.toBe(0);
      expect(alone.stderr).toMatch(/Set sfw-\S+ doesn't exist|line \d+ failed/);
      wipe(lab, host);
    }
    if (conv.unitLoads) {
      const r = bootRun(lab, host, c, execStart(path.join(c.root, UNIT)));
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      expect(r.stdout).toContain(`stateful-firewall: boot: loaded ${['sets.ipset', 'rules.v4', 'rules.v6', 'ruleset.nft'].filter((f) => conv.unitLoads!.includes(f)).join(' ')} from /etc/stateful-firewall/boot (apply `);
      expect(r.stdout).toContain(`, ${conv.mode ?? 'shared'} mode)`);
    }
    for (const cmd of conv.service(c.root)) {
      const r = bootRun(lab, host, c, ['sh', '-c', cmd]);
      expect({ cmd, status: r.status, stderr: r.stderr }).toEqual({ cmd, status: 0, stderr: '' });
    }
    expectLive();
    expect(probe(lab, client)).toEqual(FIREWALLED);

    // destroy: the unit, its link and the boot files go; the convention's other content stays
    const d = ok(sfw(lab, host, c, ['destroy']));
    if (conv.unitLoads) expect(d.stdout).toContain('persistence: removed the boot unit /etc/systemd/system/stateful-firewall.service');
    expect(fs.existsSync(path.join(c.root, UNIT))).toBe(false);
    expect(link(c.root, 'etc/systemd/system/sysinit.target.wants/stateful-firewall.service')).toBeUndefined();
    expect(fs.existsSync(path.join(c.root, 'etc/stateful-firewall'))).toBe(false);
    conv.afterDestroy(c.root);
    expect(probe(lab, client)).toEqual(OPEN);
  }, conv.name.replace(/\W+/g, '-').slice(0, 12)));

  test('a failing save command (exit 1 after half a file, or exit 0 with half a file) fails confirm and leaves the persisted files', () => withLab((lab) => {
    const c = (ctx = makeCtx());
    fs.mkdirSync(path.join(c.root, 'etc', 'systemd', 'system'), { recursive: true });
    nfpSetup(true)(c.root);
    const host = lab.addNamespace('host');
    writePending(c, RULESET, Backend.IPTABLES);
    ok(sfw(lab, host, c, ['apply', '--dir', c.pending]));
    ok(sfw(lab, host, c, ['confirm']));
    const files = ['etc/iptables/rules.v4', 'etc/iptables/rules.v6', 'etc/iptables/ipsets'];
    const read = () => files.map((f) => fs.readFileSync(path.join(c.root, f), 'utf8'));
    const before = read();
    expect(before[0]).toContain('--dport 80 ');

    const next = compile([443]);
    writePending(c, next, Backend.IPTABLES);
    ok(sfw(lab, host, c, ['apply', '--dir', c.pending]));
    // confirm's own fingerprint check (its output files are fp.v4 and fp.v6) gets the real output; the save for persistence half of it
    for (const exit of [1, 0]) {
      const wrapper = path.join(c.dir, `iptables-save-half-${exit}`);
      fs.writeFileSync(wrapper, [
        '#!/bin/sh',
        'case "$(readlink /proc/$$/fd/1)" in */fp.v4 | */fp.v6) exec iptables-save "$@" ;; esac',
        'iptables-save "$@" | head -n 8',
        `exit ${exit}`,
        '',
      ].join('\n'), { mode: 0o755 });
      const r = sfw(lab, host, c, ['confirm'], { SFW_IPTABLES_SAVE: wrapper });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(exit === 1
        ? `stateful-firewall: persistence: ${wrapper} failed; the persisted files were left as they were`
        : `stateful-firewall: persistence: ${wrapper} printed an empty or incomplete ruleset (a table without COMMIT); the persisted files were left as they were`);
      expect(r.stderr).toMatch(/is confirmed and live, but persisting it failed/);
      expect(read()).toEqual(before);
      expect(fs.readdirSync(path.join(c.root, 'etc/iptables')).sort()).toEqual(['ipsets', 'rules.v4', 'rules.v6']);
    }
    // the real save persists the new ruleset
    ok(sfw(lab, host, c, ['confirm']));
    expect(fs.readFileSync(path.join(c.root, 'etc/iptables/rules.v4'), 'utf8')).toContain('--dports 80,443 ');
  }));

  test.each([
    { name: 'iptables, no convention', backend: Backend.IPTABLES, setup: () => undefined, install: 'install iptables-persistent and ipset-persistent (Debian, Ubuntu) or iptables-services and ipset-service (RHEL, Fedora)', why: 'no persistence convention found (netfilter-persistent, iptables-services)' },
    { name: 'nftables, no convention', backend: Backend.NFTABLES, setup: () => undefined, install: 'install nftables with its nftables.service', why: 'no persistence convention found (nftables.service: /etc/nftables.conf or /etc/sysconfig/nftables.conf)' },
    {
      name: 'netfilter-persistent without the ipset plugin, sets in use',
      backend: Backend.IPTABLES,
      setup: nfpSetup(false),
      install: 'install iptables-persistent and ipset-persistent',
      why: 'netfilter-persistent cannot load the sets before the rules',
    },
  ])('no systemd at all ($name): confirm fails saying nothing would restore the firewall at boot', ({ backend, setup, install, why }) => withLab((lab) => {
    const c = (ctx = makeCtx());
    setup(c.root);
    const list = () => fs.readdirSync(c.root, { recursive: true }).map(String).sort();
    const layout = list();
    const host = lab.addNamespace('host');
    writePending(c, RULESET, backend);
    ok(sfw(lab, host, c, ['apply', '--dir', c.pending]));
    const r = sfw(lab, host, c, ['confirm']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/confirmed apply [0-9a-f]{16}: rollback cancelled/);
    expect(r.stderr).toContain(`stateful-firewall: persistence: nothing would restore the firewall at boot: ${why}, and the host has no systemd (${c.root}/etc/systemd is missing) to run the library's boot unit; ${install}`);
    expect(r.stderr).toMatch(/persisting it failed/);
    // nothing was written
    expect(list()).toEqual(layout);
  }));
});
