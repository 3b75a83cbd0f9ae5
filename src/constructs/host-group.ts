import { Construct } from 'constructs';
import { AdminAccess, AdminAccessOptions } from './admin-access';
import { Connections, IConnectable } from './connections';
import { Deny, DenyOptions } from './deny';
import { OutboundAccess, OutboundAccessOptions } from './outbound-access';
import { markDeclarationScope } from './placement';
import { assertNotFrozen, frozenHosts, policyChanged, registerPolicyScope } from './policy-freeze';
import { Service, ServiceOptions } from './service';
import type { StatefulHost } from './stateful-host';
import { Peer } from '../core/values/peer';

/**
 * Properties of a `HostGroup`.
 */
export interface HostGroupProps {
  /**
   * The first members.
   *
   * @default - none; add them with `addHost`
   */
  readonly hosts?: StatefulHost[];
}

/**
 * A role shared by many hosts (web, app, db, bastion): the `Service`, `AdminAccess` and
 * connections declared on the group apply to every member, and the group is a peer
 * for other hosts' rules. A host may belong to several groups; its ruleset stays merged
 * and ordered as a single host's.
 *
 * @example
 * const app = new HostGroup(stack, 'app');
 * const db = new HostGroup(stack, 'db');
 * db.connections.allowFrom(app, Port.POSTGRES);
 * app.addHost(new StatefulHost(stack, 'app-1', { address: '192.0.2.21' }));
 */
export class HostGroup extends Construct implements IConnectable {
  /** Returns whether `x` is a `HostGroup`. */
  public static isHostGroup(x: any): x is HostGroup {
    return x instanceof HostGroup;
  }

  /** Openings from and to the group's hosts. */
  public readonly connections: Connections;

  private readonly members: StatefulHost[] = [];

  public constructor(scope: Construct, id: string, props: HostGroupProps = {}) {
    super(scope, id);
    this.connections = new Connections(this);
    markDeclarationScope(this);
    registerPolicyScope(this, () => this.members.flatMap((h) => frozenHosts(h)));
    for (const host of props.hosts ?? []) this.addHost(host);
  }

  /** Adds a host to the group (adding it twice is harmless). */
  public addHost(host: StatefulHost): void {
    if (this.members.includes(host)) return;
    const change = `add ${host.node.path} to the group`;
    // the group's declarations would reach the host; the group's addresses would change
    assertNotFrozen(host, `join ${this.node.path}`);
    this.connections._assertAddressesMayChange(change);
    this.members.push(host);
    host._joinGroup(this);
    policyChanged();
  }

  /** The group's hosts, in the order they were added. */
  public get hosts(): StatefulHost[] {
    return [...this.members];
  }

  /** The addresses of every member, both families; undefined while the group is empty. */
  public get peer(): Peer | undefined {
    const peers = this.members.map((h) => h.peer).filter((p): p is Peer => p !== undefined);
    return peers.length > 0 ? Peer.anyOf(...peers) : undefined;
  }
  /** The same as `peer`: the addresses as they are now, or undefined while there are none (`IPeer`). */
  public toPeer(): Peer | undefined {
    return this.peer;
  }


  /** Adds a service every member offers. */
  public addService(id: string, options: ServiceOptions): Service {
    return new Service(this, id, options);
  }

  /** Allows every member to open connections to destinations (members with `outboundFiltering: true`). */
  public addOutbound(id: string, options: OutboundAccessOptions): OutboundAccess {
    return new OutboundAccess(this, id, options);
  }

  /** Blocks new traffic from peers on every member. */
  public addDeny(id: string, options: DenyOptions): Deny {
    return new Deny(this, id, options);
  }

  /** Adds management access to every member. */
  public addAdminAccess(id: string, options: AdminAccessOptions): AdminAccess {
    return new AdminAccess(this, id, options);
  }
}
