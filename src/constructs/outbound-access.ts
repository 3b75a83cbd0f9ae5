import { Construct } from 'constructs';
import { requireDeclarationScope } from './placement';
import { checkElements, checkNonEmpty, checkValues, constructError, icmpFamilyProblem } from './validation';
import { Allowance } from '../core/policy/host-policy';
import { Peer } from '../core/values/peer';
import { Port } from '../core/values/port';

/**
 * Options for `OutboundAccess`.
 */
export interface OutboundAccessOptions {
  /** The destination ports. */
  readonly ports: Port[];

  /**
   * The destinations.
   *
   * @default [Peer.any()] - anywhere, IPv4 and IPv6
   */
  readonly peers?: Peer[];
}

/**
 * Properties of `OutboundAccess`.
 */
export interface OutboundAccessProps extends OutboundAccessOptions {}

/**
 * Something the host may connect to when its outbound traffic is filtered
 * (`outboundFiltering: true`): DNS resolvers, NTP servers, package mirrors.
 *
 * @example
 * host.addOutbound('Dns', { ports: [Port.DNS_UDP, Port.DNS_TCP], peers: [Peer.ipv4('192.0.2.53')] });
 */
export class OutboundAccess extends Construct {
  /** The destination ports. */
  public readonly ports: Port[];
  /** The destinations. */
  public readonly peers: Peer[];

  public constructor(scope: Construct, id: string, props: OutboundAccessProps) {
    super(scope, id);
    checkNonEmpty(this, 'ports', props.ports, 'e.g. ports: [Port.DNS_UDP]');
    if (props.peers !== undefined) checkNonEmpty(this, 'peers', props.peers, "omit peers to allow any destination, or list e.g. Peer.ipv4('192.0.2.53')");
    checkElements(this, 'ports', props.ports, Port);
    if (props.peers !== undefined) checkElements(this, 'peers', props.peers, Peer);
    this.ports = [...props.ports];
    this.peers = props.peers ? [...props.peers] : [Peer.any()];
    checkValues(this, [...this.ports, ...this.peers]);
    const icmp = icmpFamilyProblem(this.ports, this.peers);
    if (icmp) throw constructError(this, icmp.replace('every peer', 'every destination').replace('opens nothing', 'allows nothing').replace('peers, or', 'destinations, or'));
    requireDeclarationScope(this, 'OutboundAccess', 'allows nothing', 'addOutbound');
  }

  /** The outbound opening this construct declares (peers are destinations). */
  public get allowances(): Allowance[] {
    return [{ origin: this.node.path, ports: this.ports, peers: this.peers }];
  }
}
