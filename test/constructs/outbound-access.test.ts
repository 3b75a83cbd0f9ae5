import { App, TerraformStack, Testing } from 'cdktf';
import { Direction, HostGroup, IpFamily, OutboundAccess, Packet, Peer, Port, StatefulHost, Verdict } from '../../src';

function fleet() {
  const stack = new TerraformStack(Testing.app(), 'f');
  const app = new HostGroup(stack, 'app');
  const db = new HostGroup(stack, 'db');
  const a1 = new StatefulHost(stack, 'a1', { address: '192.0.2.21', addresses: ['192.0.2.21', '2001:db8::21'], outboundFiltering: true });
  const d1 = new StatefulHost(stack, 'd1', { address: '192.0.2.31', addresses: ['192.0.2.31', '2001:db8::31'] });
  app.addHost(a1);
  db.addHost(d1);
  db.connections.allowFrom(app, Port.POSTGRES, 'queries');
  return { stack, app, db, a1, d1 };
}

const out = (h: StatefulHost, to: string, port: number) =>
  h.ruleset.simulate(Packet.tcp({ from: to.includes(':') ? '2001:db8::21' : '192.0.2.21', to, port, direction: Direction.OUTBOUND })).verdict;

describe('OutboundAccess and outbound connections', () => {
  test('connections from a filtered host open its OUTPUT to exactly the target\'s addresses, both families', () => {
    const { a1 } = fleet();
    expect(out(a1, '192.0.2.31', 5432)).toBe(Verdict.ACCEPT);
    expect(out(a1, '2001:db8::31', 5432)).toBe(Verdict.ACCEPT);
    expect(out(a1, '192.0.2.32', 5432)).toBe(Verdict.REJECT);
    expect(out(a1, '192.0.2.31', 22)).toBe(Verdict.REJECT);
    expect(a1.ruleset.simulate(Packet.tcp({ from: '192.0.2.21', to: '192.0.2.31', port: 5432, direction: Direction.OUTBOUND })).origins).toEqual(['f/a1 to f/db (queries)']);
  });

  test('declared destinations; a host added to the target group later is reachable too', () => {
    const { stack, a1, db } = fleet();
    a1.addOutbound('Dns', { ports: [Port.DNS_UDP, Port.DNS_TCP], peers: [Peer.ipv4('192.0.2.53')] });
    new OutboundAccess(a1, 'Mirrors', { ports: [Port.HTTPS] });
    expect(a1.ruleset.simulate(Packet.udp({ from: '192.0.2.21', to: '192.0.2.53', port: 53, direction: Direction.OUTBOUND })).verdict).toBe(Verdict.ACCEPT);
    expect(out(a1, '203.0.113.80', 443)).toBe(Verdict.ACCEPT);
    db.addHost(new StatefulHost(stack, 'd2', { address: '192.0.2.99' }));
    expect(out(a1, '192.0.2.99', 5432)).toBe(Verdict.ACCEPT);
  });

  test('hosts without outbound filtering have no OUTPUT chain', () => {
    const { d1 } = fleet();
    expect(d1.ruleset.toIptablesRestore(IpFamily.IPV4)).not.toContain('SFW-OUTPUT');
    expect(out(d1, '198.51.100.1', 25)).toBe(Verdict.ACCEPT);
  });

  test('OutboundAccess on a host that does not filter outbound traffic is an error', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const h = new StatefulHost(new TerraformStack(app, 's'), 'h', { address: '192.0.2.1' });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    h.addOutbound('Dns', { ports: [Port.DNS_UDP] });
    expect(() => app.synth()).toThrow('[s/h] s/h/Dns allows outbound traffic, but s/h does not filter it: set outboundFiltering: true, or remove the OutboundAccess');
  });
});
