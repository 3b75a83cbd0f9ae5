import { App, TerraformStack, Testing } from 'cdktf';
import {
  Backend, Direction, FleetDiagram, HostGroup, IConnectable, IpFamily, IPeer, Packet, Peer, Port, StatefulHost, Verdict,
} from '../../src';
import '../../src/testing/jest';
import { synthErrors } from '../support/synth';

const BACKENDS = [Backend.IPTABLES, Backend.NFTABLES];

function fleet(app: App = Testing.app(), backend = Backend.IPTABLES) {
  const stack = new TerraformStack(app, 'f');
  const web = new HostGroup(stack, 'web');
  const w1 = new StatefulHost(stack, 'w1', { address: '192.0.2.11', addresses: ['192.0.2.11', '2001:db8::11'], backend, outboundFiltering: true });
  const w2 = new StatefulHost(stack, 'w2', { address: '192.0.2.12', addresses: ['192.0.2.12', '2001:db8::12'], backend, outboundFiltering: true });
  web.addHost(w1);
  web.addHost(w2);
  const db = new StatefulHost(stack, 'db', { address: '192.0.2.31', addresses: ['192.0.2.31', '2001:db8::31'], backend });
  for (const h of [w1, w2, db]) h.addAdminAccess('Ops', { peers: [Peer.ipv4('192.0.2.250')] });
  return { app, stack, web, w1, w2, db };
}

const verdict = (h: StatefulHost, backend: Backend, packet: Packet) => h.ruleset.simulate(packet, backend).verdict;
const inbound = (from: string, port: number) => Packet.tcp({ from, port });
const outbound = (h: StatefulHost, to: string, port: number) =>
  Packet.tcp({ from: to.includes(':') ? h.addresses[1] : h.addresses[0], to, port, direction: Direction.OUTBOUND });

