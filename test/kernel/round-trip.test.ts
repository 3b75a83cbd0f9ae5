import { execFileSync } from 'child_process';
import { buildApp } from '../../examples/webserver/main';
import { StatefulHost } from '../../src';
import { CompiledRuleset, ConntrackHelper, HostPolicy, IpFamily, OverLimitAction, Peer, Port, RateUnit } from '../../src/core';
import { canUseNetns, normalizeIpsetSave, normalizeIptablesSave, nsExec, nsRun } from '../support/kernel';
import { randomPolicy, randomPolicyWithSets } from '../support/random-policy';

// Every rendered ruleset must be accepted by the kernel's tools and read back exactly
// as rendered (headers and counters aside), for iptables-nft, iptables-legacy and nft.
// Policies with long peer and port lists use sets: `sets.ipset` is restored first (as the
// apply script does) and read back with `ipset save` (the kernel's hash seed and bucket
// size, and the hash order of the elements, aside).

const GENERATED_SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i);
const SET_SEEDS = Array.from({ length: 20 }, (_, i) => 2000 + i);

const V4_AND_V6 = [Peer.ipv4('192.0.2.0/24'), Peer.ipv6('2001:db8:1::/48')];
/** 20 single UDP ports and a range: more than iptables' multiport takes in one rule (15). */
const MANY_UDP = [...Array.from({ length: 20 }, (_, i) => Port.udp(5000 + 2 * i)), Port.udpRange(7000, 7010)];
const SYN_CAP = { rate: 100, unit: RateUnit.SECOND, burst: 200 };

/** Policies for the renderer features the generated ones do not reach: notrack (raw table) and the syn-flood cap. */
function explicitCases(): [string, CompiledRuleset][] {
  const compile = (name: string, policy: Omit<HostPolicy, 'name'>): [string, CompiledRuleset] =>
    [`explicit: ${name}`, CompiledRuleset.compile({ name: 'rt', origin: 'rt', ...policy })];
  const dns = { origin: 'rt/Dns', ports: [Port.udp(53), Port.tcp(53)], notrack: true };
  return [
    compile('notrack tcp and udp from anyone', { allowances: [{ ...dns, peers: [Peer.any()] }] }),
    compile('notrack tcp and udp from a v4 and a v6 cidr', { allowances: [{ ...dns, peers: V4_AND_V6 }] }),
    compile('notrack, more than 15 ports in multiport chunks', {
      setThreshold: Infinity,
      allowances: [{ origin: 'rt/Many', ports: [...MANY_UDP, Port.tcp(9000)], peers: V4_AND_V6, notrack: true }],
    }),
    compile('notrack, port and address sets', {
      setThreshold: 0,
      allowances: [{ origin: 'rt/Many', ports: [...MANY_UDP, Port.tcp(9000)], peers: [...V4_AND_V6, Peer.ipv4('198.51.100.7')], notrack: true }],
    }),
    compile('notrack next to tracked services, under outbound filtering', {
      allowances: [{ ...dns, peers: V4_AND_V6 }, { origin: 'rt/Web', ports: [Port.tcp(443)], peers: [Peer.any()] }],
      outbound: { allowances: [{ origin: 'rt/Out', ports: [Port.tcp(443)], peers: [Peer.any()] }] },
    }),
    compile('syn-flood cap on tcp, both families', {
      allowances: [{ origin: 'rt/Web', ports: [Port.tcp(80), Port.tcp(443), Port.udp(443)], peers: [Peer.any()], limits: { synFloodLimit: SYN_CAP } }],
    }),
    compile('syn-flood cap, reject, cidrs of both families, 20 tcp ports in multiport chunks', {
      setThreshold: Infinity,
      allowances: [{
        origin: 'rt/Web',
        ports: Array.from({ length: 20 }, (_, i) => Port.tcp(8000 + 3 * i)),
        peers: [...V4_AND_V6, Peer.ipv4('198.51.100.0/24'), Peer.ipv6('2001:db8:2::/48')],
        limits: { synFloodLimit: { rate: 30, unit: RateUnit.MINUTE }, overLimitAction: OverLimitAction.REJECT },
      }],
    }),
    compile('syn-flood cap with per-source limits, and a port set', {
      setThreshold: 0,
      allowances: [{
        origin: 'rt/Ssh',
        ports: [Port.tcp(22), Port.tcp(2222)],
        peers: V4_AND_V6,
        limits: { synFloodLimit: SYN_CAP, newConnectionsPerSource: { rate: 10, unit: RateUnit.MINUTE, burst: 5 }, concurrentPerSource: 4 },
      }],
    }),
    compile('notrack and an FTP helper, under outbound filtering', {
      allowances: [
        { ...dns, peers: V4_AND_V6 },
        { origin: 'rt/Ftp', ports: [Port.tcp(21)], peers: [Peer.ipv4('198.51.100.0/24'), Peer.ipv6('2001:db8:2::/48')], helper: ConntrackHelper.FTP },
      ],
      outbound: { allowances: [] },
    }),
  ];
}

function cases(): [string, CompiledRuleset][] {
  const app = buildApp(process.env.TMPDIR);
  const hosts = app.node.findAll().filter(StatefulHost.isStatefulHost);
  return [
    ...hosts.map((h): [string, CompiledRuleset] => [`example ${h.node.path}`, h.ruleset]),
    ...explicitCases(),
    ...GENERATED_SEEDS.map((seed): [string, CompiledRuleset] => [`generated seed ${seed}`, CompiledRuleset.compile(randomPolicy(seed, 25))]),
    ...SET_SEEDS.map((seed): [string, CompiledRuleset] => [`generated with sets, seed ${seed}`, CompiledRuleset.compile(randomPolicyWithSets(seed, 25))]),
  ];
}

