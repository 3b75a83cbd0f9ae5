// A public DNS resolver that takes floods: the features of a firewall that meets real
// traffic, declared on one host.
//
// - DNS over UDP from the customer networks is untracked (notrack): every query would
//   otherwise take a conntrack entry, and a flood of them would fill the table for every
//   service. DNS over TCP stays tracked, with a SYN-flood cap and a per-source limit.
// - SSH from the operators, with a brute-force limit.
// - Ping rate-limited (the default), refused packets logged at a rate limit.
// - Outbound filtering: the resolver may only ask upstream DNS servers and NTP.
// - The conntrack table sized for the TCP and SSH connections expected at once.
//
// In your own project, import from 'cdktf-stateful-firewall' instead of '../../src'.
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { OverLimitAction, Peer, Port, RateUnit, StatefulHost } from '../../src';

export const CUSTOMERS = [Peer.ipv4('198.51.100.0/24'), Peer.ipv6('2001:db8:100::/48')];
export const OPERATORS = [Peer.ipv4('192.0.2.10'), Peer.ipv4('192.0.2.11')];
export const UPSTREAM = [Peer.ipv4('203.0.113.53'), Peer.ipv6('2001:db8:53::53')];

/** The resolver's SSH host key (ed25519), from `ssh-keyscan -t ed25519 192.0.2.53`, verified on its console. */
export const NS1_HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4NFPEMjaznX3G5Im5h4M2kh4lHExs7X46bqlD/Nn3+';

export class ResolverStack extends TerraformStack {
  public readonly ns: StatefulHost;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.ns = new StatefulHost(this, 'ns1', {
      address: '192.0.2.53',
      addresses: ['192.0.2.53', '2001:db8::53'],
      logDropped: { rateLimit: { rate: 10, unit: RateUnit.MINUTE } },
      outboundFiltering: true,
      conntrack: { expectedConnections: 1_000 }, // its own queries upstream
      // the deploy logs in only if the resolver presents its own key (policy check SFW6)
      deployment: { connection: { hostKey: NS1_HOST_KEY } },
    });
    this.ns.addService('DnsUdp', { ports: [Port.DNS_UDP], peers: CUSTOMERS, notrack: true });
    this.ns.addService('DnsTcp', {
      ports: [Port.DNS_TCP],
      peers: CUSTOMERS,
      expectedConnections: 20_000,
      limits: {
        synFloodLimit: { rate: 500, unit: RateUnit.SECOND, burst: 1000 },
        concurrentPerSource: 50,
        overLimitAction: OverLimitAction.REJECT,
      },
    });
    this.ns.addAdminAccess('Operators', {
      peers: OPERATORS,
      limits: { newConnectionsPerSource: { rate: 10, unit: RateUnit.MINUTE, burst: 5 } },
    });
    this.ns.addOutbound('Upstream', { ports: [Port.DNS_UDP, Port.DNS_TCP], peers: UPSTREAM });
    this.ns.addOutbound('Ntp', { ports: [Port.NTP] });
  }
}

/** Builds the example app; `outdir` defaults to ./cdktf.out (or CDKTF_OUTDIR under `cdktf synth`). */
export function buildApp(outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  new ResolverStack(app, 'resolver');
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
