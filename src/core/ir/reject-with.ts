/**
 * The answer a REJECT sends.
 */
export enum RejectWith {
  /** A TCP RST (TCP packets only). */
  TCP_RESET = 'tcp-reset',
  /** ICMP port unreachable (IPv4) / ICMPv6 port unreachable (IPv6). */
  PORT_UNREACHABLE = 'port-unreachable',
  /** ICMP host prohibited (IPv4) / ICMPv6 administratively prohibited (IPv6). */
  HOST_PROHIBITED = 'host-prohibited',
  /** ICMP communication administratively prohibited (IPv4) / ICMPv6 administratively prohibited (IPv6). */
  ADMIN_PROHIBITED = 'admin-prohibited',
}
