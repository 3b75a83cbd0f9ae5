/**
 * The awk programs of the apply script (assets/sfw-apply/awk/*.awk), each run on its own
 * with `awk -f` exactly as the script runs it (the same -v variables; lib.awk first where the
 * script prepends $AWK_LIB), on every awk at hand: mawk (Debian's awk, what the hosts run),
 * gawk in --posix mode (POSIX conformance) and as is, and busybox awk (small hosts).
 *
 * Inputs are real tool output captured in a network namespace (test/assets/fixtures, made
 * by capture.sh there: iptables-nft-save and iptables-legacy-save of a host with the
 * library's chains next to fail2ban's, ipset save, conntrack -L, ss) or the library's own
 * file formats; each expected output is written out by hand from what the program is for.
 *
 * As root (CI) gawk and busybox must be installed (scripts/test-setup.sh installs them):
 * a missing one fails. Elsewhere only mawk (or the system awk) is required.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { APPLY_PARTS_DIR } from '../../scripts/build-apply-script';

const AWK_DIR = path.join(APPLY_PARTS_DIR, 'awk');
const FIXTURES = path.join(__dirname, 'fixtures');
const fixture = (name: string) => path.join(FIXTURES, name);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const found = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The awks: [label, command...], and whether a missing one fails the run. */
const IMPLEMENTATIONS: ReadonlyArray<readonly [label: string, argv: readonly string[], required: boolean]> = [
  ['mawk', ['mawk'], true],
  ['gawk --posix', ['gawk', '--posix'], isRoot],
  ['gawk', ['gawk'], isRoot],
  ['busybox awk', ['busybox', 'awk'], isRoot],
];
const AWKS = IMPLEMENTATIONS.filter(([, argv, required]) => required || found(argv[0]));

/** Programs the script prepends with $AWK_LIB (AWK_X=$AWK_LIB'...' or awk "$AWK_LIB"'...'). */
const WITH_LIB: ReadonlySet<string> = new Set(['gen-tx.awk', 'extract-lib.awk', 'fingerprint.awk', 'strip-lib.awk', 'ipset-stage.awk', 'hooks-after.awk', 'drift.awk']);

