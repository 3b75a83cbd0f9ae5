import { IConstruct } from 'constructs';
import { assertNotFrozen, frozenHosts, policyChanged } from './policy-freeze';
import { Allowance } from '../core/policy/host-policy';
import { IPeer, Peer } from '../core/values/peer';
import { Port } from '../core/values/port';

/**
 * A host or a group of hosts: something with connections of its own, and addresses
 * (an `IPeer`) others can allow traffic from or to.
 */
export interface IConnectable extends IConstruct, IPeer {
  /** The connectable's connections. */
  readonly connections: Connections;

  /**
   * The addresses of the connectable's hosts as they are now (both families), or
   * undefined while it has no hosts (what `toPeer()` returns).
   */
  readonly peer?: Peer;
}

/** One opening into a connectable. */
export interface ConnectionRule {
  /** Where connections may come from: a host, a group, or a `Peer`. */
  readonly from: IPeer;
  /** The ports they may open. */
  readonly ports: Port[];
  /**
   * A description, shown in the rule's origin and in the fleet diagram.
   *
   * @default - none
   */
  readonly description?: string;
}

/**
 * Openings between hosts and groups, in the style of AWS CDK's `Connections`:
 * `db.connections.allowFrom(appServers, Port.POSTGRES)` opens the database hosts to
 * exactly the app servers' addresses, both families. Addresses are read at synth, so
 * adding a host to a group later updates every ruleset that refers to the group.
 */
export class Connections {
  /**
   * The connections this connectable's hosts may open to others: every rule whose source
   * is `self` or one of `sources`, as allowances to the target's current addresses (for
   * outbound filtering). Each connection is recorded on its source when it is declared,
   * so nothing walks the construct tree.
   */
  public static egressFor(self: IConnectable, sources: IConnectable[]): Allowance[] {
    const out: Allowance[] = [];
    for (const source of new Set(sources)) {
      for (const { target, rule } of source.connections.egress) {
        const peer = target.toPeer();
        if (!peer) continue;
        const what = rule.description ? ` (${rule.description})` : '';
        out.push({ origin: `${self.node.path} to ${nameOf(target)}${what}`, ports: rule.ports, peers: [peer] });
      }
    }
    return out;
  }

  private readonly rules: ConnectionRule[] = [];
  /** The connections from these hosts to others, in declaration order. */
  private readonly egress: { readonly target: IPeer; readonly rule: ConnectionRule }[] = [];

  /** @param owner the host or group these connections belong to */
  public constructor(private readonly owner: IConnectable) {}

  /**
   * Allows new connections from `other` to these hosts on the port: from a host or a
   * group (its addresses at synth; when it filters outbound, it may open them too), or
   * from a `Peer` such as `Peer.ipv4('198.51.100.0/24')`.
   */
  public allowFrom(other: IPeer, port: Port, description?: string): void {
    // checked at the call, so the mistake names this host or group (not a resolution error at synth)
    const where = this.owner.node.path;
    const peer = checkedPeer(where, 'allowFrom', other, port);
    assertNotFrozen(this.owner, `allow connections from ${nameOf(other)}`);
    if (!peer) {
      // the owner's hosts get the opening; the source's hosts, when they filter outbound, an egress rule
      const source = other as IConnectable;
      assertNotFrozen(source, `allow connections to ${where}`, frozenHosts(source).filter((h) => h.outboundFiltering));
    }
    const rule = { from: other, ports: [port], description };
    this.rules.push(rule);
    if (!peer) (other as IConnectable).connections.egress.push({ target: this.owner, rule });
    policyChanged();
  }

  /**
   * Allows new connections from these hosts to `other` on the port. To a host or a group,
   * this opens `other`'s INPUT (and these hosts' OUTPUT where they filter outbound); to a
   * `Peer`, it opens these hosts' OUTPUT to the peer, so these hosts must filter outbound
   * (`outboundFiltering: true`).
   */
  public allowTo(other: IPeer, port: Port, description?: string): void {
    const where = this.owner.node.path;
    const peer = checkedPeer(where, 'allowTo', other, port);
    if (!peer) {
      (other as IConnectable).connections.allowFrom(this.owner, port, description);
      return;
    }
    assertNotFrozen(this.owner, `allow connections to ${peer}`);
    this.egress.push({ target: peer, rule: { from: this.owner, ports: [port], description } });
    policyChanged();
  }

  /** Allows the hosts of a group to connect to each other on the port. */
  public allowInternally(port: Port, description?: string): void {
    this.allowFrom(this.owner, port, description);
  }

