import { App, TerraformStack, Testing } from 'cdktf';
import { Peer, PolicyChecks, Port, StatefulHost } from '../../../src';
import { warnings } from '../../support/synth';

function setup(): { app: App; host: StatefulHost } {
  const app = new App({ outdir: Testing.app().outdir });
  const stack = new TerraformStack(app, 'stack');
  const host = new StatefulHost(stack, 'docker', { address: '192.0.2.10', deployment: { enabled: false } });
  host.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
  return { app, host };
}

describe('SFW7: database port published by a container to anyone', () => {
  test('a published PostgreSQL open to anyone warns (SFW7, not SFW2), naming the declaration and the fix', () => {
    const { app, host } = setup();
    host.addService('Db', { ports: [Port.POSTGRES], published: true });
    app.synth();
    const w = warnings(host).filter((x) => /SFW[27]/.test(x));
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^\[SFW7\] .*container port .*5432.* is published to any ipv4 and ipv6 address \(stack\/docker\/Db\): list the clients as peers/);
  });

  test('a published database restricted to peers, or a published web port, is fine; the host\'s own database open to anyone is still SFW2', () => {
    const { app, host } = setup();
    host.addService('Db', { ports: [Port.POSTGRES], peers: [Peer.ipv4('198.51.100.0/24')], published: true });
    host.addService('Web', { ports: [Port.HTTPS], published: true });
    host.addService('Redis', { ports: [Port.tcp(6379)] });
    app.synth();
    const w = warnings(host).filter((x) => /SFW[27]/.test(x));
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^\[SFW2\] .*6379/);
  });

  test('it can be acknowledged like any check', () => {
    const { app, host } = setup();
    host.addService('Db', { ports: [Port.POSTGRES], published: true });
    PolicyChecks.of(host).acknowledge('SFW7', 'a public demo database');
    app.synth();
    expect(warnings(host).filter((x) => /SFW7/.test(x))).toEqual([]);
  });
});
