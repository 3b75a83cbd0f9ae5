/**
 * A transport protocol a rule can match.
 */
export enum Protocol {
  /** TCP. */
  TCP = 'tcp',
  /** UDP. */
  UDP = 'udp',
  /** ICMP (IPv4 only). */
  ICMP = 'icmp',
  /** ICMPv6 (IPv6 only). */
  ICMPV6 = 'icmpv6',
}
