// The ICMP and ICMPv6 type and code names nft prints (and reads back).

/** nft's names for ICMP types (`nft describe icmp type`); others print as numbers. */
export const ICMP_NAMES: Record<number, string> = {
  0: 'echo-reply',
  3: 'destination-unreachable',
  4: 'source-quench',
  5: 'redirect',
  8: 'echo-request',
  9: 'router-advertisement',
  10: 'router-solicitation',
  11: 'time-exceeded',
  12: 'parameter-problem',
  13: 'timestamp-request',
  14: 'timestamp-reply',
  15: 'info-request',
  16: 'info-reply',
  17: 'address-mask-request',
  18: 'address-mask-reply',
};

/** nft's names for ICMPv6 types (`nft describe icmpv6 type`); others (e.g. 139, 140) print as numbers. */
export const ICMPV6_NAMES: Record<number, string> = {
  1: 'destination-unreachable',
  2: 'packet-too-big',
  3: 'time-exceeded',
  4: 'parameter-problem',
  128: 'echo-request',
  129: 'echo-reply',
  130: 'mld-listener-query',
  131: 'mld-listener-report',
  132: 'mld-listener-done',
  133: 'nd-router-solicit',
  134: 'nd-router-advert',
  135: 'nd-neighbor-solicit',
  136: 'nd-neighbor-advert',
  137: 'nd-redirect',
  138: 'router-renumbering',
  141: 'ind-neighbor-solicit',
  142: 'ind-neighbor-advert',
  143: 'mld2-listener-report',
};

/** nft names ICMP codes from one table, whatever the type (`nft describe icmp code`). */
export const ICMP_CODE_NAMES: Record<number, string> = {
  0: 'net-unreachable',
  1: 'host-unreachable',
  2: 'prot-unreachable',
  3: 'port-unreachable',
  4: 'frag-needed',
  9: 'net-prohibited',
  10: 'host-prohibited',
  13: 'admin-prohibited',
};

/** nft's names for ICMPv6 codes (`nft describe icmpv6 code`). */
export const ICMPV6_CODE_NAMES: Record<number, string> = {
  0: 'no-route', 1: 'admin-prohibited', 3: 'addr-unreachable', 4: 'port-unreachable', 5: 'policy-fail', 6: 'reject-route',
};
