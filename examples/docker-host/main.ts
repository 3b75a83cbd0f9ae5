// A Docker host: a database and a web app run in containers and publish their ports
// (`docker run -p 5432:5432 postgres`, `docker run -p 8080:80 app`). Docker DNATs such
// connections and forwards them to the container, past INPUT: an INPUT-only firewall leaves
// every published port open to the world. Declared as published services, they obey peers
// like any other service; the host's own services (SSH for the operators, a metrics agent)
// stay on INPUT.
//
// iptables: the published ports are checked in the library's chain SFW-PUBLISHED, jumped to
// from Docker's DOCKER-USER (Docker's own chains and rules are left alone). nftables: a
// forward-hook chain in the library's table.
//
// In your own project, import from 'cdktf-stateful-firewall' instead of '../../src'.
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Backend, DefaultAction, Peer, Port, StatefulHost } from '../../src';

/** The Docker host's SSH host key (ed25519). */
export const DOCKER_HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf';

/** The office network, the only one that may reach the database. */
export const OFFICE = '198.51.100.0/24';

export interface DockerHostStackProps {
  /** @default Backend.IPTABLES */
  readonly backend?: Backend;
}

export class DockerHostStack extends TerraformStack {
  public readonly docker: StatefulHost;

  constructor(scope: Construct, id: string, props: DockerHostStackProps = {}) {
    super(scope, id);

    this.docker = new StatefulHost(this, 'docker', {
      address: '203.0.113.20',
      addresses: ['203.0.113.20', '2001:db8:20::20'],
      backend: props.backend,
      defaultAction: DefaultAction.REJECT,
      logDropped: {},
      deployment: { connection: { hostKey: DOCKER_HOST_KEY } },
    });
    // the host's own services: INPUT
    this.docker.addAdminAccess('Operators', { peers: [Peer.ipv4('192.0.2.0/28'), Peer.ipv6('2001:db8:ff::/48')] });
    this.docker.addService('NodeExporter', { ports: [Port.tcp(9100)], peers: [Peer.ipv4('192.0.2.50')] });
    // the containers' published ports: DOCKER-USER (iptables) or the forward hook (nftables)
    this.docker.addService('Postgres', { ports: [Port.POSTGRES], peers: [Peer.ipv4(OFFICE)], published: true });
    this.docker.addService('WebApp', { ports: [Port.tcp(8080)], published: true }); // -p 8080:80, for everyone
  }
}

/** Builds the example app; `outdir` defaults to ./cdktf.out (or CDKTF_OUTDIR under `cdktf synth`). */
export function buildApp(outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  new DockerHostStack(app, 'docker-host');
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
