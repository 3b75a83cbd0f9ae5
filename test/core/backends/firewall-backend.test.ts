import { Backend, CompiledRuleset, HostPolicy, IpFamily, OverLimitAction, Packet, Peer, Port, Verdict } from '../../../src/core';
import { backendFor, isBackend } from '../../../src/core/backends/registry';
import { deployedModel } from '../../../src/core/diff/semantic-diff';

// The backends as objects: one per Backend, owning its files, layout, rule count and what
// it cannot express; an unknown backend name is an error everywhere, never another backend.

const policy: HostPolicy = {
  name: 'web',
  origin: 'app/web',
  allowances: [
    { origin: 'app/web/Ssh', ports: [Port.SSH], peers: [Peer.ipv4('198.51.100.0/24')] },
    { origin: 'app/web/Web', ports: [Port.HTTPS], peers: Array.from({ length: 12 }, (_, i) => Peer.ipv4(`203.0.113.${i * 2 + 1}`)) },
  ],
};

/** A declaration with a connection limit on 16 single TCP ports: more than one multiport rule holds. */
function limited(setThreshold?: number): HostPolicy {
  return {
    name: 'web',
    origin: 'app/web',
    setThreshold,
    allowances: [{
      origin: 'app/web/Game',
      ports: Array.from({ length: 16 }, (_, i) => Port.tcp(7000 + i * 2)),
      peers: [Peer.any()],
      limits: { concurrentPerSource: 4, overLimitAction: OverLimitAction.REJECT },
    }],
  };
}

describe('the backend registry', () => {
  const ruleset = CompiledRuleset.compile(policy);

  test.each(Object.values(Backend))('%s: one object, whose files are the ones it names', (b) => {
    const backend = backendFor(b);
    expect(backend.id).toBe(b);
    const files = ruleset.files(b);
    expect(Object.keys(files).every((n) => backend.fileNames.includes(n))).toBe(true);
    expect(Object.keys(files).length).toBeGreaterThan(0);
    // the laid-out model is the one the ruleset caches and the simulator evaluates
    for (const family of [IpFamily.IPV4, IpFamily.IPV6]) expect(backend.deployedModel(ruleset, family)).toBe(backend.deployedModel(ruleset, family));
  });

  test('the iptables files hold both families and the sets; nftables one table', () => {
    expect(Object.keys(ruleset.files(Backend.IPTABLES))).toEqual(['rules.v4', 'rules.v6', 'sets.ipset']);
    expect(Object.keys(ruleset.files(Backend.NFTABLES, 'edge'))).toEqual(['ruleset.nft']);
    expect(ruleset.files(Backend.NFTABLES, 'edge')['ruleset.nft']).toContain('table inet edge {');
  });

  test('the rule count follows the backend: iptables counts its own chains, nftables what a packet can meet', () => {
    const own = (f: IpFamily) => ruleset.iptablesModel(f).tables.flatMap((t) => t.chains)
      .filter((c) => !c.hook).reduce((n, c) => n + c.rules.length, 0);
    expect(ruleset.ruleCount(Backend.IPTABLES, IpFamily.IPV4)).toBe(own(IpFamily.IPV4));
    expect(ruleset.ruleCount(Backend.IPTABLES, IpFamily.IPV6)).toBe(own(IpFamily.IPV6));
    // nftables: one table for both families; a packet of one family never meets the chains only the other reaches
    const table = ruleset.nftablesModel().tables.flatMap((t) => t.chains).reduce((n, c) => n + c.rules.length, 0);
    expect(ruleset.ruleCount(Backend.NFTABLES, IpFamily.IPV4)).toBeLessThan(table);
    expect(ruleset.ruleCount(Backend.NFTABLES, IpFamily.IPV6)).toBeLessThan(table);
  });

  test('an unknown backend name is an error, not iptables or nftables', () => {
    expect(isBackend('nft')).toBe(false);
    expect(() => backendFor('nft')).toThrow("unknown backend 'nft': use Backend.IPTABLES ('iptables') or Backend.NFTABLES ('nftables')");
    expect(() => ruleset.files('nft' as Backend)).toThrow("unknown backend 'nft'");
    expect(() => ruleset.ruleCount('nft' as Backend, IpFamily.IPV4)).toThrow("unknown backend 'nft'");
    // the simulator used to evaluate an unknown backend as nftables
    expect(() => ruleset.simulate(Packet.tcp({ from: '198.51.100.1', port: 22 }), 'nft' as Backend)).toThrow("unknown backend 'nft'");
    // a model.json of an unknown backend: the diff used to read it as iptables
    expect(() => deployedModel({ stack: 's', hostName: 'web', path: 's/web', backend: 'pf', model: ruleset.model }, IpFamily.IPV4)).toThrow("unknown backend 'pf'");
  });

  test('the default (no backend) is iptables for the simulator', () => {
    const packet = Packet.tcp({ from: '198.51.100.1', port: 22 });
    expect(ruleset.simulate(packet)).toEqual(ruleset.simulate(packet, Backend.IPTABLES));
    expect(ruleset.simulate(packet).verdict).toBe(Verdict.ACCEPT);
  });
});

describe('what a backend cannot express', () => {
  test('iptables: a connection limit whose ports need several multiport rules (connlimit counts per rule)', () => {
    const model = CompiledRuleset.compile(limited(Infinity)).model;
    expect(backendFor(Backend.IPTABLES).supports({ model })).toEqual([
      'app/web/Game: concurrentPerSource is counted per iptables rule, and its 16 tcp ports need 2 rules (multiport holds 15 ports, a range counting two), '
      + 'so each rule would allow 4 connections of its own: lower the host\'s setThreshold below 16 (the ports then go into one port set), '
      + 'declare fewer ports or ranges, or use Backend.NFTABLES',
    ]);
    // nftables counts in one named set whatever the rules that add to it
    expect(backendFor(Backend.NFTABLES).supports({ model })).toEqual([]);
  });

  test('iptables: the same limit with the ports in one port set (the default threshold) is one rule', () => {
    const ruleset = CompiledRuleset.compile(limited());
    expect(ruleset.model.sets?.map((s) => s.kind)).toEqual(['port']);
    expect(backendFor(Backend.IPTABLES).supports({ model: ruleset.model })).toEqual([]);
  });

  test('iptables: a limit on 15 ports (one multiport rule) is fine', () => {
    const p = limited(Infinity);
    const model = CompiledRuleset.compile({ ...p, allowances: [{ ...p.allowances[0], ports: p.allowances[0].ports.slice(0, 15) }] }).model;
    expect(backendFor(Backend.IPTABLES).supports({ model })).toEqual([]);
  });

  test('the table name: iptables has none, nftables takes names nft accepts', () => {
    expect(backendFor(Backend.IPTABLES).supports({ nftTableName: 'fw' })).toEqual(["nftTableName 'fw' needs backend: Backend.NFTABLES (iptables keeps its rules in SFW-* chains)"]);
    expect(backendFor(Backend.NFTABLES).supports({ nftTableName: 'fw' })).toEqual([]);
    expect(backendFor(Backend.NFTABLES).supports({})).toEqual([]);
    expect(backendFor(Backend.NFTABLES).supports({ nftTableName: 'my-fw' })).toEqual(["nftTableName 'my-fw' is not a name nft accepts: use a letter, then up to 63 letters, digits or '_'"]);
  });
});
