import {
  Backend, CompiledRuleset, ConnectionState, DefaultAction, IpFamily, MapKey, Packet, Peer, Port, RateUnit, Rule, RulesetModel, Simulator,
  TcpFlag, Verdict,
} from '../../../../src/core';
import { nftablesLayout } from '../../../../src/core/backends/nftables/nftables-layout';
import { CHAIN_NAME_POLICY } from '../../../support/chain-name-policy';
import { generateProbes, probePacket } from '../../../support/differential-lab';
import { randomPolicy, randomPolicyWithSets } from '../../../support/random-policy';

/** `n` IPv4 admin addresses that never merge. */
function admins(n: number): Peer[] {
  return Array.from({ length: n }, (_, i) => {
    const v = (10 << 24) + 2 * i;
    return Peer.ipv4([24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.'));
  });
}

function bench(addresses: number, ports: number, defaultAction = DefaultAction.DROP): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'b',
    origin: 'bench/b',
    defaultAction,
    allowances: [{ origin: 'bench/b/Admins', ports: Array.from({ length: ports }, (_, i) => Port.tcp(i === 0 ? 22 : 8000 + i)), peers: admins(addresses) }],
  });
}

function chainNames(model: RulesetModel): string[] {
  return model.tables[0].chains.map((c) => c.name);
}

