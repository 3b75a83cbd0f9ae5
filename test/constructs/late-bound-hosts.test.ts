import { Aspects, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { FleetBaseline, FleetDiagram, HostGroup, IpFamily, Packet, Peer, Port, StatefulHost } from '../../src';
import { bindAddresses } from '../../src/testing/jest';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf';

/** web (literal address), app-1 and app-2 and db and a bastion (addresses from Terraform variables). */
function fleet() {
  const stack = new TerraformStack(Testing.app(), 'cloud');
  const ip = (name: string) => new TerraformVariable(stack, name, { type: 'string' }).stringValue;
  const host = (id: string, address: string, group?: HostGroup) => {
    const h = new StatefulHost(stack, id, { address, deployment: { connection: { hostKey: KEY } } });
    group?.addHost(h);
    return h;
  };
  const app = new HostGroup(stack, 'app');
  const bastions = new HostGroup(stack, 'bastions');
  const web = host('web', '192.0.2.10');
  const app1 = host('app-1', ip('app1_ip'), app);
  const app2 = host('app-2', ip('app2_ip'), app);
  const db = host('db', ip('db_ip'));
  host('bastion', ip('bastion_ip'), bastions).addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.0/24')] });
  web.addService('Https', { ports: [Port.HTTPS] });
  app.connections.allowFrom(web, Port.tcp(8080));
  db.connections.allowFrom(app, Port.POSTGRES, 'queries');
  Aspects.of(stack).add(new FleetBaseline({ adminFrom: [bastions], exclude: bastions.hosts }));
  return { stack, web, app1, app2, db };
}

describe('hosts whose addresses Terraform knows only at deploy time', () => {
  test('a token address makes the host a late-bound peer of its declared family', () => {
    const { app1 } = fleet();
    expect(app1.peer!.isLateBound).toBe(true);
    expect(app1.peer!.families).toEqual([IpFamily.IPV4]);
    expect(app1.lateAddressFamily).toBe(IpFamily.IPV4);
  });

  test('connections from a group of token hosts compile to one set named after them, filled in at deploy', () => {
    const { stack, db } = fleet();
    Testing.synth(stack, true);
    const sets = (db.ruleset.model.sets ?? []).filter((s) => s.lateMembers);
    const labels = sets.map((s) => s.lateMembers!.map((m) => `${m.label}@${m.origin}`));
    expect(labels).toEqual(expect.arrayContaining([['app-1@cloud/app-1', 'app-2@cloud/app-2'], ['bastion@cloud/bastion']]));
    expect(sets.every((s) => s.elements.length === 0 && s.ipsetType === 'hash:ip')).toBe(true);
    expect(db.ruleset.lateBoundLabels).toEqual(['app-1', 'app-2', 'bastion']);
  });

  test('bound to addresses, the rules do what the declarations say', () => {
    const { stack, db, app1 } = fleet();
    Testing.synth(stack, true);
    const bound = bindAddresses(db, { 'app-1': ['10.0.1.5'], 'app-2': ['10.0.1.6'], 'bastion': ['10.0.9.9'] });
    expect(bound).toAllow(Packet.tcp({ from: '10.0.1.5', port: 5432 }));
    expect(bound).toAllow(Packet.tcp({ from: '10.0.1.6', port: 5432 }));
    expect(bound).toReject(Packet.tcp({ from: '192.0.2.10', port: 5432 }));
    expect(bound).toReject(Packet.tcp({ from: '10.0.9.9', port: 5432 }));
    expect(bound).toAllow(Packet.tcp({ from: '10.0.9.9', port: 22 }));
    expect(bound).toReject(Packet.tcp({ from: '10.0.1.5', port: 22 }));
    // unbound: the sets are empty, nothing from them gets in
    expect(db).toReject(Packet.tcp({ from: '10.0.1.5', port: 5432 }));
    // the app hosts accept the literal web host
    expect(app1).toAllow(Packet.tcp({ from: '192.0.2.10', port: 8080 }));
    expect(app1).toReject(Packet.tcp({ from: '192.0.2.11', port: 8080 }));
  });

  test('lateAddressFamily IPv6 puts the token in an IPv6 set; a family the host lacks is an error with the path', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const v = new TerraformVariable(stack, 'v6', { type: 'string' }).stringValue;
    const h6 = new StatefulHost(stack, 'h6', { address: v, lateAddressFamily: IpFamily.IPV6 });
    expect(h6.peer!.families).toEqual([IpFamily.IPV6]);
    expect(() => new StatefulHost(stack, 'h4', { address: v, lateAddressFamily: IpFamily.IPV6, ipFamilies: [IpFamily.IPV4] }))
      .toThrow(/^s\/h4: the host's addresses known only at deploy are IPv6 \(lateAddressFamily\), but the host's ipFamilies lack that family/);
    expect(() => new StatefulHost(stack, 'h5', { address: v, lateAddressFamily: 'ipv7' as IpFamily })).toThrow(/^s\/h5: lateAddressFamily/);
  });

  test('tokens in addresses sit next to literal addresses', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const v = new TerraformVariable(stack, 'v', { type: 'string' }).stringValue;
    const h = new StatefulHost(stack, 'h', { address: 'h.example.net', addresses: [v, '2001:db8::7'] });
    const db = new StatefulHost(stack, 'db', { address: '192.0.2.1' });
    db.connections.allowFrom(h, Port.POSTGRES);
    expect(db).toAllow(Packet.tcp({ from: '2001:db8::7', port: 5432 }));
    expect(bindAddresses(db, { h: ['198.51.100.4'] })).toAllow(Packet.tcp({ from: '198.51.100.4', port: 5432 }));
  });

  test('a token peer in a Service is a late-bound set named after the service', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const cidr = new TerraformVariable(stack, 'office', { type: 'string' }).stringValue;
    const h = new StatefulHost(stack, 'h', { address: '192.0.2.1' });
    h.addService('Office', { ports: [Port.HTTPS], peers: [Peer.ipv4(cidr)] });
    const set = h.ruleset.model.sets!.find((s) => s.lateMembers)!;
    expect(set.ipsetType).toBe('hash:net');
    expect(bindAddresses(h, { Office: ['198.51.100.0/24'] })).toAllow(Packet.tcp({ from: '198.51.100.77', port: 443 }));
    expect(h).toReject(Packet.tcp({ from: '198.51.100.77', port: 443 }));
  });

  test('the fleet diagram draws token hosts with "address known at deploy" and only connections that compile', () => {
    const { stack } = fleet();
    const mmd = FleetDiagram.mermaid(stack);
    expect(mmd).toContain('db<br/>address known at deploy');
    expect(mmd).toMatch(/h_cloud_app_1 -- "tcp\/5432" --> h_cloud_db|g_cloud_app|h_cloud_app_1/);
    expect(mmd).not.toContain('TfToken');
  });
});
