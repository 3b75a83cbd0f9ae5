import { Backend, CompiledRuleset, ConnectionState, Direction, Packet, Verdict } from '../../../src/core';
import { CLIENT_LINK_LOCAL, CLIENT_V6, DENY_MATRIX, denyPolicy, HOST_V6, OPEN_PORT, OUTBOUND_PORT } from '../../support/deny-cases';

// Issue 14 in the simulator (which walks the compiled and laid-out model of each backend):
// a denied client's neighbour discovery is accepted, its connection attempts are not.

const cases = DENY_MATRIX.flatMap(([kind, name, features]) =>
  [Backend.IPTABLES, Backend.NFTABLES].map((backend) => [kind, name, backend, features] as const));

describe('simulator: the ICMPv6 essentials are decided before the denials', () => {
  test.each(cases)('%s denied, %s, %s', (kind, _name, backend, features) => {
    const r = CompiledRuleset.compile(denyPolicy(kind, features));
    const sim = (p: Packet) => r.simulate(p, backend);

    // a neighbour solicitation from the denied address: untracked, hop limit 255, accepted by the ND rule
    const ns = Packet.icmp({ from: CLIENT_V6, type: 135 });
    expect([ns.state, ns.hopLimit]).toEqual([ConnectionState.UNTRACKED, 255]);
    expect(sim(ns)).toMatchObject({ verdict: Verdict.ACCEPT, origins: ['lab/nd'] });
    expect(sim(ns).rule?.comment).toBe('icmpv6 neighbour discovery');
    for (const type of [133, 134, 136]) expect([type, sim(Packet.icmp({ from: CLIENT_V6, type })).verdict]).toEqual([type, Verdict.ACCEPT]);
    // from the link-local address too, and MLD from it
    expect(sim(Packet.icmp({ from: CLIENT_LINK_LOCAL, type: 135 })).verdict).toBe(Verdict.ACCEPT);
    expect(sim(Packet.icmp({ from: CLIENT_LINK_LOCAL, type: 143 })).rule?.comment).toBe('icmpv6 multicast listener discovery');

    // the denial still works: the TCP SYN to an open port and the ping are dropped by it
    expect(sim(Packet.tcp({ from: CLIENT_V6, port: OPEN_PORT }))).toMatchObject({ verdict: Verdict.DROP, origins: ['lab/nd/Blocked'] });
    expect(sim(Packet.icmp({ from: CLIENT_V6 }))).toMatchObject({ verdict: Verdict.DROP, origins: ['lab/nd/Blocked'] });
    // ND without hop limit 255 (not from the link) is not an essential: the denial drops it
    expect(sim(Packet.icmp({ from: CLIENT_V6, type: 135, hopLimit: 64 }))).toMatchObject({ verdict: Verdict.DROP, origins: ['lab/nd/Blocked'] });
    // established traffic of the client is left alone; IPv4 is not affected
    expect(sim(Packet.tcp({ from: CLIENT_V6, port: OPEN_PORT, state: ConnectionState.ESTABLISHED })).verdict).toBe(Verdict.ACCEPT);
    expect(sim(Packet.tcp({ from: '198.51.100.7', port: OPEN_PORT })).verdict).toBe(Verdict.ACCEPT);
    if (kind !== 'any IPv6') expect(sim(Packet.tcp({ from: '2001:db8:1::7', port: OPEN_PORT })).verdict).toBe(Verdict.ACCEPT);

    if (features.outbound) {
      const out = (p: { type?: number; port?: number }) => (p.port !== undefined
        ? Packet.tcp({ from: HOST_V6, to: CLIENT_V6, port: p.port, direction: Direction.OUTBOUND })
        : Packet.icmp({ from: HOST_V6, to: CLIENT_V6, type: p.type, direction: Direction.OUTBOUND }));
      // the host solicits and answers its denied neighbour, and connects to it where declared
      for (const type of [133, 135, 136, 143]) expect([type, sim(out({ type })).verdict]).toEqual([type, Verdict.ACCEPT]);
      expect(sim(out({ port: OUTBOUND_PORT })).verdict).toBe(Verdict.ACCEPT);
      expect(sim(out({ port: OUTBOUND_PORT + 1 })).verdict).toBe(Verdict.REJECT);
    }
  });
});
