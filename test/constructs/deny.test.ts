import { App, TerraformStack, Testing } from 'cdktf';
import { Backend, ConnectionState, Deny, Explain, HostGroup, IpFamily, Packet, Peer, Port, StatefulHost } from '../../src';
import '../../src/testing/jest';

function host(backend?: Backend): StatefulHost {
  const h = new StatefulHost(new TerraformStack(Testing.app(), 'stack'), 'web', { address: '192.0.2.10', backend });
  h.addService('Web', { ports: [Port.HTTP, Port.HTTPS] });
  h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.0/24')] });
  return h;
}

describe.each([Backend.IPTABLES, Backend.NFTABLES])('Deny (%s)', (backend) => {
  test('denied peers are dropped before any opening; others are not affected', () => {
    const h = host(backend);
    h.addDeny('Abusers', { peers: [Peer.ipv4('203.0.113.0/26'), Peer.ipv6('2001:db8:bad::/48')] });
    expect(h).toDrop(Packet.tcp({ from: '203.0.113.9', port: 443 }));
    expect(h).toDrop(Packet.udp({ from: '203.0.113.63', port: 53 }));
    expect(h).toDrop(Packet.tcp({ from: '2001:db8:bad::1', port: 80 }));
    expect(h).toAllow(Packet.tcp({ from: '203.0.113.64', port: 443 }));
    expect(h.ruleset.simulate(Packet.tcp({ from: '203.0.113.9', port: 443 }), backend).origins).toEqual(['stack/web/Abusers']);
  });

  test('a denial for some ports only', () => {
    const h = host(backend);
    h.addDeny('NoSshFromThere', { peers: [Peer.ipv4('198.51.100.128/25')], ports: [Port.SSH] });
    expect(h).toDrop(Packet.tcp({ from: '198.51.100.200', port: 22 }));
    expect(h).toAllow(Packet.tcp({ from: '198.51.100.200', port: 443 }));
    expect(h).toAllow(Packet.tcp({ from: '198.51.100.5', port: 22 }));
  });

  test('established connections from a denied peer are left alone', () => {
    const h = host(backend);
    h.addDeny('Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
    expect(h).toAllow(Packet.tcp({ from: '203.0.113.9', port: 443, state: ConnectionState.ESTABLISHED }));
  });
});

describe('Deny validation', () => {
  test('denying everything an opening allows is an error naming both', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const h = new StatefulHost(new TerraformStack(app, 'stack'), 'web', { address: '192.0.2.10' });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    h.addDeny('Office', { peers: [Peer.ipv4('198.51.100.0/24')] });
    expect(() => app.synth()).toThrow('[stack/web] stack/web/Ops allows traffic that stack/web/Office denies entirely: remove the opening, or narrow the denial');
  });

  test('partial overlap is fine (the denial wins for the overlap)', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const h = new StatefulHost(new TerraformStack(app, 'stack'), 'web', { address: '192.0.2.10' });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.0/24')] });
    h.addDeny('One', { peers: [Peer.ipv4('198.51.100.7')], ports: [Port.SSH] });
    expect(() => app.synth()).not.toThrow();
    expect(h).toDrop(Packet.tcp({ from: '198.51.100.7', port: 22 }));
    expect(Explain.text(h.ruleset)).toContain('198.51.100.7/32');
  });

  test.each([
    [{ peers: [] }, "stack/web/Bad: peers must not be empty: list the peers to block, e.g. Peer.ipv4('203.0.113.0/26')"],
    [{ peers: [Peer.ipv4('203.0.113.1')], ports: [] }, 'stack/web/Bad: ports must not be empty: omit ports to block all traffic from the peers'],
    [{ peers: [Peer.ipv4('203.0.113.1/24')] }, "stack/web/Bad: '203.0.113.1/24' has host bits set: did you mean 203.0.113.0/24?"],
  ])('refuses %j', (props, message) => {
    expect(() => new Deny(host(), 'Bad', props)).toThrow(message);
  });

  test('denials on a group apply to its members', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    const g = new HostGroup(stack, 'web');
    const h = new StatefulHost(stack, 'w1', { address: '192.0.2.10' });
    h.addService('Web', { ports: [Port.HTTPS] });
    g.addHost(h);
    new Deny(g, 'Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
    expect(h).toDrop(Packet.tcp({ from: '203.0.113.1', port: 443 }));
    expect(h.ruleset.toIptablesRestore(IpFamily.IPV4)).toContain('-s 203.0.113.0/26 -m comment --comment "stack/web/Abusers: denied" -j DROP');
  });

  test('nftTableName needs the nftables backend', () => {
    expect(() => new StatefulHost(new TerraformStack(Testing.app(), 'stack'), 'web', { address: '192.0.2.10', nftTableName: 'fw' })).toThrow(
      "stack/web: nftTableName 'fw' needs backend: Backend.NFTABLES (iptables keeps its rules in SFW-* chains)",
    );
  });
});
