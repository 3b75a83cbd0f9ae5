// Machines the stack itself creates, with firewalls between them: web, app and db roles,
// whose addresses Terraform knows only once it has created the machines. Each machine is
// a `terraform_data` resource here (its `output` is known only after apply, exactly like
// an `aws_instance`'s `privateIp` or an `hcloud_server`'s `ipv4Address`), so the example
// synthesizes and plans without any provider download; README.md shows the same code
// with aws_instance and hcloud_server.
//
// The hosts' addresses are tokens: rules that refer to them (db allows app on 5432, app
// allows web on 8080, SSH from the bastion everywhere) match named sets whose members the
// deploy fills in on each host, after checking they are IPv4 addresses. A replaced app
// machine re-provisions exactly the hosts whose rules refer to it (db), not web.
//
// In your own project, import from 'cdktf-stateful-firewall' instead of '../../src'.
import { App, Aspects, DataResource, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { FleetBaseline, HostGroup, Peer, Port, ProvisioningResource, StatefulHost } from '../../src';

/** Each machine's SSH host key would come from the provider (or cloud-init); one for the example. */
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf';

export class CloudFleetStack extends TerraformStack {
  public readonly web: HostGroup;
  public readonly app: HostGroup;
  public readonly db: HostGroup;
  public readonly bastion: StatefulHost;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // the address plan an operator passes in (a stand-in for the subnet the cloud assigns from)
    const appAddress = new TerraformVariable(this, 'app_address', { type: 'string', default: '10.0.1.10' });

    /** A machine: its address is known only after apply. */
    const machine = (name: string, address: string): string => {
      const instance = new DataResource(this, `${name}-machine`, { input: { ip: address }, triggersReplace: [address] });
      return instance.getStringAttribute('output.ip');
    };
    const host = (name: string, address: string, group?: HostGroup): StatefulHost => {
      const h = new StatefulHost(this, name, {
        address: machine(name, address),
        deployment: { resource: ProvisioningResource.TERRAFORM_DATA, connection: { hostKey: HOST_KEY } },
      });
      group?.addHost(h);
      return h;
    };

    this.web = new HostGroup(this, 'web');
    this.app = new HostGroup(this, 'app');
    this.db = new HostGroup(this, 'db');
    host('web-1', '10.0.0.10', this.web);
    host('web-2', '10.0.0.11', this.web);
    host('app-1', appAddress.stringValue, this.app);
    host('db-1', '10.0.2.10', this.db);
    this.bastion = host('bastion', '10.0.9.10');

    this.web.addService('Https', { ports: [Port.HTTPS] });
    this.app.connections.allowFrom(this.web, Port.tcp(8080), 'api');
    this.db.connections.allowFrom(this.app, Port.POSTGRES, 'queries');
    // the operators' office reaches the bastion; the bastion reaches every other host
    this.bastion.addAdminAccess('Office', { peers: [Peer.ipv4('198.51.100.0/24')] });
    Aspects.of(this).add(new FleetBaseline({ adminFrom: [this.bastion], exclude: [this.bastion] }));
  }
}

/** Builds the example app; `outdir` defaults to ./cdktf.out (or CDKTF_OUTDIR under `cdktf synth`). */
export function buildApp(outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  new CloudFleetStack(app, 'cloud-fleet');
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
