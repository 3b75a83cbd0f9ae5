// A fleet of 52 hosts in four roles, declared once per role:
// - web (20 hosts): HTTP and HTTPS for everyone;
// - app (20 hosts): port 8080 from the web servers only;
// - db (10 hosts): PostgreSQL from the app servers only;
// - bastion (2 hosts): SSH from the office; every other host takes SSH from the bastions only
//   (an organization-wide policy applied with a cdktf Aspect).
// Each host gets its own ruleset; the fleet diagram is written with the synth output.
//
// In your own project, import from 'cdktf-stateful-firewall' instead of '../../src'.
import { App, Aspects, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { FleetBaseline, FleetDiagram, HostGroup, Peer, PolicyChecks, Port, StatefulHost } from '../../src';

export const OFFICE = Peer.ipv4('198.51.100.0/24');

export class FleetStack extends TerraformStack {
  public readonly web: HostGroup;
  public readonly app: HostGroup;
  public readonly db: HostGroup;
  public readonly bastion: HostGroup;

  constructor(scope: Construct, id: string, sizes = { web: 20, app: 20, db: 10, bastion: 2 }) {
    super(scope, id);
    this.web = new HostGroup(this, 'web');
    this.app = new HostGroup(this, 'app');
    this.db = new HostGroup(this, 'db');
    this.bastion = new HostGroup(this, 'bastion');

    const hosts = (group: HostGroup, count: number, v4: (i: number) => string, v6: (i: number) => string) => {
      for (let i = 1; i <= count; i++) {
        const name = `${group.node.id}-${i}`;
        group.addHost(new StatefulHost(this, name, { address: v4(i), addresses: [v4(i), v6(i)] }));
      }
    };
    hosts(this.web, sizes.web, (i) => `192.0.2.${10 + i}`, (i) => `2001:db8:1::${(10 + i).toString(16)}`);
    hosts(this.app, sizes.app, (i) => `192.0.2.${100 + i}`, (i) => `2001:db8:2::${(100 + i).toString(16)}`);
    hosts(this.db, sizes.db, (i) => `203.0.113.${10 + i}`, (i) => `2001:db8:3::${(10 + i).toString(16)}`);
    hosts(this.bastion, sizes.bastion, (i) => `203.0.113.${200 + i}`, (i) => `2001:db8:4::${(200 + i).toString(16)}`);

    this.web.addService('Website', { ports: [Port.HTTP, Port.HTTPS] });
    this.app.connections.allowFrom(this.web, Port.tcp(8080), 'api');
    this.db.connections.allowFrom(this.app, Port.POSTGRES, 'queries');
    this.bastion.addAdminAccess('Office', { peers: [OFFICE] });

    // every host but the bastions takes SSH from the bastions only
    Aspects.of(this).add(new FleetBaseline({ adminFrom: [this.bastion], exclude: this.bastion.hosts }));
    // A real fleet pins every host's SSH key, the one its provisioning generated (e.g. a
    // tls_private_key's public_key_openssh), with deployment: { connection: { hostKey } }.
    // These addresses are documentation ranges: nothing answers there to pin.
    PolicyChecks.of(this).acknowledge('SFW6', 'documentation addresses (RFC 5737, RFC 3849): the example fleet is never deployed as it is');
    new FleetDiagram(this, 'Diagram');
  }
}

/** Builds the example app; `outdir` defaults to ./cdktf.out (or CDKTF_OUTDIR under `cdktf synth`). */
export function buildApp(outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  new FleetStack(app, 'fleet');
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
