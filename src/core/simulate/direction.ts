/**
 * Which way a packet goes through the host.
 */
export enum Direction {
  /** Arriving at the host (the INPUT hook). */
  INBOUND = 'inbound',
  /** Sent by the host itself (the OUTPUT hook). */
  OUTBOUND = 'outbound',
}
