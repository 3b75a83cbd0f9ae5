import { CompiledRuleset, IpFamily, Peer, Port, Verdict } from '../../../../src/core';
import { chunkPorts, iptablesLayout } from '../../../../src/core/backends/iptables/iptables-layout';

describe('chunkPorts', () => {
  const ports = (n: number) => Array.from({ length: n }, (_, i) => ({ from: 1000 + i * 10, to: 1000 + i * 10 }));

  test('15 single ports fit one multiport rule, 16 need two', () => {
    expect(chunkPorts(ports(15))).toHaveLength(1);
    expect(chunkPorts(ports(16)).map((c) => c.length)).toEqual([15, 1]);
  });

  test('a range takes two slots', () => {
    const ranges = Array.from({ length: 8 }, (_, i) => ({ from: 1000 + i * 10, to: 1005 + i * 10 }));
    expect(chunkPorts(ranges).map((c) => c.length)).toEqual([7, 1]);
    expect(chunkPorts([...ports(14), { from: 2000, to: 2001 }]).map((c) => c.length)).toEqual([14, 1]);
  });
});

describe('iptablesLayout', () => {
  const ruleset = CompiledRuleset.compile({
    name: 'h',
    origin: 's/h',
    setThreshold: Infinity, // lists stay in the rules (no ipsets)
    allowances: [
      { origin: 's/h/Web', ports: Array.from({ length: 20 }, (_, i) => Port.tcp(8000 + i * 2)), peers: [Peer.any()] },
      { origin: 's/h/Admin', ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.1'), Peer.ipv4('198.51.100.0/24'), Peer.ipv6('2001:db8::1')] },
    ],
  });

  test('the built-in INPUT chain only jumps to the library chain', () => {
    const filter = iptablesLayout(ruleset.model, IpFamily.IPV4).tables[0];
    expect(filter.chains.map((c) => c.name)).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'SFW-INPUT']);
    expect(filter.chains[0].rules).toEqual([{ match: {}, verdict: Verdict.JUMP, target: 'SFW-INPUT', origins: [] }]);
  });

  test('lists are expanded per source element and multiport chunk, per family', () => {
    const v4 = iptablesLayout(ruleset.model, IpFamily.IPV4).tables[0].chains[3].rules;
    const v6 = iptablesLayout(ruleset.model, IpFamily.IPV6).tables[0].chains[3].rules;
    const web = (rules: typeof v4) => rules.filter((r) => r.origins.includes('s/h/Web'));
    const admin = (rules: typeof v4) => rules.filter((r) => r.origins.includes('s/h/Admin'));
    expect(web(v4).map((r) => r.match.destinationPorts!.length)).toEqual([15, 5]);
    expect(web(v6)).toHaveLength(2);
    expect(admin(v4).map((r) => r.match.source!.elements)).toEqual([['192.0.2.1/32'], ['198.51.100.0/24']]);
    expect(admin(v6).map((r) => r.match.source!.elements)).toEqual([['2001:db8::1/128']]);
    expect([...v4, ...v6].every((r) => r.match.family === undefined)).toBe(true);
  });
});

describe('iptablesLayout with sets', () => {
  const ruleset = CompiledRuleset.compile({
    name: 'h',
    origin: 's/h',
    allowances: [
      { origin: 's/h/Web', ports: Array.from({ length: 20 }, (_, i) => Port.tcp(8000 + i * 2)), peers: [Peer.any()] },
      { origin: 's/h/Admin', ports: [Port.SSH], peers: [...Array.from({ length: 9 }, (_, i) => Peer.ipv4(`192.0.2.${i * 2 + 1}`)), Peer.ipv6('2001:db8::1')] },
    ],
  });

  test('a set stays one match: one rule per list, whatever its length', () => {
    const v4 = iptablesLayout(ruleset.model, IpFamily.IPV4);
    const rules = v4.tables[0].chains[3].rules;
    const web = rules.filter((r) => r.origins.includes('s/h/Web'));
    const admin = rules.filter((r) => r.origins.includes('s/h/Admin'));
    expect(web).toHaveLength(1);
    expect(web[0].match.destinationPortSet).toMatch(/^sfw-p-Web-[0-9a-f]{6}$/);
    expect(admin).toHaveLength(1);
    expect(admin[0].match.source).toEqual({ set: expect.stringMatching(/^sfw-4i-Admin-[0-9a-f]{6}$/) });
    // only the sets this family's rules use
    expect(v4.sets!.map((s) => s.name).sort()).toEqual([admin[0].match.source!.set, web[0].match.destinationPortSet].sort());
    const v6 = iptablesLayout(ruleset.model, IpFamily.IPV6);
    expect(v6.sets!.map((s) => s.name)).toEqual([web[0].match.destinationPortSet]);
    expect(v6.tables[0].chains[3].rules.find((r) => r.origins.includes('s/h/Admin'))!.match.source).toEqual({ elements: ['2001:db8::1/128'] });
  });
});
