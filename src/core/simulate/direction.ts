/**
 * Which way a packet goes through the host.
 */
export enum Direction {
  /** Arriving at the host (the INPUT hook). */
  INBOUND = 'inbound',
  /** Sent by the host itself (the OUTPUT hook). */
  OUTBOUND = 'outbound',
  /**
   * To a port the host publishes for a container (Docker `-p`): destination-NATed and
   * forwarded (the FORWARD hook). The packet's port is the published (original) one.
   */
  PUBLISHED = 'published',
}
