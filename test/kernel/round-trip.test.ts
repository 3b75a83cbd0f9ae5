import { execFileSync } from 'child_process';
import { buildApp } from '../../examples/webserver/main';
import { StatefulHost } from '../../src';
import { CompiledRuleset, IpFamily } from '../../src/engine';
import { canUseNetns, normalizeIptablesSave, nsExec, nsRun } from '../support/kernel';
import { randomPolicy } from '../support/random-policy';

// Every rendered ruleset must be accepted by the kernel's tools and read back exactly
// as rendered (headers and counters aside), for iptables-nft, iptables-legacy and nft.

const GENERATED_SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i);

function cases(): [string, CompiledRuleset][] {
  const app = buildApp(process.env.TMPDIR);
  const hosts = app.node.findAll().filter(StatefulHost.isStatefulHost);
  return [
    ...hosts.map((h): [string, CompiledRuleset] => [`example ${h.node.path}`, h.ruleset]),
    ...GENERATED_SEEDS.map((seed): [string, CompiledRuleset] => [`generated seed ${seed}`, CompiledRuleset.compile(randomPolicy(seed, 25))]),
  ];
}

const VARIANTS = [
  { name: 'iptables-nft', v4: ['iptables-restore', 'iptables-save'], v6: ['ip6tables-restore', 'ip6tables-save'] },
  { name: 'iptables-legacy', v4: ['iptables-legacy-restore', 'iptables-legacy-save'], v6: ['ip6tables-legacy-restore', 'ip6tables-legacy-save'] },
];

const describeKernel = canUseNetns() ? describe : describe.skip;

describeKernel('rendered rulesets round-trip through the kernel', () => {
  const ns = `sfw-rt-${process.pid}`;
  const all = cases();

  beforeAll(() => execFileSync('ip', ['netns', 'add', ns]));
  afterAll(() => execFileSync('ip', ['netns', 'del', ns]));

  for (const variant of VARIANTS) {
    test.each(all)(`${variant.name}: %s`, (_name, ruleset) => {
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
