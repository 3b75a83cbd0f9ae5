/**
 * An IP address family.
 */
export enum IpFamily {
  /** IPv4 (iptables, `ip` in nftables). */
  IPV4 = 'ipv4',
  /** IPv6 (ip6tables, `ip6` in nftables). */
  IPV6 = 'ipv6',
}

/** Both families, IPv4 first: the order every renderer and report uses. */
export const ALL_FAMILIES: readonly IpFamily[] = [IpFamily.IPV4, IpFamily.IPV6];
