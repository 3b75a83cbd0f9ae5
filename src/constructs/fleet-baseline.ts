import type { IAspect } from 'cdktf';
import { IConstruct } from 'constructs';
import { IConnectable } from './connections';
import { StatefulHost } from './stateful-host';
import { Peer } from '../core/values/peer';
import { Port } from '../core/values/port';
import { addError } from '../synth/lazy-token';

const BASELINE_ADMIN = 'FleetBaselineAdmin';

/**
 * Properties of a `FleetBaseline`.
 */
export interface FleetBaselineProps {
  /**
   * Hosts or groups (e.g. the bastions) every host accepts management connections from.
   *
   * @default - none
   */
  readonly adminFrom?: IConnectable[];

  /**
   * Addresses every host accepts management connections from.
   *
   * @default - none
   */
  readonly adminPeers?: Peer[];

  /**
   * The management ports.
   *
   * @default [Port.SSH]
   */
  readonly adminPorts?: Port[];

  /**
   * Hosts the baseline leaves alone (e.g. the bastions themselves).
   *
   * @default - none
   */
  readonly exclude?: StatefulHost[];
}

/**
 * An organization-wide policy applied with cdktf Aspects to every `StatefulHost` in a
 * scope, e.g. "every host allows SSH from the bastion group":
 *
 * @example
 * Aspects.of(app).add(new FleetBaseline({ adminFrom: [bastions], exclude: bastions.hosts }));
 */
export class FleetBaseline implements IAspect {
  private readonly applied = new WeakSet<StatefulHost>();
  private clashReported = false;

  public constructor(private readonly props: FleetBaselineProps) {
    if (!props.adminFrom?.length && !props.adminPeers?.length) {
      throw new Error('FleetBaseline needs adminFrom or adminPeers: say who may manage every host');
    }
  }

  /** Adds the baseline to a host (once, however often synth runs). */
  public visit(node: IConstruct): void {
    if (!(node instanceof StatefulHost) || this.applied.has(node) || this.props.exclude?.includes(node)) return;
    this.applied.add(node);
    const ports = this.props.adminPorts ?? [Port.SSH];
    for (const from of this.props.adminFrom ?? []) {
      for (const port of ports) node.connections.allowFrom(from, port, 'fleet baseline');
    }
    if (this.props.adminPeers?.length) {
      const other = node.node.tryFindChild(BASELINE_ADMIN);
      if (other) {
        // two baselines for one host: one message per pair of baselines, not per host
        if (!this.clashReported) {
          this.clashReported = true;
          addError(node, `two FleetBaselines with adminPeers apply to ${node.node.path} (and every host both reach): `
            + 'use one FleetBaseline per app with all the adminPeers and adminFrom, or exclude the host from one of them');
        }
        return;
      }
      node.addAdminAccess(BASELINE_ADMIN, { peers: this.props.adminPeers, ports });
    }
  }
}
