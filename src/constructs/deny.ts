import { Construct } from 'constructs';
import { requireDeclarationScope } from './placement';
import { checkElements, checkNonEmpty, checkValues, constructError, icmpFamilyProblem } from './validation';
import { Denial } from '../core/policy/host-policy';
import { Peer } from '../core/values/peer';
import { Port } from '../core/values/port';

/**
 * Options for `Deny`.
 */
export interface DenyOptions {
  /** The peers to block. */
  readonly peers: Peer[];

  /**
   * Block only these ports.
   *
   * @default - all traffic from the peers
   */
  readonly ports?: Port[];
}

/**
 * Properties of `Deny`.
 */
export interface DenyProps extends DenyOptions {}

/**
 * A block list: new traffic from the peers is dropped before any opening is considered
 * (connections that were already established are left alone). Denying everything an
 * opening allows is an error, naming both.
 *
 * @example
 * host.addDeny('Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
 */
export class Deny extends Construct {
  /** The blocked peers. */
  public readonly peers: Peer[];
  /** The blocked ports (empty: all traffic). */
  public readonly ports: Port[];

  public constructor(scope: Construct, id: string, props: DenyProps) {
    super(scope, id);
    checkNonEmpty(this, 'peers', props.peers, "list the peers to block, e.g. Peer.ipv4('203.0.113.0/26')");
    if (props.ports !== undefined) checkNonEmpty(this, 'ports', props.ports, 'omit ports to block all traffic from the peers');
    checkElements(this, 'peers', props.peers, Peer);
    if (props.ports !== undefined) checkElements(this, 'ports', props.ports, Port);
    this.peers = [...props.peers];
    this.ports = props.ports ? [...props.ports] : [];
    checkValues(this, [...this.peers, ...this.ports]);
    const icmp = icmpFamilyProblem(this.ports, this.peers);
    if (icmp) throw constructError(this, icmp.replace('opens nothing', 'blocks nothing'));
    requireDeclarationScope(this, 'Deny', 'blocks nothing', 'addDeny');
  }

  /** The denial this construct declares. */
  public get denial(): Denial {
    return { origin: this.node.path, peers: this.peers, ports: this.ports.length > 0 ? this.ports : undefined };
  }
}