describe('a Peer wherever a connectable is (connections.allowFrom / allowTo)', () => {
  test('Peer, StatefulHost and HostGroup are all IPeers; a Peer is its own peer', () => {
    const { web, db } = fleet();
    const p = Peer.ipv4('198.51.100.0/24');
    const peers: IPeer[] = [p, web, db];
    expect(peers.map((x) => x.toPeer()?.toString())).toEqual(['198.51.100.0/24', '192.0.2.11, 2001:db8::11, 192.0.2.12, 2001:db8::12', '192.0.2.31, 2001:db8::31']);
    expect(p.toPeer()).toBe(p);
    const connectable: IConnectable = db;
    expect(connectable.peer?.families).toHaveLength(2);
  });

  test.each(BACKENDS)('allowFrom IPv4, IPv6, ranges and any() on a group, with other connections, simulated (%s)', (backend) => {
    const { web, w1, w2, db } = fleet(Testing.app(), backend);
    web.connections.allowFrom(Peer.ipv4('198.51.100.0/24'), Port.HTTPS, 'office');
    web.connections.allowFrom(Peer.ipv6('2001:db8:100::/48'), Port.HTTPS);
    web.connections.allowFrom(Peer.ipv4Range('203.0.113.10', '203.0.113.20'), Port.tcp(8443));
    web.connections.allowFrom(Peer.ipv6Range('2001:db8:200::1', '2001:db8:200::9'), Port.tcp(8443));
    web.connections.allowFrom(Peer.any(), Port.HTTP);
    db.connections.allowFrom(web, Port.POSTGRES);
    for (const h of [w1, w2]) {
      expect(verdict(h, backend, inbound('198.51.100.7', 443))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, inbound('198.51.101.7', 443))).toBe(Verdict.REJECT);
      expect(verdict(h, backend, inbound('2001:db8:100::5', 443))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, inbound('2001:db8:101::5', 443))).toBe(Verdict.REJECT);
      expect(verdict(h, backend, inbound('203.0.113.10', 8443))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, inbound('203.0.113.20', 8443))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, inbound('203.0.113.21', 8443))).toBe(Verdict.REJECT);
      expect(verdict(h, backend, inbound('2001:db8:200::9', 8443))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, inbound('2001:db8:200::a', 8443))).toBe(Verdict.REJECT);
      expect(verdict(h, backend, inbound('203.0.113.99', 80))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, inbound('2001:db8:ffff::1', 80))).toBe(Verdict.ACCEPT);
      // the group's web hosts filter outbound: the connection to the db opens their OUTPUT too
      expect(verdict(h, backend, outbound(h, '192.0.2.31', 5432))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, outbound(h, '192.0.2.32', 5432))).toBe(Verdict.REJECT);
    }
    expect(w1.ruleset.simulate(inbound('198.51.100.7', 443), backend).origins).toEqual(['f/web from 198.51.100.0/24 (office)']);
    expect(db).toAllow(inbound('2001:db8::12', 5432));
    expect(db).toReject(inbound('198.51.100.7', 443));
  });

  test.each(BACKENDS)('allowTo a Peer and allowToAnyIpv4/6 open OUTPUT of a filtering host only to it (%s)', (backend) => {
    const { w1, w2, web } = fleet(Testing.app(), backend);
    w1.connections.allowTo(Peer.ipv4('198.51.100.53'), Port.DNS_UDP, 'resolver');
    web.connections.allowToAnyIpv4(Port.HTTPS);
    web.connections.allowToAnyIpv6(Port.tcp(8443));
    const udp = (h: StatefulHost, to: string) => Packet.udp({ from: h.addresses[0], to, port: 53, direction: Direction.OUTBOUND });
    expect(verdict(w1, backend, udp(w1, '198.51.100.53'))).toBe(Verdict.ACCEPT);
    expect(w1.ruleset.simulate(udp(w1, '198.51.100.53'), backend).origins).toEqual(['f/w1 to 198.51.100.53 (resolver)']);
    expect(verdict(w1, backend, udp(w1, '198.51.100.54'))).toBe(Verdict.REJECT);
    expect(verdict(w2, backend, udp(w2, '198.51.100.53'))).toBe(Verdict.REJECT);
    for (const h of [w1, w2]) {
      expect(verdict(h, backend, outbound(h, '203.0.113.80', 443))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, outbound(h, '2001:db8:300::80', 443))).toBe(Verdict.REJECT);
      expect(verdict(h, backend, outbound(h, '2001:db8:300::80', 8443))).toBe(Verdict.ACCEPT);
      expect(verdict(h, backend, outbound(h, '203.0.113.80', 8443))).toBe(Verdict.REJECT);
      // nothing inbound was opened
      expect(verdict(h, backend, inbound('203.0.113.80', 443))).toBe(Verdict.REJECT);
    }
  });

  test('allowFromAnyIpv4 / allowFromAnyIpv6 open one family each, as Peer.anyIpv4() / anyIpv6() would', () => {
    const { db } = fleet();
    db.connections.allowFromAnyIpv4(Port.SSH);
    db.connections.allowFromAnyIpv6(Port.HTTP);
    expect(db).toAllow(inbound('203.0.113.1', 22));
    expect(db).toReject(inbound('2001:db8:1::1', 22));
    expect(db).toAllow(inbound('2001:db8:1::1', 80));
    expect(db).toReject(inbound('203.0.113.1', 80));
    expect(db.connections.ingressRules.map((r) => `${r.from.toPeer()} ${r.ports.join()}`)).toEqual(['any IPv4 tcp/22', 'any IPv6 tcp/80']);
  });

  test('allowTo a Peer from a host that does not filter outbound is an error naming it (it would open nothing)', () => {
    const { app, db, web } = fleet();
    db.connections.allowTo(Peer.ipv4('198.51.100.0/24'), Port.HTTPS);
    const mixed = new HostGroup(web.node.scope!, 'mixed');
    mixed.addHost(db);
    mixed.connections.allowToAnyIpv4(Port.SSH);
    expect(synthErrors(app)).toEqual([
      '[f/db] f/db to 198.51.100.0/24: connections.allowTo a Peer allows outbound traffic, but f/db does not filter it: set outboundFiltering: true, or remove the connection',
      '[f/db] f/mixed to any IPv4: connections.allowTo a Peer allows outbound traffic, but f/db does not filter it: set outboundFiltering: true, or remove the connection',
    ]);
  });

  test('a Peer of a family the host lacks is an error, as in a Service', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'f');
    const v4 = new StatefulHost(stack, 'v4', { address: '192.0.2.1', ipFamilies: [IpFamily.IPV4] });
    v4.addAdminAccess('Ops', { peers: [Peer.ipv4('192.0.2.250')] });
    v4.connections.allowFrom(Peer.ipv6('2001:db8::/32'), Port.SSH);
    expect(synthErrors(app).join('\n')).toContain('f/v4 from 2001:db8::/32: peer 2001:db8::/32 is IPv6 but');
  });

  test('a Peer after the host was frozen is refused like any other change', () => {
    const { app, db } = fleet();
    app.synth();
    expect(() => db.connections.allowFrom(Peer.ipv4('198.51.100.1'), Port.SSH)).toThrow(/f\/db/);
    expect(() => db.connections.allowTo(Peer.ipv4('198.51.100.1'), Port.SSH)).toThrow(/f\/db/);
  });

  test('the fleet diagram draws a Peer source as an external node', () => {
    const { stack, web } = fleet();
    web.connections.allowFrom(Peer.ipv4('198.51.100.0/24'), Port.HTTPS);
    const text = FleetDiagram.mermaid(stack);
    expect(text).toContain('198.51.100.0/24');
    expect(text).toContain('p_198_51_100_0_24 -- "tcp/443" --> g_f_web');
  });
});
