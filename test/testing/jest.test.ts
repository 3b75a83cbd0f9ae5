import { TerraformStack, Testing } from 'cdktf';
import { Backend, CompiledRuleset, Packet, Peer, Port, RejectWith, StatefulHost, TcpFlag } from '../../src';
import { firewallMatchers } from '../../src/testing/jest';

function host(backend?: Backend): StatefulHost {
  const h = new StatefulHost(new TerraformStack(Testing.app(), 'stack'), 'web', { address: '192.0.2.1', backend });
  h.addService('Web', { ports: [Port.HTTPS] });
  h.addAdminAccess('Ops', { peers: [Peer.ipv4('10.9.8.8')] });
  return h;
}

describe.each([Backend.IPTABLES, Backend.NFTABLES])('firewall matchers (%s)', (backend) => {
  const h = host(backend);

  test('toAllow / toReject / toDrop on a host', () => {
    expect(h).toAllow(Packet.tcp({ from: '203.0.113.9', port: 443 }));
    expect(h).toAllow(Packet.tcp({ from: '10.9.8.8', port: 22 }));
    expect(h).toReject(Packet.tcp({ from: '10.9.8.9', port: 22 }));
    expect(h).toReject(Packet.tcp({ from: '10.9.8.9', port: 22 }), RejectWith.TCP_RESET);
    expect(h).toReject(Packet.udp({ from: '10.9.8.9', port: 53 }), RejectWith.PORT_UNREACHABLE);
    expect(h).toDrop(Packet.tcp({ from: '10.9.8.8', port: 22, flags: [TcpFlag.SYN, TcpFlag.ACK] }));
    expect(h).not.toAllow(Packet.tcp({ from: '10.9.8.8', port: 22, flags: [TcpFlag.ACK] }));
  });

  test('a failing expectation shows the verdict, the deciding rule and the trace', () => {
    expect(() => expect(h).toAllow(Packet.tcp({ from: '10.9.8.9', port: 22 }))).toThrow(
      new RegExp(`expected web \\(stack/web\\) \\(${backend}\\) to allow tcp 10\\.9\\.8\\.9:40000 -> :22 \\[SYN\\] state new\\nbut it was rejected \\(tcp-reset\\) by .* rule from stack/web, after \\d+ rules\\ntrace:\\n`),
    );
    expect(() => expect(h).not.toAllow(Packet.tcp({ from: '10.9.8.8', port: 22 }))).toThrow(/not to allow .*\nbut it was allowed by .* rule from stack\/web\/Ops/);
  });
});

test('matchers take a CompiledRuleset too, and exist as an object', () => {
  const r = CompiledRuleset.compile({ name: 'x', allowances: [] });
  expect(r).toReject(Packet.tcp({ from: '192.0.2.5', port: 1 }));
  expect(Object.keys(firewallMatchers)).toEqual(['toAllow', 'toReject', 'toDrop']);
  expect(() => expect({}).toAllow(Packet.tcp({ from: '192.0.2.5', port: 1 }))).toThrow('expected a StatefulHost or a CompiledRuleset');
});
