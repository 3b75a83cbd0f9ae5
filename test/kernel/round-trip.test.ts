import { execFileSync } from 'child_process';
import { buildApp } from '../../examples/webserver/main';
import { StatefulHost } from '../../src';
import { CompiledRuleset, IpFamily } from '../../src/engine';
import { canUseNetns, normalizeIpsetSave, normalizeIptablesSave, nsExec, nsRun } from '../support/kernel';
import { randomPolicy, randomPolicyWithSets } from '../support/random-policy';

// Every rendered ruleset must be accepted by the kernel's tools and read back exactly
// as rendered (headers and counters aside), for iptables-nft, iptables-legacy and nft.
// Policies with long peer and port lists use sets: `sets.ipset` is restored first (as the
// apply script does) and read back with `ipset save` (the kernel's hash seed and bucket
// size, and the hash order of the elements, aside).

const GENERATED_SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i);
const SET_SEEDS = Array.from({ length: 20 }, (_, i) => 2000 + i);

function cases(): [string, CompiledRuleset][] {
  const app = buildApp(process.env.TMPDIR);
  const hosts = app.node.findAll().filter(StatefulHost.isStatefulHost);
  return [
    ...hosts.map((h): [string, CompiledRuleset] => [`example ${h.node.path}`, h.ruleset]),
    ...GENERATED_SEEDS.map((seed): [string, CompiledRuleset] => [`generated seed ${seed}`, CompiledRuleset.compile(randomPolicy(seed, 25))]),
    ...SET_SEEDS.map((seed): [string, CompiledRuleset] => [`generated with sets, seed ${seed}`, CompiledRuleset.compile(randomPolicyWithSets(seed, 25))]),
  ];
}

const VARIANTS = [
  { name: 'iptables-nft', v4: ['iptables-restore', 'iptables-save'], v6: ['ip6tables-restore', 'ip6tables-save'] },
  { name: 'iptables-legacy', v4: ['iptables-legacy-restore', 'iptables-legacy-save'], v6: ['ip6tables-legacy-restore', 'ip6tables-legacy-save'] },
];

const EMPTY_FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

const describeKernel = canUseNetns() ? describe : describe.skip;

describeKernel('rendered rulesets round-trip through the kernel', () => {
  const ns = `sfw-rt-${process.pid}`;
  const all = cases();

  /** No rule refers to a set any more, then no set is left. */
  function clear(): void {
    nsExec(ns, ['nft', 'flush', 'ruleset']);
    for (const restore of ['iptables-legacy-restore', 'ip6tables-legacy-restore']) nsExec(ns, [restore], EMPTY_FILTER);
    nsExec(ns, ['ipset', 'destroy']);
  }

  beforeAll(() => execFileSync('ip', ['netns', 'add', ns]));
  afterAll(() => execFileSync('ip', ['netns', 'del', ns]));

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
        const live = nsExec(ns, [save, '-t', 'filter']);
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
