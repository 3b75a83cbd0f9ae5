import { Construct } from 'constructs';
import { requireDeclarationScope } from './placement';
import { checkElements, checkNonEmpty, checkValues, constructError, enumProblem, icmpFamilyProblem } from './validation';
import { checkConnectionLimits, ConnectionLimits } from '../core/ir/connection-limits';
import { ConntrackHelper, helperPortsProblem } from '../core/ir/conntrack-helper';
import { allowanceProblem } from '../core/policy/allowance-checks';
import { Allowance } from '../core/policy/host-policy';
import { Peer } from '../core/values/peer';
import { Port } from '../core/values/port';

/**
 * Options for a `Service`.
 */
export interface ServiceOptions {
  /** The ports the service listens on. */
  readonly ports: Port[];

  /**
   * Who may open connections to it.
   *
   * @default [Peer.any()] - anyone, IPv4 and IPv6
   */
  readonly peers?: Peer[];

  /**
   * A conntrack helper for the service's control connections (FTP), so the data
   * connections it announces come in as RELATED; no other port needs opening.
   *
   * @default - none
   */
  readonly helper?: ConntrackHelper;

  /**
   * Per-source limits on new connections (brute force, floods).
   *
   * @default - none
   */
  readonly limits?: ConnectionLimits;

  /**
   * Exempt the service from connection tracking: the raw table marks its requests and
   * the host's replies `notrack`, and they are accepted in state UNTRACKED from the peers.
   * For stateless, high-rate services (DNS over UDP, syslog, metrics) whose packets would
   * otherwise each take a conntrack entry and could fill the table. TCP and UDP ports
   * only; not with a helper or limits.
   *
   * @default false
   */
  readonly notrack?: boolean;

  /**
   * The ports are published by containers (Docker `-p HOST:CONTAINER`) rather than served
   * by the host itself. Docker DNATs such connections in nat PREROUTING and forwards them
   * to the container, so they never reach INPUT and an ordinary Service would not filter
   * them. A published Service is compiled into the forward path instead: iptables, a
   * library chain (`SFW-PUBLISHED`) jumped to first from Docker's `DOCKER-USER` chain;
   * nftables, a forward-hook chain in the library's table. It matches the connection's
   * original destination port (the host port of `-p`, not the container's), new
   * connections only, and published traffic nobody allowed meets the host's default
   * action. The host's INPUT chain does not open these ports. TCP and UDP only; not with
   * a helper, limits or notrack.
   *
   * @default false
   */
  readonly published?: boolean;

  /**
   * Connections to this service the host is expected to track at once: counted into the
   * host's conntrack sizing (`StatefulHost.conntrackSizing`).
   *
   * @default - not counted
   */
  readonly expectedConnections?: number;

  /**
   * A description, shown in reports.
   *
   * @default - the construct id
   */
  readonly description?: string;
}

/**
 * Properties of a `Service`.
 */
export interface ServiceProps extends ServiceOptions {}

/**
 * A service a host offers: its ports are opened for new connections from the peers
 * (anyone by default). Add it to a `StatefulHost` (or create it with `host.addService`).
 *
 * @example
 * new Service(host, 'Web', { ports: [Port.HTTP, Port.HTTPS] });
 */
export class Service extends Construct {
  /** The ports. */
  public readonly ports: Port[];
  /** The peers allowed to connect. */
  public readonly peers: Peer[];
  /** The description. */
  public readonly description: string;
  /** The conntrack helper, if any. */
  public readonly helper?: ConntrackHelper;
  /** Per-source limits, if any. */
  public readonly limits?: ConnectionLimits;
  /** Whether the service is exempt from connection tracking. */
  public readonly notrack: boolean;
  /** Connections expected at once, if declared. */
  public readonly expectedConnections?: number;
  /** Whether the ports are published container ports (filtered on the forward path). */
  public readonly published: boolean;

  public constructor(scope: Construct, id: string, props: ServiceProps) {
    super(scope, id);
    checkNonEmpty(this, 'ports', props.ports, 'e.g. ports: [Port.HTTPS]');
    if (props.peers !== undefined) checkNonEmpty(this, 'peers', props.peers, 'omit peers to allow anyone, or list e.g. Peer.ipv4(\'192.0.2.0/24\')');
    checkElements(this, 'ports', props.ports, Port);
    if (props.peers !== undefined) checkElements(this, 'peers', props.peers, Peer);
    this.ports = [...props.ports];
    this.peers = props.peers ? [...props.peers] : [Peer.any()];
    this.description = props.description ?? id;
    this.limits = props.limits;
    this.helper = props.helper;
    const helperEnum = enumProblem('helper', this.helper, ConntrackHelper, 'ConntrackHelper');
    if (helperEnum) throw constructError(this, helperEnum);
    checkValues(this, [...this.ports, ...this.peers]);
    const helperProblem = this.helper && helperPortsProblem(this.helper, this.ports);
    if (helperProblem) throw constructError(this, helperProblem);
    if (this.limits) checkConnectionLimits(this.limits, this.node.path);
    this.notrack = props.notrack ?? false;
    this.published = props.published ?? false;
    this.expectedConnections = props.expectedConnections;
    const icmp = icmpFamilyProblem(this.ports, this.peers);
    if (icmp) throw constructError(this, icmp);
    requireDeclarationScope(this, 'Service', 'opens nothing', 'addService');
    const problem = allowanceProblem(this.allowances[0]);
    if (problem) throw constructError(this, problem);
  }

  /** The openings this service asks for. */
  public get allowances(): Allowance[] {
    return [{
      origin: this.node.path,
      ports: this.ports,
      peers: this.peers,
      limits: this.limits,
      helper: this.helper,
      notrack: this.notrack || undefined,
      published: this.published || undefined,
      expectedConnections: this.expectedConnections,
    }];
  }
}
