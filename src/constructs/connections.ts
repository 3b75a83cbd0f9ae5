import { IConstruct } from 'constructs';
import { assertNotFrozen, frozenHosts, policyChanged } from './policy-freeze';
import { Allowance } from '../core/policy/host-policy';
import { Peer } from '../core/values/peer';
import { Port } from '../core/values/port';

/**
 * Something traffic can be allowed from or to: a host, or a group of hosts.
 */
export interface IConnectable extends IConstruct {
  /** The connectable's connections. */
  readonly connections: Connections;

  /**
   * The addresses of the connectable's hosts as they are now (both families), or
   * undefined while it has no hosts.
   */
  readonly peer?: Peer;
}

/** One opening between connectables. */
export interface ConnectionRule {
  /** Where connections may come from. */
  readonly from: IConnectable;
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
        const peer = target.peer;
        if (!peer) continue;
        const what = rule.description ? ` (${rule.description})` : '';
        out.push({ origin: `${self.node.path} to ${target.node.path}${what}`, ports: rule.ports, peers: [peer] });
      }
    }
    return out;
  }

  private readonly rules: ConnectionRule[] = [];
  /** The connections from these hosts to others, in declaration order. */
  private readonly egress: { readonly target: IConnectable; readonly rule: ConnectionRule }[] = [];

  /** @param owner the host or group these connections belong to */
  public constructor(private readonly owner: IConnectable) {}

  /** Allows new connections from `other` to these hosts on the ports. */
  public allowFrom(other: IConnectable, port: Port, description?: string): void {
    // checked at the call, so the mistake names this host or group (not a resolution error at synth)
    const where = this.owner.node.path;
    if (!other || !((other as any).connections instanceof Connections)) {
      throw new Error(`${where}: connections.allowFrom needs a StatefulHost or HostGroup to allow, got ${other?.node?.path ?? String(other)}`);
    }
    if (!(port instanceof Port)) throw new Error(`${where}: connections.allowFrom(${other.node.path}, ...) needs a Port, got ${String(port)}: use e.g. Port.tcp(5432)`);
    if (port.problem) throw new Error(`${where}: connections.allowFrom(${other.node.path}, ${port}): ${port.problem}`);
    const change = `allow connections from ${other.node.path}`;
    // the owner's hosts get the opening; the source's hosts, when they filter outbound, an egress rule
    assertNotFrozen(this.owner, change);
    assertNotFrozen(other, `allow connections to ${this.owner.node.path}`, frozenHosts(other).filter((h) => h.outboundFiltering));
    const rule = { from: other, ports: [port], description };
    this.rules.push(rule);
    other.connections.egress.push({ target: this.owner, rule });
    policyChanged();
  }

  /** Allows new connections from these hosts to `other` on the ports (opens `other`'s INPUT). */
  public allowTo(other: IConnectable, port: Port, description?: string): void {
    other.connections.allowFrom(this.owner, port, description);
  }

  /** Allows the hosts of a group to connect to each other on the port. */
  public allowInternally(port: Port, description?: string): void {
    this.allowFrom(this.owner, port, description);
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
    for (const { target } of this.egress) assertNotFrozen(target, change);
    for (const { from } of this.rules) assertNotFrozen(from, change, frozenHosts(from).filter((h) => h.outboundFiltering));
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
      const peer = rule.from.peer;
      if (!peer) {
        emptySources.push(rule.from.node.path);
        continue;
      }
      const what = rule.description ? ` (${rule.description})` : '';
      allowances.push({ origin: `${this.owner.node.path} from ${rule.from.node.path}${what}`, ports: rule.ports, peers: [peer] });
    }
    return { allowances, emptySources };
  }
}
