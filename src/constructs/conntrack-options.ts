/**
 * Sizing of a host's conntrack table.
 */
export interface ConntrackOptions {
  /**
   * Connections the host tracks at once beyond those its services and admin access
   * declare with `expectedConnections` (e.g. its own outbound connections); the sizing
   * is for their sum.
   *
   * @default 0
   */
  readonly expectedConnections?: number;

  /**
   * Raise `nf_conntrack_max` and the hash size on the host (and persist them) when they
   * are lower than the sizing: never lowered, so a host that tracks more for other
   * reasons keeps it. `false` only reports the sizing.
   *
   * @default true
   */
  readonly tuneKernel?: boolean;
}
