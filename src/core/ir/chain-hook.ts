/**
 * The netfilter hook a base chain is attached to.
 *
 * @experimental
 */
export enum ChainHook {
  /** Before routing (raw, mangle, nat). */
  PREROUTING = 'prerouting',
  /** Packets addressed to this host. */
  INPUT = 'input',
  /** Packets routed through this host. */
  FORWARD = 'forward',
  /** Packets this host sends. */
  OUTPUT = 'output',
  /** After routing (mangle, nat). */
  POSTROUTING = 'postrouting',
}
