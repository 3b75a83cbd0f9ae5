import { App, TerraformStack, Testing } from 'cdktf';
import { HostGroup, IpFamily, Packet, Peer, Port, StatefulHost } from '../../src';
import '../../src/testing/jest';
import { warnings } from '../support/synth';

function fleet() {
  const stack = new TerraformStack(Testing.app(), 'fleet');
  const web = new HostGroup(stack, 'web');
  const app = new HostGroup(stack, 'app');
  const db = new HostGroup(stack, 'db');
  const host = (id: string, v4: string, v6: string, group: HostGroup) => {
    const h = new StatefulHost(stack, id, { address: v4, addresses: [v4, v6] });
    group.addHost(h);
    return h;
  };
  const web1 = host('web-1', '192.0.2.11', '2001:db8::11', web);
  const app1 = host('app-1', '192.0.2.21', '2001:db8::21', app);
  const app2 = host('app-2', '192.0.2.22', '2001:db8::22', app);
  const db1 = host('db-1', '192.0.2.31', '2001:db8::31', db);
  web.addService('Https', { ports: [Port.HTTPS] });
  db.connections.allowFrom(app, Port.POSTGRES, 'queries');
  app.connections.allowFrom(web, Port.tcp(8080));
  return { stack, web, app, db, web1, app1, app2, db1 };
}

describe('HostGroup and Connections', () => {
  test('a group\'s services apply to every member', () => {
    const { web1, app1 } = fleet();
    expect(web1).toAllow(Packet.tcp({ from: '198.51.100.1', port: 443 }));
    expect(app1).toReject(Packet.tcp({ from: '198.51.100.1', port: 443 }));
  });

  test('db.connections.allowFrom(app, ...) opens the db to exactly the app servers, both families', () => {
    const { db1 } = fleet();
    for (const from of ['192.0.2.21', '192.0.2.22', '2001:db8::21', '2001:db8::22']) expect(db1).toAllow(Packet.tcp({ from, port: 5432 }));
    for (const from of ['192.0.2.11', '192.0.2.20', '192.0.2.23', '2001:db8::11']) expect(db1).toReject(Packet.tcp({ from, port: 5432 }));
    // the two app servers are adjacent: one rule per family
    expect(db1.ruleset.toIptablesRestore(IpFamily.IPV4)).toContain('-m iprange --src-range 192.0.2.21-192.0.2.22 -m conntrack --ctstate NEW -m tcp --dport 5432');
    expect(db1.ruleset.simulate(Packet.tcp({ from: '192.0.2.21', port: 5432 })).origins).toEqual(['fleet/db from fleet/app (queries)']);
  });

  test('adding a host to a group later updates every ruleset that refers to the group', () => {
    const { stack, app, db1 } = fleet();
    expect(db1).toReject(Packet.tcp({ from: '192.0.2.99', port: 5432 }));
    app.addHost(new StatefulHost(stack, 'app-3', { address: '192.0.2.99' }));
    expect(db1).toAllow(Packet.tcp({ from: '192.0.2.99', port: 5432 }));
  });

  test('a host in several groups gets all their declarations, merged', () => {
    const { app, web1 } = fleet();
    app.addHost(web1);
    app.addHost(web1);
    expect(web1.groups.map((g) => g.node.id)).toEqual(['web', 'app']);
    expect(web1).toAllow(Packet.tcp({ from: '192.0.2.11', port: 8080 }));
    expect(web1.ruleset.toNftables()).toMatch(/tcp \. 0-65535 \. 443 : goto /);
    expect(app.hosts.map((h) => h.node.id)).toEqual(['app-1', 'app-2', 'web-1']);
  });

  test('host-to-host connections, allowTo and allowInternally', () => {
    const { web1, db1, app } = fleet();
    web1.connections.allowTo(db1, Port.tcp(9187));
    app.connections.allowInternally(Port.tcp(7946));
    const [app1] = app.hosts;
    expect(db1).toAllow(Packet.tcp({ from: '2001:db8::11', port: 9187 }));
    expect(app1).toAllow(Packet.tcp({ from: '192.0.2.22', port: 7946 }));
    expect(app1).toReject(Packet.tcp({ from: '192.0.2.11', port: 7946 }));
  });

  test('admin access on a group satisfies SFW4 for its members; an empty source group is an error', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const stack = new TerraformStack(app, 'fleet');
    const all = new HostGroup(stack, 'all');
    const empty = new HostGroup(stack, 'bastions');
    all.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    const h = new StatefulHost(stack, 'h', { address: '192.0.2.1', deployment: { connection: { hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf' } } });
    all.addHost(h);
    h.connections.allowFrom(empty, Port.SSH);
    expect(() => app.synth()).toThrow('connections into fleet/h from fleet/bastions would open nothing: fleet/bastions has no hosts with addresses');
    expect(warnings(h)).toEqual([]);
  });

  test('host addresses are validated', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    expect(() => new StatefulHost(stack, 'h', { address: 'h.example.net', addresses: ['192.0.2.1', 'h.example.net'] })).toThrow(
      "s/h: address 'h.example.net' in addresses is not an IPv4 or IPv6 address: list the host's own addresses, e.g. ['192.0.2.10', '2001:db8::10']",
    );
    expect(new StatefulHost(stack, 'dns', { address: 'h.example.net' }).peer).toBeUndefined();
  });
});
