// The public web server from the discussion this project grew from:
// HTTP and HTTPS for everyone, SSH for the webmasters at 10.9.8.7-10.9.8.10,
// everything else rejected with icmp-host-prohibited.
//
// The library keeps that intent and fixes the discussion's flaws by default:
// INVALID packets are dropped, loopback is accepted, only a SYN may open a TCP
// connection, and IPv6 gets the same policy (plus neighbour discovery).
//
// In your own project, import from 'cdktf-stateful-firewall' instead of '../../src'.
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DefaultAction, Peer, Port, StatefulHost } from '../../src';

/** The web server's SSH host key (ed25519). */
export const WEB_HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf';

export class WebServerStack extends TerraformStack {
  public readonly web: StatefulHost;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.web = new StatefulHost(this, 'web', {
      address: '203.0.113.10',
      defaultAction: DefaultAction.REJECT_HOST_PROHIBITED,
      // the discussion rejects everything it does not name, ping included
      allowPing: false,
      // the deploy logs in only if the host presents this key: `ssh-keyscan -t ed25519 203.0.113.10`,
      // compared with the fingerprint the provider's console shows (policy check SFW6)
      deployment: { connection: { hostKey: WEB_HOST_KEY } },
    });
    this.web.addService('Website', { ports: [Port.HTTP, Port.HTTPS] });
    this.web.addAdminAccess('Webmasters', {
      peers: [Peer.ipv4Range('10.9.8.7', '10.9.8.10')],
    });
  }
}

/** Builds the example app; `outdir` defaults to ./cdktf.out (or CDKTF_OUTDIR under `cdktf synth`). */
export function buildApp(outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  new WebServerStack(app, 'webserver');
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