describe('nftablesLayout', () => {
  test('the input chain is one state map; new connections dispatch on family, protocol and port in one map', () => {
    const model = bench(10, 1).nftablesModel();
    const input = model.tables[0].chains[0];
    expect(input.rules).toHaveLength(1);
    expect(input.rules[0].verdict).toBe(Verdict.MAP);
    expect(input.rules[0].verdictMap!.keys).toEqual([MapKey.STATE]);
    expect(input.rules[0].verdictMap!.entries.map((e) => [e.match.states![0], e.verdict, e.target])).toEqual([
      [ConnectionState.INVALID, Verdict.GOTO, 'sfw_invalid'],
      [ConnectionState.ESTABLISHED, Verdict.ACCEPT, undefined],
      [ConnectionState.RELATED, Verdict.ACCEPT, undefined],
      [ConnectionState.NEW, Verdict.GOTO, 'sfw_new'],
      [ConnectionState.UNTRACKED, Verdict.GOTO, 'sfw_untracked'],
    ]);
    const fresh = model.tables[0].chains.find((c) => c.name === 'sfw_new')!;
    expect(fresh.rules[0].match).toEqual({ inInterface: 'lo' });
    expect(fresh.rules[1].verdictMap!.keys).toEqual([
      MapKey.FAMILY, MapKey.PROTOCOL, MapKey.TRANSPORT_SOURCE_PORT, MapKey.TRANSPORT_DESTINATION_PORT,
    ]);
    // a DROP default: the base chain's policy, standing for the default action's rule
    expect(input.policy).toBe(Verdict.DROP);
    expect(input.endRule?.comment).toBe('default action');
  });

  test('the transport map dispatches on family, protocol and port; the source map on the peers; chains are listed top-down', () => {
    const ruleset = CompiledRuleset.compile({
      name: 'h',
      allowances: [
        { origin: 'h/Web', ports: [Port.HTTP, Port.HTTPS], peers: [Peer.any()] },
        { origin: 'h/Ssh', ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.0/24')] },
        { origin: 'h/Db', ports: [Port.POSTGRES], peers: [Peer.ipv4('198.51.100.0/24')] },
        { origin: 'h/Alt', ports: [Port.tcpRange(8000, 8010)], peers: [Peer.ipv4('203.0.113.0/24')] },
      ],
    });
    const model = ruleset.nftablesModel();
    const fresh = model.tables[0].chains.find((c) => c.name === 'sfw_new')!;
    const v4tcp = fresh.rules[1].verdictMap!.entries.filter((e) => e.match.family === IpFamily.IPV4 && e.match.protocol === 'tcp');
    // every port of IPv4 TCP is in the map, as intervals between the openings' edges
    expect(v4tcp.map((e) => e.match.destinationPorts![0])).toEqual([
      { from: 0, to: 21 }, { from: 22, to: 22 }, { from: 23, to: 79 }, { from: 80, to: 80 }, { from: 81, to: 442 }, { from: 443, to: 443 },
      { from: 444, to: 5431 }, { from: 5432, to: 5432 }, { from: 5433, to: 7999 }, { from: 8000, to: 8010 }, { from: 8011, to: 65535 },
    ]);
    // 80 and 443 share one chain, of both families; the closed ports share another
    expect(v4tcp[3].target).toBe(v4tcp[5].target);
    expect(v4tcp[0].target).toBe(v4tcp[2].target);
    const nft = ruleset.toNftables();
    expect(nft).toContain('ipv4 . tcp . 0-65535 . 22 : goto sfw_new_v4_tcp_p22, ');
    expect(nft).toContain('ipv6 . tcp . 0-65535 . 80 : goto sfw_new_tcp_p80_p443, ');
    expect(nft).toContain('ipv4 . tcp . 0-65535 . 8000-8010 : goto sfw_new_v4_tcp_p8000, ');
    // the map has checked protocol and port: the opening says the rest
    expect(nft).toContain('\t\tip saddr 192.0.2.0/24 tcp flags syn / fin,syn,rst,ack accept comment "h/Ssh"\n');
    // ICMP is keyed on type and code (`th sport` = type << 8 | code): echo request is 8 << 8
    expect(nft).toContain('ipv4 . icmp . 2048-2303 . 0-65535 : goto sfw_new_v4_icmp_t8');
    const names = chainNames(model);
    expect(names.indexOf('sfw_new')).toBeLessThan(names.indexOf('sfw_new_v4_tcp_p22'));
  });

  test('a port with denials and openings: one source map, denials first, the openings behind a bare-SYN guard', () => {
    const r = CompiledRuleset.compile({
      name: 'h',
      defaultAction: DefaultAction.DROP,
      allowances: [{ origin: 'h/Ssh', ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.0/24')] }],
      denials: [{ origin: 'h/Bad', peers: [Peer.ipv4('192.0.2.128/25')] }],
    });
    const nft = r.toNftables();
    expect(nft).toContain('\t\ttcp flags syn / fin,syn,rst,ack ip saddr vmap { 0.0.0.0-192.0.1.255 : drop, 192.0.2.0/25 : accept, 192.0.2.128/25 : drop, 192.0.3.0-255.255.255.255 : drop }\n');
    const ok = r.simulate(Packet.tcp({ from: '192.0.2.7', port: 22 }), Backend.NFTABLES);
    expect([ok.verdict, ok.origins]).toEqual([Verdict.ACCEPT, ['h/Ssh']]);
    const denied = r.simulate(Packet.tcp({ from: '192.0.2.200', port: 22 }), Backend.NFTABLES);
    expect([denied.verdict, denied.origins]).toEqual([Verdict.DROP, ['h/Bad']]);
    // a non-SYN from a denied peer skips the guarded map and meets the denial as its own rule
    const ack = r.simulate(Packet.tcp({ from: '192.0.2.200', port: 22, flags: [TcpFlag.ACK] }), Backend.NFTABLES);
    expect([ack.verdict, ack.origins]).toEqual([Verdict.DROP, ['h/Bad']]);
  });

  test('chain names say what they hold: a chain both families share has no family, an IPv6-only chain says v6', () => {
    const ruleset = CompiledRuleset.compile(CHAIN_NAME_POLICY);
    const nft = ruleset.toNftables();
    // new TCP connections meet different rules per family (the SSH peers): one chain each, named after its family
    expect(nft).toContain('ipv4 . tcp . 0-65535 . 22 : goto sfw_new_v4_tcp_p22, ');
    expect(nft).toContain('ipv6 . tcp . 0-65535 . 22 : goto sfw_new_v6_tcp_p22, ');
    expect(nft).toContain('ipv6 . ipv6-icmp . 32768-33023 . 0-65535 : goto sfw_new_v6_icmpv6_t128');
    // the web port meets the same rules in both families: one chain, no family
    expect(nft).toContain('ipv4 . tcp . 0-65535 . 80 : goto sfw_new_tcp_p80, ');
    expect(nft).toContain('ipv6 . tcp . 0-65535 . 80 : goto sfw_new_tcp_p80, ');
    // untracked TCP meets the same rules as the closed ports of new TCP, in both families: one chain, named after both states
    expect(nft).toContain('ipv4 . tcp . 0-65535 . 0-65535 : goto sfw_new_untracked_tcp_p0_p23_p81, ipv6 . tcp . 0-65535 . 0-65535 : goto sfw_new_untracked_tcp_p0_p23_p81');
    // no chain is named after a family it does not serve: a v4 chain is reached only from ipv4 keys, v6 only from ipv6
    const model = ruleset.nftablesModel();
    const reachedFrom = new Map<string, Set<IpFamily>>();
    const walk = (name: string, family: IpFamily | undefined) => {
      const chain = model.tables.flatMap((t) => t.chains).find((c) => c.name === name)!;
      for (const rule of chain.rules) {
        for (const e of rule.verdictMap?.entries ?? []) {
          if (e.target === undefined) continue;
          const f = e.match.family ?? family;
          if (f !== undefined) {
            if (!reachedFrom.has(e.target)) reachedFrom.set(e.target, new Set());
            reachedFrom.get(e.target)!.add(f);
          }
          walk(e.target, f);
        }
      }
    };
    walk('sfw_new', undefined);
    walk('sfw_untracked', undefined);
    expect(reachedFrom.size).toBeGreaterThan(4);
    for (const [name, families] of reachedFrom) {
      if (/_v4(_|$)/.test(name)) expect([name, [...families]]).toEqual([name, [IpFamily.IPV4]]);
      else if (/_v6(_|$)/.test(name)) expect([name, [...families]]).toEqual([name, [IpFamily.IPV6]]);
      else expect([name, families.size]).toEqual([name, 2]);
    }
  });

  test('names stay unique and every goto names a chain that exists, across 150 random policies', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const model = CompiledRuleset.compile(randomPolicy(seed)).nftablesModel();
      const names = model.tables.flatMap((t) => t.chains.map((c) => c.name));
      expect(new Set(names).size).toBe(names.length);
      for (const c of model.tables.flatMap((t) => t.chains)) {
        expect(c.name).toMatch(/^[a-z][a-z0-9_]*$/);
        for (const r of c.rules) for (const t of [r.target, ...(r.verdictMap?.entries.map((e) => e.target) ?? [])]) if (t) expect(names).toContain(t);
      }
    }
  });

  test('a SYN-flood cap open to every peer: each family meets only its own limit object', () => {
    const r = CompiledRuleset.compile({
      name: 'h',
      defaultAction: DefaultAction.DROP,
      allowances: [{ origin: 'h/Web', ports: [Port.HTTPS], peers: [Peer.any()], limits: { synFloodLimit: { rate: 100, unit: RateUnit.SECOND } } }],
    });
    const model = r.nftablesModel();
    const chains = new Map(model.tables.flatMap((t) => t.chains).map((c) => [c.name, c]));
    const limitOf = (rule: Rule) => rule.match.limitsUnder?.rate?.name ?? rule.match.rateOver?.name;
    const met: string[] = [];
    const walk = (name: string, family: IpFamily | undefined) => {
      for (const rule of chains.get(name)!.rules) {
        const limit = limitOf(rule);
        if (limit) met.push(`${rule.match.family ?? family}:${limit.slice(0, 6)}`);
        for (const e of rule.verdictMap?.entries ?? []) if (e.target) walk(e.target, e.match.family ?? family);
      }
    };
    walk('sfw_new', undefined);
    expect([...new Set(met)].sort()).toEqual([`${IpFamily.IPV4}:sfw-s4`, `${IpFamily.IPV6}:sfw-s6`]);
  });

  test('models it does not understand are left as they are', () => {
    const model: RulesetModel = { tables: [{ name: 'filter', chains: [{ name: 'x', rules: [] }] }] };
    expect(nftablesLayout(model)).toBe(model);
  });

  test.each([10, 100, 1000, 10000])('%i admin addresses x 1, 15 and 100 ports: at most 6 rules for any packet', (addresses) => {
    for (const ports of [1, 15, 100]) {
      const r = bench(addresses, ports);
      const established = Packet.tcp({ from: '192.0.2.1', port: 22, flags: [TcpFlag.ACK], state: ConnectionState.ESTABLISHED });
      const allowed = Packet.tcp({ from: '10.0.0.2', port: 22 });
      const unsolicited = Packet.tcp({ from: '192.0.2.1', port: 22 });
      const closed = Packet.udp({ from: '192.0.2.1', port: 53 });
      expect(r.simulate(established, Backend.NFTABLES).rulesEvaluated).toBe(1);
      expect(r.simulate(allowed, Backend.NFTABLES)).toMatchObject({ verdict: Verdict.ACCEPT, origins: ['bench/b/Admins'] });
      expect(r.simulate(allowed, Backend.NFTABLES).rulesEvaluated).toBeLessThanOrEqual(5);
      expect(r.simulate(unsolicited, Backend.NFTABLES)).toMatchObject({ verdict: Verdict.DROP });
      expect(r.simulate(unsolicited, Backend.NFTABLES).rulesEvaluated).toBeLessThanOrEqual(6);
      expect(r.simulate(closed, Backend.NFTABLES).rulesEvaluated).toBeLessThanOrEqual(6);
      // iptables: one set match instead of a rule per address; the chain is linear
      expect(r.simulate(unsolicited, Backend.IPTABLES).rulesEvaluated).toBe(7); // the INPUT jump, then 6
      expect(r.ruleCount(Backend.IPTABLES, IpFamily.IPV4)).toBe(6); // state, loopback, invalid, admins, ping, default
    }
  });

  test('every default action: at most 6 rules for generated probes of policies with few openings per protocol', () => {
    for (const defaultAction of [DefaultAction.DROP, DefaultAction.REJECT, DefaultAction.REJECT_HOST_PROHIBITED]) {
      const r = bench(1000, 100, defaultAction);
      for (const probe of generateProbes(r, 7, 300)) {
        expect(r.simulate(probePacket(probe), Backend.NFTABLES).rulesEvaluated).toBeLessThanOrEqual(6);
      }
    }
  });

  test.each([
    ['randomPolicy', randomPolicy],
    ['randomPolicyWithSets', randomPolicyWithSets],
  ])('decides every packet as the linear chain does (%s, 150 policies x 150 probes)', (_name, generate) => {
    let worst = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = CompiledRuleset.compile(generate(seed, 12));
      for (const probe of generateProbes(r, seed * 31, 150)) {
        const packet = probePacket(probe);
        const linear = Simulator.evaluateModel(r.model, packet);
        const laid = r.simulate(packet, Backend.NFTABLES);
        expect([laid.verdict, laid.rejectWith, laid.origins]).toEqual([linear.verdict, linear.rejectWith, linear.origins]);
        worst = Math.max(worst, laid.rulesEvaluated);
      }
    }
    // ICMP types and codes are keyed in the transport map, peers in the source map: within 6 rules
    expect(worst).toBeLessThanOrEqual(6);
  });
});
