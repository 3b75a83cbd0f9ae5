import { Testing } from 'cdktf';
import { NS1_HOST_KEY, ResolverStack } from '../../examples/resolver/main';
import { Backend, Direction, Explain, IpFamily, Packet, RejectWith, StatefulHost, TcpFlag } from '../../src';
import '../../src/testing/jest';
import { allWarnings } from '../support/synth';

function host(): StatefulHost {
  return new ResolverStack(Testing.app(), 'resolver').ns;
}

describe('examples/resolver', () => {
  const ns = host();

  test('synthesizes without warnings: the deploy pins the host key (SFW6)', () => {
    const app = Testing.app();
    const stack = new ResolverStack(app, 'resolver');
    app.synth();
    expect(allWarnings(app)).toEqual([]);
    expect(stack.ns.facts.connection?.hostKey).toBe(NS1_HOST_KEY);
  });

  test('IPv4 ruleset', () => expect(ns.ruleset.toIptablesRestore(IpFamily.IPV4)).toMatchSnapshot());
  test('IPv6 ruleset', () => expect(ns.ruleset.toIptablesRestore(IpFamily.IPV6)).toMatchSnapshot());
  test('nftables ruleset', () => expect(ns.ruleset.toNftables()).toMatchSnapshot());
  test('explain table', () => expect(Explain.text(ns.ruleset)).toMatchSnapshot());

  test('DNS over UDP from the customers is untracked; others are refused', () => {
    expect(ns).toAllow(Packet.udp({ from: '198.51.100.20', port: 53 }));
    expect(ns).toAllow(Packet.udp({ from: '2001:db8:100::20', port: 53 }));
    expect(ns.ruleset.simulate(Packet.udp({ from: '198.51.100.20', port: 53 })).rule?.comment).toBe('untracked service');
    expect(ns).toReject(Packet.udp({ from: '203.0.113.20', port: 53 }), RejectWith.PORT_UNREACHABLE);
    // the replies go out untracked, though outbound traffic is filtered
    expect(ns).toAllow(Packet.udp({ from: '192.0.2.53', to: '198.51.100.20', port: 33000, sourcePort: 53, direction: Direction.OUTBOUND }));
  });

  test('DNS over TCP: tracked, SYN only, capped against floods', () => {
    expect(ns).toAllow(Packet.tcp({ from: '198.51.100.20', port: 53 }));
    expect(ns).not.toAllow(Packet.tcp({ from: '198.51.100.20', port: 53, flags: [TcpFlag.ACK] }));
    expect(ns).toReject(Packet.tcp({ from: '198.51.100.20', port: 53, overRateLimit: true }), RejectWith.TCP_RESET);
    expect(ns).toReject(Packet.tcp({ from: '198.51.100.20', port: 53, overConnectionLimit: true }), RejectWith.TCP_RESET);
  });

  test('SSH from the operators only, brute force dropped', () => {
    expect(ns).toAllow(Packet.tcp({ from: '192.0.2.10', port: 22 }));
    expect(ns).toDrop(Packet.tcp({ from: '192.0.2.10', port: 22, overRateLimit: true }));
    expect(ns).toReject(Packet.tcp({ from: '198.51.100.20', port: 22 }));
  });

  test('outbound: upstream DNS and NTP only', () => {
    const out = (to: string, port: number, udp = true) => {
      const from = to.includes(':') ? '2001:db8::53' : '192.0.2.53';
      return udp ? Packet.udp({ from, to, port, direction: Direction.OUTBOUND }) : Packet.tcp({ from, to, port, direction: Direction.OUTBOUND });
    };
    expect(ns).toAllow(out('203.0.113.53', 53));
    expect(ns).toAllow(out('2001:db8:53::53', 53, false));
    expect(ns).toAllow(out('198.51.100.123', 123));
    expect(ns).toReject(out('198.51.100.99', 53));
    expect(ns).toReject(out('203.0.113.53', 443, false));
  });

  test('conntrack sized for the TCP and upstream connections, not the untracked queries', () => {
    expect(ns.conntrackSizing?.describe()).toBe('21000 expected connections: nf_conntrack_max 42496, 42496 hash buckets, about 13.3 MiB of kernel memory');
  });

  test('the nftables backend gives the simulator the same answers', () => {
    // a CompiledRuleset subject is evaluated as iptables; compare with nftables by hand
    for (const p of [Packet.udp({ from: '198.51.100.20', port: 53 }), Packet.tcp({ from: '198.51.100.20', port: 53, overRateLimit: true })]) {
      expect(ns.ruleset.simulate(p, Backend.NFTABLES).verdict).toBe(ns.ruleset.simulate(p, Backend.IPTABLES).verdict);
    }
  });
});
