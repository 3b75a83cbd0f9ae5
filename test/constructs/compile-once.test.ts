import * as path from 'path';
import { App, Aspects, TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { Backend, FleetBaseline, HostGroup, Packet, Peer, Port, Service, StatefulHost } from '../../src';
import * as compile from '../../src/core/compile/compile';
import '../../src/testing/jest';

/** Two stacks, groups with connections in both directions, outbound filtering, an Aspect, both backends. */
function fleet(app: App) {
  const stack = new TerraformStack(app, 'fleet');
  const web = new HostGroup(stack, 'web');
  const db = new HostGroup(stack, 'db');
  const bastion = new HostGroup(stack, 'bastion');
  const hosts: StatefulHost[] = [];
  const host = (scope: Construct, id: string, n: number, group: HostGroup, backend: Backend, outboundFiltering = false) => {
    const h = new StatefulHost(scope, id, { address: `192.0.2.${n}`, addresses: [`192.0.2.${n}`, `2001:db8::${n}`], backend, outboundFiltering });
    group.addHost(h);
    hosts.push(h);
    return h;
  };
  for (let i = 1; i <= 4; i++) host(stack, `web-${i}`, 10 + i, web, i % 2 ? Backend.IPTABLES : Backend.NFTABLES, i === 1);
  for (let i = 1; i <= 2; i++) host(stack, `db-${i}`, 20 + i, db, Backend.NFTABLES);
  const other = new TerraformStack(app, 'ops');
  host(other, 'bastion-1', 30, bastion, Backend.IPTABLES, true);
  web.addService('Https', { ports: [Port.HTTPS] });
  hosts[0].addOutbound('Dns', { peers: [Peer.ipv4('198.51.100.53')], ports: [Port.DNS_UDP] });
  db.connections.allowFrom(web, Port.POSTGRES, 'queries');
  Aspects.of(stack).add(new FleetBaseline({ adminFrom: [bastion] }));
  bastion.addAdminAccess('Office', { peers: [Peer.ipv4('203.0.113.0/24')] });
  return { stack, web, db, bastion, hosts };
}

/** How often each host's policy was compiled while `run` ran (the compiler itself runs). */
function compilations(run: () => void): Map<string, number> {
  const spy = jest.spyOn(compile, 'compileHostPolicy');
  try {
    run();
    const counts = new Map<string, number>();
    for (const [policy] of spy.mock.calls) counts.set(policy.name, (counts.get(policy.name) ?? 0) + 1);
    return counts;
  } finally {
    spy.mockRestore();
  }
}

describe('each host is compiled once per synth', () => {
  test('a synth of seven hosts in two stacks compiles each exactly once, and writes what the host allows', () => {
    const app = new App({ outdir: path.join(process.env.TMPDIR!, 'compile-once') });
    const { hosts } = fleet(app);
    const counts = compilations(() => app.synth());
    expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(hosts.map((h) => [h.hostName, 1])));
    // reading the results again compiles nothing
    const again = compilations(() => hosts.forEach((h) => [h.ruleset, h.renderedFiles, h.renderedFiles]));
    expect(again.size).toBe(0);
    const [web1] = hosts;
    const db1 = hosts.find((h) => h.hostName === 'db-1')!;
    expect(db1).toAllow(Packet.tcp({ from: '2001:db8::12', port: 5432 }));
    expect(db1).toAllow(Packet.tcp({ from: '192.0.2.30', port: 22 }));
    expect(web1.outboundAllowances.map((a) => a.origin)).toEqual([
      'fleet/web-1/Dns', 'fleet/web-1 to fleet/db (queries)',
    ]);
  });

  test('a host\'s constructor compiles nothing, yet refuses unusable options with its path', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    expect(compilations(() => new StatefulHost(stack, 'h', { address: '192.0.2.1', logDropped: { prefix: 'sfw h: ' } })).size).toBe(0);
    expect(() => new StatefulHost(stack, 'bad', { address: '192.0.2.2', logDropped: { prefix: 'a "quoted" prefix' } }))
      .toThrow('s/bad: log prefix \'a "quoted" prefix\' is not usable');
  });

  test('before the synth, a ruleset follows every change, and is compiled again only after one', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const group = new HostGroup(stack, 'g');
    const h = new StatefulHost(stack, 'h', { address: '192.0.2.1' });
    const other = new StatefulHost(stack, 'o', { address: '192.0.2.9' });
    const probe = Packet.tcp({ from: '192.0.2.9', port: 8080 });
    expect(h).toReject(probe);
    expect(compilations(() => [h.ruleset, h.renderedFiles, h.ruleset]).get('h') ?? 0).toBe(0);
    const changes: [string, () => void][] = [
      ['a group joined', () => group.addHost(h)],
      ['a connection into the group', () => group.connections.allowFrom(other, Port.tcp(8080))],
    ];
    for (const [, change] of changes) {
      change();
      expect(compilations(() => [h.ruleset, h.ruleset]).get('h')).toBe(1);
    }
    expect(h).toAllow(probe);
    new Service(group, 'Web', { ports: [Port.HTTP] });
    expect(h).toAllow(Packet.tcp({ from: '198.51.100.1', port: 80 }));
  });
});

describe('after validation, a change that would alter a compiled ruleset is an error naming the construct', () => {
  const frozen = (): ReturnType<typeof fleet> & { app: App } => {
    const app = Testing.app();
    const f = fleet(app);
    app.synth();
    return { ...f, app };
  };
  test.each<[string, (f: ReturnType<typeof frozen>) => void, string]>([
    ['a service on a host', (f) => f.hosts[0].addService('Late', { ports: [Port.HTTP] }), 'fleet/web-1: cannot add a construct under it: the firewall policy of fleet/web-1 was validated'],
    ['a service on a group', (f) => f.db.addService('Late', { ports: [Port.HTTP] }), 'fleet/db: cannot add a construct under it: the firewall policy of fleet/db-1, fleet/db-2 was validated'],
    ['a construct nested deeper', (f) => new Service(new Construct(f.hosts[1], 'Nested'), 'Late', { ports: [Port.HTTP] }), 'fleet/web-2: cannot add a construct under it'],
    ['a connection into a group', (f) => f.db.connections.allowFrom(f.bastion, Port.tcp(9000)), 'fleet/db: cannot allow connections from fleet/bastion'],
    ['a connection from an outbound-filtering host', (f) => f.hosts[0].connections.allowTo(new HostGroup(f.stack, 'New'), Port.HTTP), 'fleet/web-1: cannot allow connections to fleet/New'],
    ['a frozen host joining a group', (f) => new HostGroup(f.stack, 'New').addHost(f.hosts[2]), 'fleet/web-3: cannot join fleet/New'],
    ['a new member of a group others allow', (f) => f.web.addHost(new StatefulHost(f.stack, 'web-9', { address: '192.0.2.99' })), 'fleet/db: cannot add fleet/web-9 to the group'],
  ])('%s', (_, change, message) => {
    const f = frozen();
    const error = (() => {
      try {
        change(f);
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(error).toContain(message);
    expect(error).toContain('so the change would not reach its ruleset; make every declaration before app.synth()');
  });

  test('changes that alter no compiled ruleset stay allowed', () => {
    const f = frozen();
    // a new host, its services, a connection from a host that does not filter outbound
    const late = new StatefulHost(f.stack, 'late', { address: '192.0.2.77' });
    late.addService('Web', { ports: [Port.HTTP] });
    late.connections.allowFrom(f.db, Port.tcp(9000));
    expect(late).toAllow(Packet.tcp({ from: '192.0.2.21', port: 9000 }));
  });
});