  /** Allows new connections from any IPv4 address to these hosts on the port (as `allowFrom(Peer.anyIpv4(), port)`). */
  public allowFromAnyIpv4(port: Port, description?: string): void {
    this.allowFrom(Peer.anyIpv4(), port, description);
  }

  /** Allows new connections from any IPv6 address to these hosts on the port (as `allowFrom(Peer.anyIpv6(), port)`). */
  public allowFromAnyIpv6(port: Port, description?: string): void {
    this.allowFrom(Peer.anyIpv6(), port, description);
  }

  /**
   * Allows new connections from these hosts to any IPv4 address on the port (as
   * `allowTo(Peer.anyIpv4(), port)`: these hosts must filter outbound).
   */
  public allowToAnyIpv4(port: Port, description?: string): void {
    this.allowTo(Peer.anyIpv4(), port, description);
  }

  /**
   * Allows new connections from these hosts to any IPv6 address on the port (as
   * `allowTo(Peer.anyIpv6(), port)`: these hosts must filter outbound).
   */
  public allowToAnyIpv6(port: Port, description?: string): void {
    this.allowTo(Peer.anyIpv6(), port, description);
  }

  /** The openings declared so far, in declaration order. */
  public get ingressRules(): ConnectionRule[] {
    return [...this.rules];
  }

  /**
   * Throws when a change of these hosts' addresses (a new group member) would alter a
   * frozen ruleset: of a target of a connection from them, or of a source of a connection
   * to them that filters outbound.
   *
   * @internal
   */
  public _assertAddressesMayChange(change: string): void {
    for (const { target } of this.egress) if (!(target instanceof Peer)) assertNotFrozen(target as IConnectable, change);
    for (const { from } of this.rules) {
      if (from instanceof Peer) continue;
      const source = from as IConnectable;
      assertNotFrozen(source, change, frozenHosts(source).filter((h) => h.outboundFiltering));
    }
  }

  /**
   * The connections from these hosts to `Peer`s (`allowTo(peer)`, `allowToAnyIpv4`), as
   * outbound allowances: checked like an `OutboundAccess` (the hosts must filter outbound).
   *
   * @internal
   */
  public _peerEgress(): Allowance[] {
    return this.egress.filter((e) => e.target instanceof Peer).map(({ target, rule }) => {
      const what = rule.description ? ` (${rule.description})` : '';
      return { origin: `${this.owner.node.path} to ${target}${what}`, ports: rule.ports, peers: [target as Peer] };
    });
  }

  /**
   * The openings as allowances with the peers' current addresses; sources without hosts
   * yet contribute nothing (and are reported as `emptySources`).
   *
   * @internal
   */
  public _resolve(): { allowances: Allowance[]; emptySources: string[] } {
    const allowances: Allowance[] = [];
    const emptySources: string[] = [];
    for (const rule of this.rules) {
      const peer = rule.from.toPeer();
      if (!peer) {
        emptySources.push(nameOf(rule.from));
        continue;
      }
      const what = rule.description ? ` (${rule.description})` : '';
      allowances.push({ origin: `${this.owner.node.path} from ${nameOf(rule.from)}${what}`, ports: rule.ports, peers: [peer] });
    }
    return { allowances, emptySources };
  }
}

/** A peer's name in origins and errors: a construct's path, or a `Peer` as written. */
function nameOf(p: IPeer): string {
  return p instanceof Peer ? p.toString() : (p as IConnectable).node.path;
}

/**
 * Checks a connection's arguments at the call (the error names `where`): the `Peer` when
 * `other` is one, undefined when it is a host or group; throws on anything else, a bad
 * peer or a bad port.
 */
function checkedPeer(where: string, method: string, other: IPeer, port: Port): Peer | undefined {
  const peer = other instanceof Peer ? other : undefined;
  if (!peer && !(other && (other as any).connections instanceof Connections && (other as any).node)) {
    const got = (other as any)?.node?.path ?? String(other);
    throw new Error(`${where}: connections.${method} needs a StatefulHost, a HostGroup or a Peer (e.g. Peer.ipv4('198.51.100.0/24')), got ${got}`);
  }
  const name = nameOf(other);
  if (peer?.problem) throw new Error(`${where}: connections.${method}(${name}, ...): ${peer.problem}`);
  if (!(port instanceof Port)) throw new Error(`${where}: connections.${method}(${name}, ...) needs a Port, got ${String(port)}: use e.g. Port.tcp(5432)`);
  if (port.problem) throw new Error(`${where}: connections.${method}(${name}, ${port}): ${port.problem}`);
  return peer;
}
