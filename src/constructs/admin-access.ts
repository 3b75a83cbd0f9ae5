import { Construct } from 'constructs';
import { requireDeclarationScope } from './placement';
import { checkElements, checkNonEmpty, checkValues, constructError, icmpFamilyProblem } from './validation';
import { checkConnectionLimits, ConnectionLimits } from '../core/ir/connection-limits';
import { allowanceProblem } from '../core/policy/allowance-checks';
import { Allowance } from '../core/policy/host-policy';
import { Peer } from '../core/values/peer';
import { Port } from '../core/values/port';

/**
 * Options for `AdminAccess`.
 */
export interface AdminAccessOptions {
  /** The management peers (workstations, bastions, VPN ranges). Never defaults to anyone. */
  readonly peers: Peer[];

  /**
   * The management ports.
   *
   * @default [Port.SSH]
   */
  readonly ports?: Port[];

  /**
   * Per-source limits on new connections (e.g. SSH brute force: 10 per minute).
   *
   * @default - none
   */
  readonly limits?: ConnectionLimits;

  /**
   * Connections the host is expected to track for this access at once (conntrack sizing).
   *
   * @default - not counted
   */
  readonly expectedConnections?: number;
}

/**
 * Properties of `AdminAccess`.
 */
export interface AdminAccessProps extends AdminAccessOptions {}

/**
 * Management access to a host (SSH by default) from explicit peers only.
 *
 * @example
 * new AdminAccess(host, 'Webmasters', { peers: [Peer.ipv4Range('10.9.8.7', '10.9.8.10')] });
 */
export class AdminAccess extends Construct {
  /** The management ports. */
  public readonly ports: Port[];
  /** The management peers. */
  public readonly peers: Peer[];
  /** Per-source limits, if any. */
  public readonly limits?: ConnectionLimits;
  /** Connections expected at once, if declared. */
  public readonly expectedConnections?: number;

  public constructor(scope: Construct, id: string, props: AdminAccessProps) {
    super(scope, id);
    checkNonEmpty(this, 'peers', props.peers, 'admin access needs explicit peers, e.g. Peer.ipv4(\'192.0.2.10\')');
    if (props.ports !== undefined) checkNonEmpty(this, 'ports', props.ports, 'omit ports for SSH, or list e.g. Port.tcp(2222)');
    checkElements(this, 'peers', props.peers, Peer);
    if (props.ports !== undefined) checkElements(this, 'ports', props.ports, Port);
    this.peers = [...props.peers];
    this.ports = props.ports ? [...props.ports] : [Port.SSH];
    this.limits = props.limits;
    if (this.limits) checkConnectionLimits(this.limits, this.node.path);
    this.expectedConnections = props.expectedConnections;
    checkValues(this, [...this.peers, ...this.ports]);
    const icmp = icmpFamilyProblem(this.ports, this.peers);
    if (icmp) throw constructError(this, icmp);
    requireDeclarationScope(this, 'AdminAccess', 'opens nothing', 'addAdminAccess');
    const problem = allowanceProblem(this.allowances[0]);
    if (problem) throw constructError(this, problem);
  }

  /** The openings this access asks for. */
  public get allowances(): Allowance[] {
    return [{ origin: this.node.path, ports: this.ports, peers: this.peers, limits: this.limits, expectedConnections: this.expectedConnections }];
  }
}