const VARIANTS = [
  { name: 'iptables-nft', v4: ['iptables-restore', 'iptables-save'], v6: ['ip6tables-restore', 'ip6tables-save'] },
  { name: 'iptables-legacy', v4: ['iptables-legacy-restore', 'iptables-legacy-save'], v6: ['ip6tables-legacy-restore', 'ip6tables-legacy-save'] },
];

const EMPTY_FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
const EMPTY_RAW = '*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

const describeKernel = canUseNetns() ? describe : describe.skip;

describeKernel('rendered rulesets round-trip through the kernel', () => {
  const ns = `sfw-rt-${process.pid}`;
  const all = cases();

  /** No rule refers to a set any more, then no set is left. */
  function clear(): void {
    nsExec(ns, ['nft', 'flush', 'ruleset']);
    for (const restore of ['iptables-legacy-restore', 'ip6tables-legacy-restore']) nsExec(ns, [restore], EMPTY_FILTER + EMPTY_RAW);
    nsExec(ns, ['ipset', 'destroy']);
  }

  beforeAll(() => execFileSync('ip', ['netns', 'add', ns]));
  afterAll(() => execFileSync('ip', ['netns', 'del', ns]));

  test('the explicit cases hold notrack and helper rules in the raw table, syn-flood caps in both families, multiport chunks', () => {
    const explicit = new Map(all.filter(([name]) => name.startsWith('explicit: ')).map(([name, r]) => [name.slice('explicit: '.length), r]));
    const v4 = (name: string) => explicit.get(name)!.toIptablesRestore(IpFamily.IPV4);
    const lines = (text: string, pattern: RegExp) => text.split('\n').filter((l) => pattern.test(l)).length;
    const raw = (text: string) => text.slice(text.indexOf('*raw'));
    const mixed = raw(v4('notrack and an FTP helper, under outbound filtering'));
    expect([lines(mixed, /-j CT --notrack$/), lines(mixed, /-j CT --helper ftp$/)]).toEqual([4, 1]);
    // 20 single ports and a range (counting 2) take two multiport rules in each raw chain
    expect(lines(raw(v4('notrack, more than 15 ports in multiport chunks')), /-p udp .*-m multiport --[ds]ports .*-j CT --notrack$/)).toBe(4);
    // 20 tcp ports, two peers per family: two chunks per peer, each capped by the one shared hashlimit
    const capped = v4('syn-flood cap, reject, cidrs of both families, 20 tcp ports in multiport chunks');
    expect(lines(capped, /-m multiport --dports .* --hashlimit-name sfw-s4-\w+ .*-j REJECT --reject-with tcp-reset$/)).toBe(4);
    expect(new Set(capped.match(/sfw-s4-\w+/g)).size).toBe(1);
    const both = explicit.get('syn-flood cap on tcp, both families')!;
    expect([both.toIptablesRestore(IpFamily.IPV4), both.toIptablesRestore(IpFamily.IPV6)].map((t) => lines(t, /--hashlimit-name sfw-s[46]-/))).toEqual([1, 1]);
    // nftables: one limit object per family, named by the rule that accepts under it (the over-limit action follows)
    expect(lines(both.toNftables(), /^\s+rate 100\/second burst 200 packets$/)).toBe(2);
    expect(lines(both.toNftables(), /limit name "sfw-s[46]-[0-9a-f]+" accept/)).toBe(2);
  });

  test('some generated policies use address sets and port sets, in both families', () => {
    const sets = all.flatMap(([, r]) => r.model.sets ?? []);
    expect(sets.some((s) => s.kind === 'address' && s.family === IpFamily.IPV4)).toBe(true);
    expect(sets.some((s) => s.kind === 'address' && s.family === IpFamily.IPV6)).toBe(true);
    expect(sets.some((s) => s.kind === 'port')).toBe(true);
    expect(sets.some((s) => s.ipsetType === 'hash:net') && sets.some((s) => s.ipsetType === 'hash:ip')).toBe(true);
  });

  for (const variant of VARIANTS) {
    test.each(all)(`${variant.name}: %s`, (_name, ruleset) => {
      clear();
      const sets = ruleset.toIpset();
      if (sets !== '') {
        nsExec(ns, ['ipset', 'restore'], sets);
        expect(normalizeIpsetSave(nsExec(ns, ['ipset', 'save']))).toBe(normalizeIpsetSave(sets));
      }
      for (const family of [IpFamily.IPV4, IpFamily.IPV6]) {
        const [restore, save] = family === IpFamily.IPV4 ? variant.v4 : variant.v6;
        const text = ruleset.toIptablesRestore(family);
        const check = nsRun(ns, [restore, '--test'], text);
        expect(check.stderr).toBe('');
        expect(check.status).toBe(0);
        nsExec(ns, [restore], text);
        // the tables rendered (filter, and raw for notrack and helpers), in the rendered order
        const tables = [...text.matchAll(/^\*(\w+)$/gm)].map((m) => m[1]);
        const live = tables.map((table) => nsExec(ns, [save, '-t', table])).join('');
        expect(normalizeIptablesSave(live)).toBe(normalizeIptablesSave(text));
      }
    });
  }

  test.each(all)('nftables: %s', (_name, ruleset) => {
    const text = ruleset.toNftables();
    nsExec(ns, ['nft', 'flush', 'ruleset']);
    const check = nsRun(ns, ['nft', '-c', '-f', '-'], text);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    nsExec(ns, ['nft', '-f', '-'], text);
    expect(nsExec(ns, ['nft', 'list', 'table', 'inet', 'stateful_firewall'])).toBe(text);
  });
});
