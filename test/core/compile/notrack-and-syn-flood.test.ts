import {
  CompiledRuleset, ConnectionState, ConntrackHelper, Direction, IpFamily, OverLimitAction, Packet, Peer, Port, RateUnit, Verdict,
} from '../../../src/core';
import { Backend } from '../../../src/core/backends/backend';

const dns = { origin: 'app/ns/Dns', ports: [Port.udp(53)], peers: [Peer.ipv4('198.51.100.0/24'), Peer.ipv6('2001:db8:5::/48')], notrack: true };
const ssh = { origin: 'app/ns/Ssh', ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.7')] };
const policy = { name: 'ns', origin: 'app/ns', allowances: [dns, ssh] };

describe('untracked services (notrack)', () => {
  const r = CompiledRuleset.compile(policy);
  const v4 = r.toIptablesRestore(IpFamily.IPV4);
  const nft = r.toNftables();

  test('the raw table exempts the requests to the host (not forwarded ones) and the replies, scoped to the peers and ports', () => {
    expect(v4).toContain('*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:SFW-OUTPUT - [0:0]\n:SFW-PREROUTING - [0:0]\n-A PREROUTING -j SFW-PREROUTING\n-A OUTPUT -j SFW-OUTPUT\n');
    expect(v4).toContain('-A SFW-PREROUTING -s 198.51.100.0/24 -p udp -m addrtype --dst-type LOCAL -m udp --dport 53 -m comment --comment "app/ns/Dns: untracked service" -j CT --notrack');
    expect(v4).toContain('-A SFW-OUTPUT -d 198.51.100.0/24 -p udp -m udp --sport 53 -m comment --comment "app/ns/Dns: untracked service replies" -j CT --notrack');
    expect(r.toIptablesRestore(IpFamily.IPV6)).toContain('-A SFW-PREROUTING -s 2001:db8:5::/48 -p udp -m addrtype --dst-type LOCAL -m udp --dport 53');
    // nftables: the raw hooks dispatch on family, protocol and port (one rule for a packet they do not concern, two for one they do)
    expect(nft).toContain('\tchain raw_prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;\n'
      + '\t\tmeta nfproto . meta l4proto . th dport vmap { ipv4 . udp . 53 : goto sfw_raw_prerouting_v4_udp53, ipv6 . udp . 53 : goto sfw_raw_prerouting_v6_udp53 }');
    expect(nft).toContain('\tchain sfw_raw_prerouting_v4_udp53 {\n\t\tip saddr 198.51.100.0/24 fib daddr type local udp dport 53 notrack');
    expect(nft).toContain('\tchain raw_output {\n\t\ttype filter hook output priority raw; policy accept;\n'
      + '\t\tmeta nfproto . meta l4proto . th sport vmap { ipv4 . udp . 53 : goto sfw_raw_output_v4_udp53, ipv6 . udp . 53 : goto sfw_raw_output_v6_udp53 }');
    expect(nft).toContain('\tchain sfw_raw_output_v4_udp53 {\n\t\tip daddr 198.51.100.0/24 udp sport 53 notrack');
    // services open to every peer: one set lookup, whatever their number
    const anyPeer = { ...dns, peers: [Peer.any()], ports: [Port.udp(53), Port.tcp(53)] };
    const open = CompiledRuleset.compile({ ...policy, allowances: [anyPeer] }).toNftables();
    expect(open).toContain('\t\tfib daddr type local meta l4proto . th dport { tcp . 53, udp . 53 } notrack comment "app/ns/Dns: untracked service"\n');
  });

  test('the input chain accepts them in state UNTRACKED, and no NEW opening exists for them', () => {
    expect(v4).toContain('-A SFW-INPUT -s 198.51.100.0/24 -p udp -m conntrack --ctstate UNTRACKED -m udp --dport 53 -m comment --comment "app/ns/Dns: untracked service" -j ACCEPT');
    expect(v4).not.toMatch(/ctstate NEW -m udp --dport 53/);
    // nftables: the state map sends untracked packets to their own chains
    expect(nft).toContain('untracked : goto sfw_untracked }');
    expect(nft).toContain('\tchain sfw_untracked_v4_udp_p53 {\n\t\tip saddr 198.51.100.0/24 accept comment "app/ns/Dns: untracked service"');
    expect(nft).not.toMatch(/chain sfw_new_v4_udp/);
  });

  test.each([Backend.IPTABLES, Backend.NFTABLES])('simulator (%s): a peer is accepted untracked, others meet the default action', (backend) => {
    const ok = r.simulate(Packet.udp({ from: '198.51.100.9', port: 53 }), backend);
    expect(ok.verdict).toBe(Verdict.ACCEPT);
    expect(ok.rule?.comment).toBe('untracked service');
    expect(ok.trace.some((t) => /matched: notrack/.test(t))).toBe(true);
    expect(r.simulate(Packet.udp({ from: '2001:db8:5::1', port: 53 }), backend).verdict).toBe(Verdict.ACCEPT);
    const other = r.simulate(Packet.udp({ from: '203.0.113.9', port: 53 }), backend);
    expect(other.verdict).toBe(Verdict.REJECT);
    expect(r.simulate(Packet.udp({ from: '198.51.100.9', port: 54 }), backend).verdict).toBe(Verdict.REJECT);
  });

  test('with outbound filtering, the replies pass untracked and nothing else is opened', () => {
    const o = CompiledRuleset.compile({ ...policy, outbound: { allowances: [] } });
    const reply = Packet.udp({ from: '192.0.2.53', to: '198.51.100.9', port: 40000, sourcePort: 53, direction: Direction.OUTBOUND });
    for (const backend of [Backend.IPTABLES, Backend.NFTABLES]) {
      expect(o.simulate(reply, backend).verdict).toBe(Verdict.ACCEPT);
      expect(o.simulate(reply, backend).rule?.comment).toBe('untracked service replies');
      // a reply to someone else is tracked (NEW) and refused
      expect(o.simulate(Packet.udp({ from: '192.0.2.53', to: '203.0.113.9', port: 40000, sourcePort: 53, direction: Direction.OUTBOUND }), backend).verdict)
        .toBe(Verdict.REJECT);
    }
    expect(o.toIptablesRestore(IpFamily.IPV4)).toContain('-A SFW-OUTPUT -d 198.51.100.0/24 -p udp -m conntrack --ctstate UNTRACKED -m udp --sport 53');
  });

  test('a peer on the deny list is dropped before the untracked accept', () => {
    const d = CompiledRuleset.compile({ ...policy, denials: [{ origin: 'app/ns/Block', peers: [Peer.ipv4('198.51.100.66')] }] });
    expect(d.simulate(Packet.udp({ from: '198.51.100.66', port: 53 })).verdict).toBe(Verdict.DROP);
    expect(d.simulate(Packet.udp({ from: '198.51.100.65', port: 53 })).verdict).toBe(Verdict.ACCEPT);
  });

  test('long port lists are split into multiport chunks on both sides', () => {
    const ports = Array.from({ length: 20 }, (_, i) => Port.udp(5000 + 2 * i));
    const big = CompiledRuleset.compile({ name: 'm', allowances: [{ origin: 'a/M', ports, peers: [Peer.anyIpv4()], notrack: true }], setThreshold: Infinity });
    const text = big.toIptablesRestore(IpFamily.IPV4);
    expect(text.match(/-m multiport --dports [0-9,]+ .*-j CT --notrack/g)).toHaveLength(2);
    expect(text.match(/-m multiport --sports [0-9,]+ .*-j CT --notrack/g)).toHaveLength(2);
    expect(big.simulate(Packet.udp({ from: '192.0.2.1', port: 5038 })).verdict).toBe(Verdict.ACCEPT);
  });

  test('helpers and notrack share the raw PREROUTING chain in iptables; nft sets the helper where it accepts the connection', () => {
    const h = CompiledRuleset.compile({ ...policy, allowances: [...policy.allowances, { origin: 'app/ns/Ftp', ports: [Port.tcp(21)], peers: [Peer.anyIpv4()], helper: ConntrackHelper.FTP }] });
    const text = h.toIptablesRestore(IpFamily.IPV4);
    expect(text.match(/^-A PREROUTING -j SFW-PREROUTING$/gm)).toHaveLength(1);
    expect(text.indexOf('-j CT --notrack')).toBeLessThan(text.indexOf('-j CT --helper ftp'));
    // before conntrack confirms the connection (after the input hook): no prerouting chain, one rule less for every packet
    expect(h.toNftables()).toContain('\t\ttcp flags syn / fin,syn,rst,ack ct helper set "ftp-standard" accept comment "app/ns/Ftp"\n');
    expect(h.toNftables()).not.toContain('chain prerouting');
  });

  test('an UNTRACKED packet the rules do not cover is refused (e.g. another tool notracked it)', () => {
    expect(r.simulate(Packet.tcp({ from: '192.0.2.7', port: 80, state: ConnectionState.UNTRACKED })).verdict).toBe(Verdict.REJECT);
  });

  test.each([
    [{ ...dns, ports: [Port.udp(53), Port.icmpType(8)] }, 'app/ns/Dns: notrack exempts TCP and UDP ports from connection tracking, not icmp/8'],
    [{ ...dns, helper: ConntrackHelper.TFTP, ports: [Port.udp(69)] }, 'app/ns/Dns: the tftp helper reads tracked connections'],
    [{ ...dns, limits: { newConnectionsPerSource: { rate: 5, unit: RateUnit.SECOND } } }, 'app/ns/Dns: limits count connections'],
  ])('refuses contradictions: %#', (allowance, message) => {
    expect(() => CompiledRuleset.compile({ ...policy, allowances: [allowance] })).toThrow(message);
  });
});

describe('syn-flood cap', () => {
  const web = {
    origin: 'app/web/Web',
    ports: [Port.HTTPS, Port.udp(443)],
    peers: [Peer.any()],
    limits: { synFloodLimit: { rate: 100, unit: RateUnit.SECOND, burst: 200 } },
  };
  const r = CompiledRuleset.compile({ name: 'web', origin: 'app/web', allowances: [web] });

  test('one rule per family, TCP only, all sources together, ahead of the opening', () => {
    const v4 = r.toIptablesRestore(IpFamily.IPV4);
    expect(v4).toContain('-A SFW-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 443 --tcp-flags FIN,SYN,RST,ACK SYN '
      + '-m hashlimit --hashlimit-above 100/sec --hashlimit-burst 200 --hashlimit-name sfw-s4-');
    expect(v4).not.toMatch(/-p udp .*hashlimit/);
    expect(v4).not.toContain('--hashlimit-mode');
    expect(v4.indexOf('syn-flood cap')).toBeLessThan(v4.indexOf('"app/web/Web" -j ACCEPT'));
    expect(r.toIptablesRestore(IpFamily.IPV6)).toContain('--hashlimit-name sfw-s6-');
    const nft = r.toNftables();
    // the nftables layout says "under the cap: accept", then the over-limit action
    expect(nft).toMatch(/\tlimit sfw-s4-[0-9a-f]{6} \{\n\t\trate 100\/second burst 200 packets\n\t\}/);
    expect(nft).toMatch(/\tlimit sfw-s6-[0-9a-f]{6} \{\n\t\trate 100\/second burst 200 packets\n\t\}/);
    expect(nft).toMatch(/\t\ttcp flags syn \/ fin,syn,rst,ack limit name "sfw-s4-[0-9a-f]{6}" accept comment "app\/web\/Web"\n/);
    expect(nft).toMatch(/\t\ttcp flags syn \/ fin,syn,rst,ack limit name "sfw-s6-[0-9a-f]{6}" accept comment "app\/web\/Web"\n/);
  });

  test('nftables: one named limit per family, however many chains the rule is copied into', () => {
    // an admin opening on one of the ports makes the verdict-map layout give each port its own chain
    const two = CompiledRuleset.compile({
      name: 'web',
      allowances: [
        { origin: 'a/Web', ports: [Port.HTTP, Port.HTTPS], peers: [Peer.ipv4('192.0.2.0/24')], limits: { synFloodLimit: { rate: 5, unit: RateUnit.SECOND, burst: 10 } } },
        { origin: 'a/Admin', ports: [Port.HTTPS], peers: [Peer.ipv4('10.0.0.0/8')] },
      ],
    });
    const nft = two.toNftables();
    const names = [...nft.matchAll(/limit name "(sfw-s4-[0-9a-f]+)"/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(1);
    expect(new Set(names).size).toBe(1);
    expect(nft.match(/^\tlimit sfw-s4-/gm)).toHaveLength(1);
  });

  test('simulator: over the cap dropped (or rejected), under it accepted', () => {
    expect(r.simulate(Packet.tcp({ from: '192.0.2.1', port: 443 })).verdict).toBe(Verdict.ACCEPT);
    const over = r.simulate(Packet.tcp({ from: '192.0.2.1', port: 443, overRateLimit: true }));
    expect(over.verdict).toBe(Verdict.DROP);
    expect(over.rule?.comment).toBe('over the syn-flood cap');
    const rej = CompiledRuleset.compile({ name: 'web', allowances: [{ ...web, limits: { ...web.limits, overLimitAction: OverLimitAction.REJECT } }] });
    expect(rej.simulate(Packet.tcp({ from: '2001:db8::1', port: 443, overRateLimit: true }), Backend.NFTABLES).verdict).toBe(Verdict.REJECT);
  });

  test('a declaration without TCP is refused', () => {
    expect(() => CompiledRuleset.compile({ name: 'x', allowances: [{ ...web, ports: [Port.udp(53)] }] }))
      .toThrow('app/web/Web: synFloodLimit caps new TCP connections, but the declaration has no TCP port');
  });
});
