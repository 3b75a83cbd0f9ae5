/**
 * What happens to traffic no rule allows: the explicit last rule of the chain.
 */
export enum DefaultAction {
  /**
   * Reject: TCP with a reset, everything else with ICMP port unreachable. What a host
   * without a listener would answer, so scans learn nothing from the firewall.
   */
  REJECT = 'reject',
  /**
   * Reject with ICMP host prohibited (IPv4) / administratively prohibited (IPv6),
   * as in the classic Red Hat ruleset.
   */
  REJECT_HOST_PROHIBITED = 'reject-host-prohibited',
  /** Drop silently. */
  DROP = 'drop',
}