interface AwkRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runAwk(
  argv: readonly string[], program: string, vars: Record<string, string>, files: readonly string[], extra: readonly string[] = [],
): AwkRun {
  const progs = [...(WITH_LIB.has(program) ? ['lib.awk'] : []), ...extra, program]
    .flatMap((p) => ['-f', path.isAbsolute(p) ? p : path.join(AWK_DIR, p)]);
  const v = Object.entries(vars).flatMap(([k, val]) => ['-v', `${k}=${val}`]);
  // stderr goes to a file, as the script's run_tool does: node's stdio are sockets, which
  // gawk --posix cannot open as "/dev/stderr" (it opens the device, no special name)
  const errf = path.join(tmp, 'stderr');
  const r = spawnSync('sh', ['-c', 'f=$1; shift; exec "$@" 2>"$f"', 'sh', errf, ...argv, ...v, ...progs, ...files], { encoding: 'utf8', input: '' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: fs.readFileSync(errf, 'utf8') };
}

const text = (...lines: string[]) => lines.map((l) => `${l}\n`).join('');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-awk-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
/** A driver for lib.awk's functions. */
const DRIVER = path.join(tmp, 'lib-driver.awk');
fs.writeFileSync(DRIVER, '{ print tgt($0) "|" issfw($2) }\n');
let seq = 0;
/** A file with this content (the programs read files, as the script's do). */
const file = (content: string) => {
  const f = path.join(tmp, `in-${++seq}`);
  fs.writeFileSync(f, content);
  return f;
};

interface Case {
  readonly name: string;
  readonly program: string;
  readonly vars?: () => Record<string, string>;
  readonly files: () => string[];
  /** programs loaded before it (besides lib.awk): a driver that calls lib's functions */
  readonly extra?: readonly string[];
  readonly stdout: string;
  readonly status?: number;
  readonly stderr?: RegExp;
  /** files the program writes (-v mapf=..., statsf=...) with their expected content */
  readonly outFiles?: () => Array<[string, string]>;
}

// ---- expected pieces, by hand from the fixtures

const SFW_INPUT_RULES = [
  '-A SFW-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "web: established and related traffic" -j ACCEPT',
  '-A SFW-INPUT -i lo -m comment --comment "web: loopback" -j ACCEPT',
  '-A SFW-INPUT -m conntrack --ctstate INVALID -m comment --comment "web: invalid state" -j DROP',
  '-A SFW-INPUT -p tcp -m set --match-set sfw-peers-v4 src -m conntrack --ctstate NEW -m tcp --dport 22 -m comment --comment "web/Admins" -j ACCEPT',
  '-A SFW-INPUT -p tcp -m conntrack --ctstate NEW -m multiport --dports 80,443 -m comment --comment "web/Website" -j ACCEPT',
  '-A SFW-INPUT -m comment --comment "web: default action" -j REJECT --reject-with icmp-host-prohibited',
];
const SFW_RAW_RULE = '-A SFW-RAW -p udp -m udp --dport 53 -m comment --comment "web: notrack dns" -j CT --notrack';

/** The library's next rules.v4 (what the compiler renders: built-in declarations, SFW-* chains, hooks). */
const NEXT_RULES = text(
  '*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':SFW-RAW - [0:0]', '-A PREROUTING -j SFW-RAW',
  '-A SFW-RAW -p udp -m udp --dport 123 -j CT --notrack', 'COMMIT',
  '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':SFW-INPUT - [0:0]',
  '-A INPUT -j SFW-INPUT', '-A SFW-INPUT -i lo -j ACCEPT', '-A SFW-INPUT -j DROP', 'COMMIT',
);
const NEXT_RAW = ['*raw', ':SFW-RAW - [0:0]', '-F SFW-RAW', '-D PREROUTING -j SFW-RAW', '-I PREROUTING 1 -j SFW-RAW',
  '-A SFW-RAW -p udp -m udp --dport 123 -j CT --notrack', 'COMMIT'];
const NEXT_FILTER = ['*filter', ':SFW-INPUT - [0:0]', '-F SFW-INPUT', '-D INPUT -j SFW-INPUT', '-F SFW-OLD', '-X SFW-OLD',
  '-A INPUT -j SFW-INPUT', '-A SFW-INPUT -i lo -j ACCEPT', '-A SFW-INPUT -j DROP', 'COMMIT'];

/** A live dump: the fixture with LINE added after AFTER (made once, when a case first asks). */
const withLine = (save: string, after: string, line: string) => {
  let made: string | undefined;
  return () => {
    if (made !== undefined) return made;
    const s = fs.readFileSync(fixture(save), 'utf8');
    if (!s.includes(`${after}\n`)) throw new Error(`${save}: no line ${after}`);
    made = file(s.replace(`${after}\n`, `${after}\n${line}\n`));
    return made;
  };
};
const allowAll = withLine('iptables-nft.save', '-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd', '-A INPUT -m comment --comment "allow all" -j ACCEPT');
const allowChain = withLine('iptables-nft.save', ':f2b-sshd - [0:0]', ':ALLOW - [0:0]\n-A ALLOW -j ACCEPT\n-A INPUT -j ALLOW');
const jumpBan = withLine('iptables-nft.save', '-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd', '-A INPUT -j f2b-sshd');

const genVars = (live: string, over: Record<string, string> = {}) => ({
  livef: live, src: 'rules.v4', skip: '  ', warnpolicy: '1', strict: '1', statsf: path.join(tmp, 'stats'), ...over,
});


/** A live iptables dump: the nft fixture changed by EDIT. */
const driftLive = (edit: (s: string) => string) => file(edit(fs.readFileSync(fixture('iptables-nft.save'), 'utf8')));
/** A confirmed nftables table as `nft -s list table` prints it (a set, a dynamic set, a chain). */
const NFT_WANT = path.join(tmp, 'nft-want');
fs.writeFileSync(NFT_WANT, [
  'table inet stateful_firewall {',
  '\tset ops {', '\t\ttype ipv4_addr', '\t\tflags interval', '\t\telements = { 192.0.2.0/24, 198.51.100.7,', '\t\t\t     203.0.113.0/24 }', '\t}',
  '\tset meter4 {', '\t\ttype ipv4_addr', '\t\tsize 65535', '\t\tflags dynamic,timeout', '\t\ttimeout 1s', '\t}',
  '\tchain input {', '\t\ttype filter hook input priority filter; policy drop;', '\t\tct state established,related accept', '\t\tiif "lo" accept',
  '\t\tip saddr @ops tcp dport 22 accept', '\t\ttcp dport 8080 add @meter4 { ip saddr limit rate over 10/second } drop',
  '\t\ttcp dport 8080 accept comment "a {b} ${x}"', '\t}',
  '}', '',
].join('\n'));

const CASES: readonly Case[] = [
  // lib.awk: the helpers every iptables program shares
  (() => {
    const driver = DRIVER;
    return {
      name: 'lib.awk: tgt is the -j/-g target, issfw the SFW- prefix',
      program: driver,
      extra: [path.join(AWK_DIR, 'lib.awk')],
      files: () => [file(text('-A INPUT -p tcp -j SFW-INPUT', '-A SFW-IN -g f2b-sshd', '-A INPUT -m comment --comment "no target"', '-A sfw-x -j \t ACCEPT', '-A SFW -j'))],
      stdout: text('SFW-INPUT|0', 'f2b-sshd|1', '|0', 'ACCEPT|0', '|0'),
    };
  })(),

  // gen-tx.awk: the shared-mode transaction
  ...(['nft', 'legacy'] as const).map((v): Case => ({
    name: `gen-tx.awk: next ruleset over the live iptables-${v}-save: flush, re-hook last in filter, first in raw, drop the stale chain`,
    program: 'gen-tx.awk',
    vars: () => genVars(fixture(`iptables-${v}.save`)),
    files: () => [fixture(`iptables-${v}.save`), file(NEXT_RULES)],
    // tables in the order the live dump has them
    stdout: text(...(v === 'nft' ? [...NEXT_RAW, ...NEXT_FILTER] : [...NEXT_FILTER, ...NEXT_RAW])),
    outFiles: () => [[path.join(tmp, 'stats'), `2 2 1 ${v === 'nft' ? 'raw filter' : 'filter raw'}\n`]],
  })),
  {
    name: 'gen-tx.awk: an empty desired file (destroy) removes every hook and chain',
    program: 'gen-tx.awk',
    vars: () => genVars(fixture('iptables-nft.save'), { warnpolicy: '0', strict: '0' }),
    files: () => [fixture('iptables-nft.save'), file('')],
    stdout: text('*raw', '-D PREROUTING -j SFW-RAW', '-F SFW-RAW', '-X SFW-RAW', 'COMMIT',
      '*filter', '-D INPUT -j SFW-INPUT', '-F SFW-INPUT', '-F SFW-OLD', '-X SFW-INPUT', '-X SFW-OLD', 'COMMIT'),
    outFiles: () => [[path.join(tmp, 'stats'), '0 0 3\n']],
  },
  {
    name: 'gen-tx.awk: skipped tables (exclusive mode restores them whole) are left out',
    program: 'gen-tx.awk',
    vars: () => genVars(fixture('iptables-nft.save'), { skip: ' filter ', statsf: '' }),
    files: () => [fixture('iptables-nft.save'), file(NEXT_RULES)],
    stdout: text(...NEXT_RAW),
  },
  {
    name: 'gen-tx.awk: a foreign unconditional ACCEPT ahead of the hook is refused when strict',
    program: 'gen-tx.awk',
    vars: () => genVars(allowAll(), { statsf: '' }),
    files: () => [allowAll(), file(NEXT_RULES)],
    // (the tables before the refusal: gen_tx's caller discards the output on the failure)
    stdout: text(...NEXT_RAW),
    status: 1,
    stderr: /^stateful-firewall: rules\.v4: built-in chain INPUT \(table filter\) has a foreign rule that decides every packet: -A INPUT -m comment --comment "allow all" -j ACCEPT -- /,
  },
  {
    name: 'gen-tx.awk: a jump to a foreign chain that always decides is a catch-all too (warning when not strict)',
    program: 'gen-tx.awk',
    vars: () => genVars(allowChain(), { strict: '0', statsf: '' }),
    files: () => [allowChain(), file(NEXT_RULES)],
    stdout: text(...NEXT_RAW, ...NEXT_FILTER),
    stderr: /^stateful-firewall: warning: rules\.v4: built-in chain INPUT \(table filter\) has a foreign rule that decides every packet: -A INPUT -j ALLOW -- [^\n]*\n$/,
  },
  {
    name: 'gen-tx.awk: an unconditional jump to a chain ending in RETURN (fail2ban, DOCKER-USER) is not a catch-all',
    program: 'gen-tx.awk',
    vars: () => genVars(jumpBan(), { statsf: '' }),
    files: () => [jumpBan(), file(NEXT_RULES)],
    stdout: text(...NEXT_RAW, ...NEXT_FILTER),
  },
  {
    name: 'gen-tx.awk: a built-in policy other than ACCEPT is ignored with a warning',
    program: 'gen-tx.awk',
    vars: () => genVars(fixture('iptables-nft.save'), { statsf: '' }),
    files: () => [fixture('iptables-nft.save'), file(NEXT_RULES.replace(':INPUT ACCEPT', ':INPUT DROP'))],
    stdout: text(...NEXT_RAW, ...NEXT_FILTER),
    stderr: /^stateful-firewall: warning: rules\.v4: policy DROP of built-in chain INPUT \(table filter\) is ignored in shared mode\n$/,
  },
  ...([
    ['a foreign chain', text('*filter', ':f2b-x - [0:0]', 'COMMIT'), /rules\.v4:2: chain f2b-x is not a library chain \(SFW-\*\)/],
    ['a rule in a foreign chain', text('*filter', '-A f2b-x -j DROP', 'COMMIT'), /rules\.v4:2: chain f2b-x is not a library chain/],
    ['a built-in rule not jumping to the library', text('*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -j ACCEPT', 'COMMIT'), /rules\.v4:3: built-in chain INPUT may only jump to SFW-\* chains/],
    ['a rule outside a table', text('-A SFW-INPUT -j DROP'), /rules\.v4:1: rule outside a \*table section/],
    ['an unsupported line', text('*filter', '-I SFW-INPUT -j DROP'), /rules\.v4:2: unsupported line \(expected iptables-save format\): -I SFW-INPUT -j DROP/],
  ] as const).map(([what, desired, error]): Case => ({
    name: `gen-tx.awk: refuses ${what}`,
    program: 'gen-tx.awk',
    vars: () => genVars(fixture('iptables-nft.save'), { statsf: '' }),
    files: () => [fixture('iptables-nft.save'), file(desired)],
    stdout: '',
    status: 1,
    stderr: error,
  })),

  // extract-lib.awk, fingerprint.awk, strip-lib.awk: the library's part of a dump
  {
    name: 'extract-lib.awk: built-in declarations (counters reset), SFW-* chains, their rules and hooks',
    program: 'extract-lib.awk',
    // (iptables-save -c prints counters)
    files: () => [file(fs.readFileSync(fixture('iptables-nft.save'), 'utf8').replace(':INPUT ACCEPT [0:0]', ':INPUT ACCEPT [12:3456]'))],
    stdout: text('*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':SFW-RAW - [0:0]', '-A PREROUTING -j SFW-RAW', SFW_RAW_RULE, 'COMMIT',
      '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':SFW-INPUT - [0:0]', ':SFW-OLD - [0:0]',
      '-A INPUT -j SFW-INPUT', ...SFW_INPUT_RULES, '-A SFW-OLD -j RETURN', 'COMMIT'),
  },
  ...(['nft', 'legacy'] as const).map((v): Case => ({
    name: `fingerprint.awk: the library lines of iptables-${v}-save, by table`,
    program: 'fingerprint.awk',
    files: () => [fixture(`iptables-${v}.save`)],
    stdout: (() => {
      const raw = ['raw :SFW-RAW', 'raw -A PREROUTING -j SFW-RAW', `raw ${SFW_RAW_RULE}`];
      const filter = ['filter :SFW-INPUT', 'filter :SFW-OLD', 'filter -A INPUT -j SFW-INPUT', ...SFW_INPUT_RULES.map((r) => `filter ${r}`), 'filter -A SFW-OLD -j RETURN'];
      return text(...(v === 'nft' ? [...raw, ...filter] : [...filter, ...raw]));
    })(),
  })),
  {
    name: 'strip-lib.awk: a persisted rules file without the library objects (foreign rules and comments kept)',
    program: 'strip-lib.awk',
    files: () => [fixture('iptables-legacy.save')],
    stdout: fs.readFileSync(fixture('iptables-legacy.save'), 'utf8').split('\n')
      .filter((l) => !/^:SFW-/.test(l) && !/^-A SFW-/.test(l) && !/-j SFW-/.test(l)).join('\n'),
  },
  {
    name: 'keep-tables.awk: the tables exclusive mode restores whole, an empty one for each absent',
    program: 'keep-tables.awk',
    vars: () => ({ want: ' filter nat ' }),
    files: () => [fixture('iptables-nft.save')],
    stdout: (() => {
      const s = fs.readFileSync(fixture('iptables-nft.save'), 'utf8');
      return s.slice(s.indexOf('*filter\n')) + text('*nat', 'COMMIT');
    })(),
  },
  {
    name: 'hooks-after.awk: foreign rules after the library hook, by chain (the fixture\'s node exporter accept)',
    program: 'hooks-after.awk',
    files: () => [fixture('iptables-nft.save')],
    stdout: text('INPUT 1'),
  },
  {
    name: 'hooks-after.awk: none when the hook is last',
    program: 'hooks-after.awk',
    files: () => [file(text('*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -j f2b-sshd', '-A INPUT -j SFW-INPUT', '-A SFW-INPUT -j DROP', 'COMMIT', '*raw', '-A PREROUTING -j SFW-RAW', '-A PREROUTING -j CT --notrack', 'COMMIT'))],
    stdout: '',
  },
  {
    name: 'save-complete.awk: a complete iptables-save passes',
    program: 'save-complete.awk',
    files: () => [fixture('iptables-legacy.save')],
    stdout: '',
  },
  ...([
    ['empty', ''],
    ['a table without COMMIT', text('*filter', ':INPUT ACCEPT [0:0]', 'COMMIT', '*raw', ':OUTPUT ACCEPT [0:0]')],
    ['a COMMIT without a table', text('*filter', 'COMMIT', 'COMMIT')],
    ['a table opened inside another', text('*filter', '*raw', 'COMMIT')],
  ] as const).map(([what, save]): Case => ({
    name: `save-complete.awk: fails on ${what}`,
    program: 'save-complete.awk',
    files: () => [file(save)],
    stdout: '',
    status: 1,
  })),

  // ipset
  {
    name: 'ipset-stage.awk: the library sets into sfw.tmpN, with the map tmp/type/family/name',
    program: 'ipset-stage.awk',
    vars: () => ({ src: 'sets.ipset', mapf: path.join(tmp, 'ipset.map') }),
    files: () => [file(fs.readFileSync(fixture('ipset.save'), 'utf8').split('\n').filter((l) => / sfw-/.test(l)).map((l) => `${l}  \n`).join('') + '# comment\n\n')],
    stdout: text(
      'create sfw.tmp1 hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0xe6256bef',
      'add sfw.tmp1 10.9.8.0/24', 'add sfw.tmp1 192.0.2.7',
      'create sfw.tmp2 bitmap:port range 0-65535', 'add sfw.tmp2 443',
      'create sfw.tmp3 hash:ip family inet hashsize 1024 maxelem 65536 timeout 600 bucketsize 12 initval 0xdb43d2c5',
      'add sfw.tmp3 198.51.100.9 timeout 299'),
    outFiles: () => [[path.join(tmp, 'ipset.map'), text('sfw.tmp1 hash:net inet sfw-peers-v4', 'sfw.tmp2 bitmap:port - sfw-ports', 'sfw.tmp3 hash:ip inet sfw-bans')]],
  },
  ...([
    ['a foreign set', text('create f2b-sshd hash:ip family inet'), /sets\.ipset:1: set f2b-sshd is not a library set \(sfw-\*\)/],
    ['a set created twice', text('create sfw-a hash:ip', 'create sfw-a hash:ip'), /sets\.ipset:2: set sfw-a is created twice/, text('create sfw.tmp1 hash:ip')],
    ['an add before its create', text('add sfw-a 10.0.0.1'), /sets\.ipset:1: add to set sfw-a before its create line/],
    ['another command', text('create sfw-a hash:ip', 'flush sfw-a'), /sets\.ipset:2: unsupported line \(expected ipset save format\): flush sfw-a/, text('create sfw.tmp1 hash:ip')],
  ] as ReadonlyArray<readonly [string, string, RegExp, string?]>).map(([what, sets, error, before]): Case => ({
    name: `ipset-stage.awk: refuses ${what}`,
    program: 'ipset-stage.awk',
    vars: () => ({ src: 'sets.ipset', mapf: path.join(tmp, 'ipset.map.bad') }),
    files: () => [file(sets)],
    // (what came before the bad line: ipset_prepare drops it on the failure)
    stdout: before ?? '',
    status: 1,
    stderr: error,
  })),
  // late-bound set members (addresses Terraform knows only at apply time)
  {
    name: 'late-fill.awk: each value checked against its set\'s family, printed once per set',
    program: 'late-fill.awk',
    files: () => [
      file(text('addr_app-1 10.0.1.5', 'addr_app-2 10.0.1.6', 'addr_v6 2001:db8::7', 'addr_net 198.51.100.0/24', 'addr_range 192.0.2.10-192.0.2.20', 'addr_full 2001:db8:0:0:0:0:0:1')),
      file(text(
        'addr_app-1 sfw-4i-app-aaaaaa ipv4 0 cloud/app-1', 'addr_app-2 sfw-4i-app-aaaaaa ipv4 0 cloud/app-2',
        'addr_app-1 sfw-4i-app-aaaaaa ipv4 0 cloud/app-1', '', 'addr_v6 sfw-6i-m-bbbbbb ipv6 0 cloud/m',
        'addr_net sfw-4n-office-cccccc ipv4 1 cloud/web/Office', 'addr_range sfw-4n-office-cccccc ipv4 1 cloud/web/Office',
        'addr_full sfw-6i-m-bbbbbb ipv6 0 cloud/m')),
    ],
    stdout: text('sfw-4i-app-aaaaaa 10.0.1.5', 'sfw-4i-app-aaaaaa 10.0.1.6', 'sfw-6i-m-bbbbbb 2001:db8::7',
      'sfw-4n-office-cccccc 198.51.100.0/24', 'sfw-4n-office-cccccc 192.0.2.10-192.0.2.20', 'sfw-6i-m-bbbbbb 2001:db8:0:0:0:0:0:1'),
  },
  ...([
    ['an IPv6 value for an IPv4 set', '2001:db8::1', 'ipv4 0', /cloud\/app-1: addr_x = 2001:db8::1 is not a valid IPv4 address \(set sfw-s\)/],
    ['an IPv4 value for an IPv6 set', '10.0.0.1', 'ipv6 0', /cloud\/app-1: addr_x = 10.0.0.1 is not a valid IPv6 address/],
    ['an octet past 255', '10.0.0.256', 'ipv4 0', /addr_x = 10.0.0.256 is not a valid IPv4 address/],
    ['a leading zero (octal to some tools)', '10.0.0.010', 'ipv4 0', /addr_x = 10.0.0.010 is not a valid IPv4 address/],
    ['a CIDR block where one address is due', '10.0.0.0/24', 'ipv4 0', /addr_x = 10.0.0.0\/24 is not a valid IPv4 address \(/],
    ['host bits in a block', '10.0.0.1/24', 'ipv4 1', /addr_x = 10.0.0.1\/24 is not a valid IPv4 address, CIDR block or range/],
    ['an inverted range', '10.0.0.9-10.0.0.1', 'ipv4 1', /addr_x = 10.0.0.9-10.0.0.1 is not a valid IPv4 address, CIDR block or range/],
    ['two ::', '2001::db8::1', 'ipv6 0', /addr_x = 2001::db8::1 is not a valid IPv6 address/],
    ['nine groups', '1:2:3:4:5:6:7:8:9', 'ipv6 0', /addr_x = 1:2:3:4:5:6:7:8:9 is not a valid IPv6 address/],
    ['what the template made of a bad value', 'invalid', 'ipv4 0', /addr_x = invalid is not a valid IPv4 address/],
    ['an empty value', '', 'ipv4 0', /cloud\/app-1: Terraform gave no value for addr_x \(set sfw-s\); nothing was changed/],
  ] as ReadonlyArray<readonly [string, string, string, RegExp]>).map(([what, value, famNet, error]): Case => ({
    name: `late-fill.awk: refuses ${what}, naming the construct`,
    program: 'late-fill.awk',
    files: () => [file(text('addr_ok 10.0.0.1', `addr_x ${value}`)), file(text('addr_ok sfw-s ipv4 0 cloud/ok', `addr_x sfw-s ${famNet} cloud/app-1`))],
    stdout: 'sfw-s 10.0.0.1\n',
    status: 1,
    stderr: error,
  })),
  {
    name: 'sfw-sets.awk: the library sets of ipset save without initval, timeouts and counters',
    program: 'sfw-sets.awk',
    files: () => [file(fs.readFileSync(fixture('ipset.save'), 'utf8') + 'add sfw-ports 8443 packets 4 bytes 240\n')],
    stdout: text(
      'create sfw-peers-v4 hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12',
      'add sfw-peers-v4 10.9.8.0/24', 'add sfw-peers-v4 192.0.2.7',
      'create sfw-ports bitmap:port range 0-65535', 'add sfw-ports 443',
      'create sfw-bans hash:ip family inet hashsize 1024 maxelem 65536 timeout 600 bucketsize 12',
      'add sfw-bans 198.51.100.9', 'add sfw-ports 8443'),
  },

  // drift (verify): the baseline (first file) against the live dump (second)
  {
    name: 'drift.awk (ipt, shared): counters and foreign chains changed: in sync',
    program: 'drift.awk',
    vars: () => ({ kind: 'ipt', what: 'ipv4', fam: 'ipv4', own: ' ', wantf: fixture('iptables-nft.save') }),
    files: () => [fixture('iptables-nft.save'), driftLive((s) => s.replace(':INPUT ACCEPT [0:0]', ':INPUT DROP [7:420]')
      .replace('-A DOCKER-USER -j RETURN\n', '-A DOCKER-USER -s 192.0.2.9 -j DROP\n-A DOCKER-USER -j RETURN\n'))],
    // SFW-RAW, PREROUTING's jump, SFW-INPUT, SFW-OLD, INPUT's jump: 5 objects, 10 lines
    stdout: text('ok: ipv4: as confirmed (5 chain(s), set(s) or table(s); 10 rule(s), member(s) or line(s))'),
  },
  {
    name: 'drift.awk (ipt, shared): the library chain flushed, a rule added by hand, its jump deleted',
    program: 'drift.awk',
    vars: () => ({ kind: 'ipt', what: 'ipv4', fam: 'ipv4', own: ' ', wantf: fixture('iptables-nft.save') }),
    files: () => [fixture('iptables-nft.save'), driftLive((s) => s.split('\n')
      .filter((l) => !l.startsWith('-A SFW-INPUT ') && l !== '-A INPUT -j SFW-INPUT').join('\n')
      .replace('-A SFW-OLD -j RETURN\n', '-A SFW-OLD -j RETURN\n-A SFW-INPUT -p tcp -m tcp --dport 9090 -j ACCEPT\n'))],
    stdout: text(
      'drift: ipv4 filter chain SFW-INPUT: 6 rule(s) missing',
      ...SFW_INPUT_RULES.map((r) => `    - ${r}`),
      'drift: ipv4 filter chain SFW-INPUT: 1 rule(s) not in the confirmed ruleset',
      '    + -A SFW-INPUT -p tcp -m tcp --dport 9090 -j ACCEPT',
      'drift: ipv4 filter chain INPUT (its jumps to the library): missing (1 jump(s))',
      '    - -A INPUT -j SFW-INPUT',
    ),
    status: 1,
  },
  {
    name: 'drift.awk (ipt, shared): the same rules in another order; a chain of its own deleted, another added',
    program: 'drift.awk',
    vars: () => ({ kind: 'ipt', what: 'ipv4', fam: 'ipv4', own: ' ', wantf: fixture('iptables-nft.save') }),
    files: () => [fixture('iptables-nft.save'), driftLive((s) => s.replace(`${SFW_INPUT_RULES[0]}\n${SFW_INPUT_RULES[1]}\n`, `${SFW_INPUT_RULES[1]}\n${SFW_INPUT_RULES[0]}\n`)
      .replace(':SFW-OLD - [0:0]', ':SFW-NEW - [0:0]').replace('-A SFW-OLD -j RETURN', '-A SFW-NEW -j ACCEPT'))],
    stdout: text(
      'drift: ipv4 filter chain SFW-INPUT: the same 6 rule(s) in another order; from position 1 on:',
      `    live:      ${SFW_INPUT_RULES[1]}`,
      `    confirmed: ${SFW_INPUT_RULES[0]}`,
      'drift: ipv4 filter chain SFW-OLD: missing (1 rule(s))',
      '    - -A SFW-OLD -j RETURN',
      'drift: ipv4 filter chain SFW-NEW: not in the confirmed ruleset (1 rule(s))',
      '    + -A SFW-NEW -j ACCEPT',
    ),
    status: 1,
  },
  {
    name: 'drift.awk (ipt, exclusive filter): a foreign rule and a policy in the owned table are drift; raw only for the library',
    program: 'drift.awk',
    vars: () => ({ kind: 'ipt', what: 'ipv4', fam: 'ipv4', own: ' filter ', wantf: fixture('iptables-nft.save') }),
    files: () => [fixture('iptables-nft.save'), driftLive((s) => s.replace(':FORWARD DROP [0:0]', ':FORWARD ACCEPT [3:180]')
      .replace('-A DOCKER-USER -j RETURN\n', '-A DOCKER-USER -s 192.0.2.9 -j DROP\n-A DOCKER-USER -j RETURN\n')
      .replace(':PREROUTING ACCEPT [0:0]\n', ':PREROUTING ACCEPT [0:0]\n:OTHER - [0:0]\n'))],
    stdout: text(
      'drift: ipv4 filter chain FORWARD: policy is now: ACCEPT (confirmed: DROP)',
      'drift: ipv4 filter chain DOCKER-USER: 1 rule(s) not in the confirmed ruleset',
      '    + -A DOCKER-USER -s 192.0.2.9 -j DROP',
    ),
    status: 1,
  },
  {
    name: 'drift.awk (ipt): a live dump that failed or ended mid-table cannot be verified',
    program: 'drift.awk',
    vars: () => ({ kind: 'ipt', what: 'ipv6', fam: 'ipv6', own: ' ', wantf: fixture('iptables-nft.save') }),
    files: () => [fixture('iptables-nft.save'), driftLive((s) => s.slice(0, s.lastIndexOf('COMMIT')))],
    stdout: text('cannot verify: ipv6: the live ruleset could not be listed completely'),
    status: 3,
  },
  {
    name: 'drift.awk (ipt): the failure marker of a dump',
    program: 'drift.awk',
    vars: () => ({ kind: 'ipt', what: 'ipv4', fam: 'ipv4', own: ' ', wantf: fixture('iptables-nft.save') }),
    files: () => [fixture('iptables-nft.save'), file(text('#SFW-DUMP-FAILED'))],
    stdout: text('cannot verify: ipv4: the live ruleset could not be listed completely'),
    status: 3,
  },
  {
    name: 'drift.awk (ipset): a member deleted, another added; timeouts, initval and hashsize are no drift; foreign sets ignored',
    program: 'drift.awk',
    vars: () => ({ kind: 'ipset', what: 'ipset', wantf: fixture('ipset.save') }),
    files: () => [fixture('ipset.save'), file(fs.readFileSync(fixture('ipset.save'), 'utf8').replace('add sfw-peers-v4 192.0.2.7\n', 'add sfw-peers-v4 203.0.113.8\n')
      .replace('timeout 299', 'timeout 12').replace('initval 0xe6256bef', 'initval 0x1').replace('hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1', 'hashsize 2048 maxelem 65536 bucketsize 12 initval 0x1')
      .replace('add f2b-sshd 203.0.113.5\n', ''))],
    stdout: text(
      'drift: ipset set sfw-peers-v4: 1 member(s) missing',
      '    - 192.0.2.7',
      'drift: ipset set sfw-peers-v4: 1 member(s) not in the confirmed ruleset',
      '    + 203.0.113.8',
    ),
    status: 1,
  },
  {
    name: 'drift.awk (nft): elements of dynamic sets and expiry are no drift; a deleted element, a rule added, a policy changed are',
    program: 'drift.awk',
    vars: () => ({ kind: 'nft', what: 'nftables table inet stateful_firewall', wantf: NFT_WANT }),
    files: () => [NFT_WANT, file(fs.readFileSync(NFT_WANT, 'utf8').replace('elements = { 192.0.2.0/24, 198.51.100.7,\n\t\t\t     203.0.113.0/24 }', 'elements = { 192.0.2.0/24, 203.0.113.0/24 }')
      .replace('\t\tflags dynamic,timeout\n', '\t\tflags dynamic,timeout\n\t\telements = { 203.0.113.9 expires 3s, 203.0.113.10 }\n')
      .replace('policy drop;', 'policy accept;').replace('\t\ttcp dport 8080 accept comment "a {b} ${x}"\n', '\t\ttcp dport 8080 accept comment "a {b} ${x}"\n\t\ttcp dport 9090 accept\n'))],
    stdout: text(
      'drift: nftables table inet stateful_firewall set ops: 1 element(s) missing',
      '    - 198.51.100.7',
      'drift: nftables table inet stateful_firewall chain input: type is now: type filter hook input priority filter; policy accept; (confirmed: type filter hook input priority filter; policy drop;)',
      'drift: nftables table inet stateful_firewall chain input: 1 rule(s) not in the confirmed ruleset',
      '    + tcp dport 9090 accept',
    ),
    status: 1,
  },
  {
    name: 'drift.awk (nft): the table deleted',
    program: 'drift.awk',
    vars: () => ({ kind: 'nft', what: 'nftables table inet stateful_firewall', wantf: NFT_WANT }),
    files: () => [NFT_WANT, file('')],
    stdout: text('drift: nftables table inet stateful_firewall: missing (with 3 chain(s) or set(s), 8 line(s) in them)'),
    status: 1,
  },
  {
    name: 'drift.awk (nft, exclusive ruleset): a foreign table is drift',
    program: 'drift.awk',
    vars: () => ({ kind: 'nft', what: 'nftables ruleset', wantf: NFT_WANT }),
    files: () => [NFT_WANT, file(`${fs.readFileSync(NFT_WANT, 'utf8')}table ip nat {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tmasquerade\n\t}\n}\n`)],
    stdout: text('drift: nftables table ip nat: not in the confirmed ruleset (with 1 chain(s) or set(s), 1 line(s) in them)'),
    status: 1,
  },
  {
    name: 'drift.awk (nft): equal listings are in sync',
    program: 'drift.awk',
    vars: () => ({ kind: 'nft', what: 'nftables table inet stateful_firewall', wantf: NFT_WANT }),
    // (a copy: the live side is another file, stdin in the script)
    files: () => [NFT_WANT, file(fs.readFileSync(NFT_WANT, 'utf8'))],
    // the table, ops, meter4, input; 3 elements and 5 rules
    stdout: text('ok: nftables table inet stateful_firewall: as confirmed (4 chain(s), set(s) or table(s); 8 rule(s), member(s) or line(s))'),
  },

  // conntrack and ss
  {
    name: 'ct-seed.awk: established sockets conntrack does not know (opened before tracking, or IPv6 untracked), both ends',
    program: 'ct-seed.awk',
    vars: () => ({ ctf: fixture('conntrack.list') }),
    files: () => [fixture('conntrack.list'), fixture('ss-H.list')],
    // the fixture: 7001 (v4) and 7002 (v6) opened before tracking, 7003 tracked, 7004 (v6: no ip6tables rule tracks it)
    stdout: text('127.0.0.1 127.0.0.1 7001 53316', '127.0.0.1 127.0.0.1 53316 7001',
      '::1 ::1 7004 35392', '::1 ::1 7002 49014', '::1 ::1 35392 7004', '::1 ::1 49014 7002'),
  },
  {
    name: 'ct-seed.awk: IPv4-mapped and scoped addresses are reduced to what conntrack prints',
    program: 'ct-seed.awk',
    vars: () => ({ ctf: path.join(tmp, 'ct-empty') }),
    files: () => [file(''), file(text('0 0 [::ffff:192.0.2.1]:22 [::ffff:198.51.100.7]:50000', '0 0 [fe80::1%eth0]:22 [fe80::2%eth0]:40000', '0 0 garbage'))],
    // (the first file is ctf: the program tells them apart by FILENAME)
    stdout: text('198.51.100.7 192.0.2.1 50000 22', 'fe80::2 fe80::1 40000 22'),
  },
  ...([
    ['127.0.0.1', '7001', text('53316')],
    ['::1', '7002', text('49014')],
    ['127.0.0.1', '22', ''],
  ] as const).map(([client, port, want]): Case => ({
    name: `ssh-conns.awk: peer ports of connections from ${client} to local port ${port} (ss with its header)`,
    program: 'ssh-conns.awk',
    vars: () => ({ c: client, p: port }),
    files: () => [fixture('ss.list')],
    stdout: want,
  })),
  {
    name: 'ssh-conns.awk: an IPv4-mapped client',
    program: 'ssh-conns.awk',
    vars: () => ({ c: '192.0.2.1', p: '22' }),
    files: () => [file(text('Recv-Q Send-Q Local Address:Port Peer Address:Port Process', '0 0 [::ffff:10.0.0.1]:22 [::ffff:192.0.2.1]:51234', '0 0 10.0.0.1:22 192.0.2.10:4000'))],
    stdout: text('51234'),
  },

  // nftables
  ...([
    ['table inet web {', 'web'],
    ['  table inet fw{', 'fw'],
    ['table inet stateful_firewall;', 'stateful_firewall'],
  ] as const).map(([line, name]): Case => ({
    name: `nft-table-of.awk: "${line}" names ${name}`,
    program: 'nft-table-of.awk',
    files: () => [file(text('#!/usr/sbin/nft -f', '# web', line, '  chain input {', '  }', '}', 'table inet other {', '}'))],
    stdout: text(name),
  })),
  ...([
    ['a table of another family', text('table ip web {', '}')],
    ['no table', text('# nothing', 'define x = 1')],
  ] as const).map(([what, nft]): Case => ({
    name: `nft-table-of.awk: fails on ${what}`,
    program: 'nft-table-of.awk',
    files: () => [file(nft)],
    stdout: '',
    status: 1,
  })),
  {
    name: 'nft-shared.awk: the library\'s table (and elements added to its sets) passes',
    program: 'nft-shared.awk',
    vars: () => ({ name: 'web' }),
    files: () => [file(text('table inet web {', '  set peers4 {', '    type ipv4_addr', '    flags interval', '    elements = { 10.9.8.0/24 }', '  }',
      '  chain input {', '    type filter hook input priority filter + 10; policy accept;', '    ct state established,related accept',
      '    ip saddr @peers4 tcp dport 22 ct state new accept', '    counter reject', '  }', '}',
      'add element inet web peers4 { 192.0.2.7 }', 'flush set inet web peers4'))],
    stdout: '',
  },
  ...([
    ['another table', 'table ip filter {', /ruleset\.nft:1: only table inet web may be defined in shared mode/],
    ['include', 'include "/etc/nftables.d/x.nft"', /ruleset\.nft:1: include is not allowed in shared mode/],
    ['flush ruleset', 'flush ruleset', /ruleset\.nft:1: flush ruleset is not allowed in shared mode/],
    ['a statement on another table', 'add rule ip filter input accept', /ruleset\.nft:1: statement outside table inet web is not allowed in shared mode/],
    ['deleting another table', 'delete table inet other', /ruleset\.nft:1: statement outside table inet web/],
  ] as const).map(([what, line, error]): Case => ({
    name: `nft-shared.awk: refuses ${what}`,
    program: 'nft-shared.awk',
    vars: () => ({ name: 'web' }),
    files: () => [file(text(line, 'table inet web {', '}'))],
    stdout: '',
    status: 1,
    stderr: error,
  })),

  // systemd units
  ...([
    ['netfilter-persistent.service (Debian)', text('[Unit]', 'Description=netfilter persistent configuration', 'DefaultDependencies=no',
      'Wants=network-pre.target systemd-modules-load.service local-fs.target', 'Before=network-pre.target shutdown.target', '',
      '[Service]', 'Type=oneshot', 'RemainAfterExit=yes', 'ExecStart=/usr/sbin/netfilter-persistent start', '',
      '[Install]', 'WantedBy=multi-user.target'), text('multi-user.target.wants')],
    ['a unit with several targets', text('[Install]', 'WantedBy=sysinit.target  basic.target', 'RequiredBy=nftables.service', 'Alias=x.service'),
      text('sysinit.target.wants', 'basic.target.wants', 'nftables.service.requires')],
    ['a static unit (no [Install])', text('[Unit]', 'Description=x', 'Wants=a.target', '[Service]', 'ExecStart=/bin/true'), ''],
    ['WantedBy= outside [Install]', text('[Service]', 'WantedBy=multi-user.target', '[Install] ', 'Also=y.service'), ''],
  ] as const).map(([what, unit, want]): Case => ({
    name: `unit-wants.awk: ${what}`,
    program: 'unit-wants.awk',
    files: () => [file(unit)],
    stdout: want,
  })),
];

test('every awk program has unit tests here', () => {
  const programs = fs.readdirSync(AWK_DIR).filter((f) => f.endsWith('.awk')).sort();
  const all = [...CASES.map((c) => c.program), ...CASES.flatMap((c) => c.extra ?? [])];
  const tested = [...new Set(all.map((p) => path.relative(AWK_DIR, path.resolve(AWK_DIR, p))))].filter((p) => !p.startsWith('..')).sort();
  expect(tested).toEqual(programs);
});

describe.each(AWKS.map(([label, argv]) => [label, argv] as const))('%s', (_label, argv) => {
  // syntax (and, for gawk --posix, POSIX conformance): each program parses and runs on no input
  test.each(fs.readdirSync(AWK_DIR).filter((f) => f.endsWith('.awk')).sort())('%s parses (awk -f on empty input)', (program) => {
    const r = runAwk(argv, program, {}, ['/dev/null']);
    expect(r.stderr).toBe('');
    // nft-table-of and save-complete answer "no table" with status 1 on empty input
    expect([0, 1]).toContain(r.status);
  });

  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = runAwk(argv, c.program, c.vars?.() ?? {}, c.files(), c.extra);
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: c.status ?? 0, stdout: c.stdout });
    if (c.stderr === undefined) expect(r.stderr).toBe('');
    else expect(r.stderr).toMatch(c.stderr);
    for (const [f, want] of c.outFiles?.() ?? []) expect([f, fs.readFileSync(f, 'utf8')]).toEqual([f, want]);
  });
});
