import {
  Backend, CompiledRuleset, ConnectionState, DefaultAction, IpFamily, Peer, Port, Protocol, RejectWith, Rule, Verdict,
} from '../../../src/core';
import { compileHostPolicy } from '../../../src/core/compile/compile';

type Decl = { ports: Port[]; peers: Peer[]; origin?: string };

function inputRules(allowances: Decl[], extra: { defaultAction?: DefaultAction; allowPing?: boolean } = {}): Rule[] {
  const model = compileHostPolicy({
    name: 'h',
    origin: 'stack/h',
    allowances: allowances.map((a, i) => ({ origin: a.origin ?? `stack/h/A${i}`, ports: a.ports, peers: a.peers })),
    ...extra,
  });
  return model.tables[0].chains[0].rules;
}

const openings = (rules: Rule[]) =>
  rules.filter((r) => r.match.states?.length === 1 && r.match.states[0] === ConnectionState.NEW && r.match.icmpTypes === undefined);

describe('compileHostPolicy', () => {
  test('baseline order: established first, loopback, invalid, the ICMPv6 essentials, then openings, then the default action', () => {
    const rules = inputRules([{ ports: [Port.HTTP], peers: [Peer.any()] }]);
    expect(rules[0]).toMatchObject({ match: { states: [ConnectionState.ESTABLISHED, ConnectionState.RELATED] }, verdict: Verdict.ACCEPT });
    expect(rules[1]).toMatchObject({ match: { inInterface: 'lo' }, verdict: Verdict.ACCEPT });
    expect(rules[2]).toMatchObject({ match: { states: [ConnectionState.INVALID] }, verdict: Verdict.DROP });
    expect(rules[3]).toMatchObject({ match: { protocol: Protocol.ICMPV6, icmpTypes: [133, 134, 135, 136], hopLimit: 255 }, verdict: Verdict.ACCEPT });
    expect(rules[4]).toMatchObject({ match: { protocol: Protocol.ICMPV6, icmpTypes: [130, 131, 132, 143] }, verdict: Verdict.ACCEPT });
    expect(rules[5].match).toMatchObject({
      protocol: Protocol.TCP, states: [ConnectionState.NEW], tcpSynOnly: true, destinationPorts: [{ from: 80, to: 80 }],
    });
    expect(rules[rules.length - 2]).toMatchObject({ match: { protocol: Protocol.TCP }, verdict: Verdict.REJECT, rejectWith: RejectWith.TCP_RESET });
    expect(rules[rules.length - 1]).toMatchObject({ match: {}, verdict: Verdict.REJECT, rejectWith: RejectWith.PORT_UNREACHABLE });
  });

  test('every opening matches NEW only, and TCP only a SYN', () => {
    const rules = inputRules([{ ports: [Port.SSH, Port.DNS_UDP], peers: [Peer.ipv4('192.0.2.0/24')] }]);
    for (const r of rules.filter((x) => x.verdict === Verdict.ACCEPT && x.match.protocol && x.match.protocol !== Protocol.ICMPV6)) {
      expect(r.match.states).toEqual([ConnectionState.NEW]);
      expect(r.match.tcpSynOnly).toBe(r.match.protocol === Protocol.TCP ? true : undefined);
    }
  });

  test('Peer.any() yields one family-less rule; IPv4-only peers yield no IPv6 rule', () => {
    const rules = openings(inputRules([
      { ports: [Port.HTTPS], peers: [Peer.any()] },
      { ports: [Port.SSH], peers: [Peer.ipv4('198.51.100.7')] },
    ]));
    expect(rules).toHaveLength(2);
    expect(rules[0].match.family).toBeUndefined();
    expect(rules[0].match.source).toBeUndefined();
    expect(rules[1].match).toMatchObject({ family: IpFamily.IPV4, source: { elements: ['198.51.100.7/32'] } });
  });

  test('ports of one protocol and peer set merge; peers merge', () => {
    const rules = openings(inputRules([
      { ports: [Port.HTTP], peers: [Peer.any()] },
      { ports: [Port.HTTPS], peers: [Peer.anyIpv4(), Peer.anyIpv6()] },
      { ports: [Port.SSH], peers: [Peer.ipv4('10.9.8.7'), Peer.ipv4('10.9.8.8'), Peer.ipv4('10.9.8.9'), Peer.ipv4('10.9.8.10')] },
      { ports: [Port.SSH], peers: [Peer.ipv4('10.9.8.8')] },
      { ports: [Port.tcp(2222)], peers: [Peer.ipv4Range('10.9.8.7', '10.9.8.10')] },
    ]));
    expect(rules.map((r) => [r.match.family, r.match.source?.elements, r.match.destinationPorts])).toEqual([
      [undefined, undefined, [{ from: 80, to: 80 }, { from: 443, to: 443 }]],
      [IpFamily.IPV4, ['10.9.8.7-10.9.8.10'], [{ from: 22, to: 22 }, { from: 2222, to: 2222 }]],
    ]);
    expect(rules[1].origins).toEqual(['stack/h/A2', 'stack/h/A3', 'stack/h/A4']);
  });

  test('adjacent CIDRs aggregate and contained ones disappear', () => {
    const rules = openings(inputRules([
      {
        ports: [Port.SSH],
        peers: [
          Peer.ipv4('192.0.2.0/25'), Peer.ipv4('192.0.2.128/25'), Peer.ipv4('192.0.2.7'),
          Peer.ipv6('2001:db8::/48'), Peer.ipv6('2001:db8:0:1::/64'),
        ],
      },
    ]));
    expect(rules.map((r) => r.match.source?.elements)).toEqual([['192.0.2.0/24'], ['2001:db8::/48']]);
  });

  test('wider peer sets come first', () => {
    const rules = openings(inputRules([
      { ports: [Port.tcp(1000)], peers: [Peer.ipv4('192.0.2.1')] },
      { ports: [Port.tcp(2000)], peers: [Peer.ipv4('10.0.0.0/8')] },
      { ports: [Port.tcp(3000)], peers: [Peer.anyIpv4()] },
    ]));
    expect(rules.map((r) => r.match.destinationPorts![0].from)).toEqual([3000, 2000, 1000]);
  });

  test('ICMP ports go to their own family only', () => {
    const rules = inputRules([{ ports: [Port.icmpTypeAndCode(3, 4), Port.icmpv6Type(1)], peers: [Peer.any()] }], { allowPing: false });
    const icmp = rules.filter((r) => r.match.states?.[0] === ConnectionState.NEW);
    expect(icmp.map((r) => [r.match.family, r.match.protocol, r.match.icmpTypes, r.match.icmpCode])).toEqual([
      [IpFamily.IPV4, Protocol.ICMP, [3], 4],
      [IpFamily.IPV6, Protocol.ICMPV6, [1], undefined],
    ]);
  });

  test('IPv6 neighbour discovery is always accepted, stateless, with hop limit 255', () => {
    const rules = inputRules([]);
    const nd = rules.find((r) => r.match.icmpTypes?.includes(135));
    expect(nd).toMatchObject({
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, icmpTypes: [133, 134, 135, 136], hopLimit: 255 },
      verdict: Verdict.ACCEPT,
    });
    expect(nd!.match.states).toBeUndefined();
  });

  test('ping is on by default and can be switched off', () => {
    expect(inputRules([]).filter((r) => r.comment === 'ping')).toHaveLength(2);
    expect(inputRules([], { allowPing: false }).filter((r) => r.comment === 'ping')).toHaveLength(0);
  });

  test.each([
    [DefaultAction.DROP, [[undefined, Verdict.DROP, undefined]]],
    [DefaultAction.REJECT_HOST_PROHIBITED, [
      [IpFamily.IPV4, Verdict.REJECT, RejectWith.HOST_PROHIBITED],
      [IpFamily.IPV6, Verdict.REJECT, RejectWith.HOST_PROHIBITED],
    ]],
  ])('default action %s', (action, expected) => {
    const rules = inputRules([], { defaultAction: action });
    const tail = rules.slice(rules.length - expected.length);
    expect(tail.map((r) => [r.match.family, r.verdict, r.rejectWith])).toEqual(expected);
  });

  test('the output does not depend on declaration order', () => {
    const decls = [
      { ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.1')], origin: 'a' },
      { ports: [Port.HTTP, Port.HTTPS], peers: [Peer.any()], origin: 'b' },
      { ports: [Port.udpRange(6000, 6100)], peers: [Peer.ipv6('2001:db8::/64')], origin: 'c' },
    ];
    const forward = CompiledRuleset.compile({ name: 'h', allowances: decls });
    const backward = CompiledRuleset.compile({ name: 'h', allowances: [...decls].reverse() });
    expect(backward.toNftables()).toBe(forward.toNftables());
    expect(backward.toIptablesRestore(IpFamily.IPV6)).toBe(forward.toIptablesRestore(IpFamily.IPV6));
  });

  test('rule counts grow with merged groups, not with declarations', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ ports: [Port.SSH], peers: [Peer.ipv4(`10.0.${i >> 8}.${i & 255}`)] }));
    const ruleset = CompiledRuleset.compile({ name: 'h', allowances: many.map((a, i) => ({ ...a, origin: `o${i}` })) });
    // 10.0.0.0-10.0.0.199 is one contiguous range: one iprange rule
    expect(ruleset.ruleCount(Backend.IPTABLES, IpFamily.IPV4)).toBe(inputRules([]).filter((r) => r.match.family !== IpFamily.IPV6).length + 1);
  });
});

describe('compile refuses unusable values, naming the origin', () => {
  test.each([
    [Port.tcp(0), Peer.any(), 'svc/a: tcp port 0 is out of range: use a port between 1 and 65535'],
    [Port.SSH, Peer.ipv4('10.0.0.1/8'), "svc/a: '10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"],
  ])('%s from %s', (port, peer, message) => {
    expect(() => CompiledRuleset.compile({ name: 'h', allowances: [{ origin: 'svc/a', ports: [port], peers: [peer] }] })).toThrow(message);
  });

  test('families limit the openings, not the baseline', () => {
    const r = CompiledRuleset.compile({ name: 'h', families: [IpFamily.IPV4], allowances: [{ origin: 'o', ports: [Port.HTTPS], peers: [Peer.any()] }] });
    expect(r.toIptablesRestore(IpFamily.IPV4)).toContain('--dport 443');
    expect(r.toIptablesRestore(IpFamily.IPV6)).not.toContain('--dport 443');
    expect(r.toIptablesRestore(IpFamily.IPV6)).toContain('-j REJECT --reject-with icmp6-port-unreachable');
  });
});
