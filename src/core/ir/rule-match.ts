import { ConnectionState } from './connection-state';
import { RateLimit } from './rate-limit';
import { AggregateRateMatch, LimitsUnder, SourceConnectionMatch, SourceRateMatch } from './rate-matches';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

/**
 * An inclusive range of transport ports; `from === to` for a single port.
 *
 * @experimental
 */
export interface PortRange {
  /** First port. */
  readonly from: number;
  /** Last port, inclusive. */
  readonly to: number;
}

/**
 * Addresses a rule matches: a list of elements, or a named set.
 *
 * @experimental
 */
export interface AddressMatch {
  /**
   * CIDR blocks (`10.0.0.0/8`, single addresses with their full prefix length) and
   * ranges (`10.9.8.7-10.9.8.10`), all of the rule's family.
   *
   * @default - no element list (then `set` is given)
   */
  readonly elements?: string[];

  /**
   * Name of an address set (ipset or nftables named set) holding the addresses.
   *
   * @default - no set (then `elements` is given)
   */
  readonly set?: string;
}

/**
 * What a packet must look like for a rule to match. Every field is optional and
 * absent fields match anything; all present fields must match.
 *
 * @experimental
 */
export interface RuleMatch {
  /**
   * The address family. Rules without a family apply to both.
   *
   * @default - both families
   */
  readonly family?: IpFamily;

  /**
   * Incoming interface name.
   *
   * @default - any interface
   */
  readonly inInterface?: string;

  /**
   * Outgoing interface name.
   *
   * @default - any interface
   */
  readonly outInterface?: string;

  /**
   * Transport protocol.
   *
   * @default - any protocol
   */
  readonly protocol?: Protocol;

  /**
   * Conntrack states, any of which matches.
   *
   * @default - any state
   */
  readonly states?: ConnectionState[];

  /**
   * Match only TCP segments with SYN set and FIN, RST and ACK clear: the only
   * segment that may open a TCP connection.
   *
   * @default false
   */
  readonly tcpSynOnly?: boolean;

  /**
   * Source addresses.
   *
   * @default - any source
   */
  readonly source?: AddressMatch;

  /**
   * Destination addresses.
   *
   * @default - any destination
   */
  readonly destination?: AddressMatch;

  /**
   * Match only packets addressed to the host itself (not forwarded ones): iptables
   * `-m addrtype --dst-type LOCAL`, nft `fib daddr type local`.
   *
   * @default false
   */
  readonly destinationLocal?: boolean;

  /**
   * Match on whether the packet's connection was destination-NATed (a port published by
   * Docker: nat PREROUTING rewrote its destination): `true` only DNATed connections,
   * `false` only the others. iptables `-m conntrack [!] --ctstate DNAT`, nft
   * `ct status [!] dnat`.
   *
   * @default - either
   */
  readonly destinationNat?: boolean;

  /**
   * The connection's ORIGINAL destination ports (before DNAT: the port published on the
   * host, not the container's), any of which matches. TCP and UDP only. iptables
   * `-m conntrack --ctorigdstport`, nft `ct original proto-dst`.
   *
   * @default - any original destination port
   */
  readonly originalDestinationPorts?: PortRange[];

  /**
   * Destination ports (TCP and UDP), any of which matches.
   *
   * @default - any port (unless `destinationPortSet` is given)
   */
  readonly destinationPorts?: PortRange[];

  /**
   * Name of a port set (see `RulesetModel.sets`) holding the destination ports, instead of
   * `destinationPorts`: used for lists iptables' multiport cannot hold in one rule.
   *
   * @default - no port set
   */
  readonly destinationPortSet?: string;

  /**
   * Source ports (TCP and UDP), any of which matches (the replies of an untracked service).
   *
   * @default - any source port
   */
  readonly sourcePorts?: PortRange[];

  /**
   * Name of a port set holding the source ports, instead of `sourcePorts`.
   *
   * @default - no port set
   */
  readonly sourcePortSet?: string;

  /**
   * ICMP or ICMPv6 types, any of which matches (the rule's `protocol` says which).
   *
   * @default - any type
   */
  readonly icmpTypes?: number[];

  /**
   * ICMP or ICMPv6 code (only with a single entry in `icmpTypes`).
   *
   * @default - any code
   */
  readonly icmpCode?: number;

  /**
   * IPv6 hop limit the packet must carry (255 for neighbour discovery, RFC 4861).
   *
   * @default - any hop limit
   */
  readonly hopLimit?: number;

  /**
   * Match only while this rate is not exceeded (one bucket for all packets the rule sees).
   *
   * @default - no rate limit
   */
  readonly limit?: RateLimit;

  /**
   * Match only when the packet's source exceeds this rate.
   *
   * @default - none
   */
  readonly sourceRateOver?: SourceRateMatch;

  /**
   * Match only when the packet's source already holds more connections than this.
   *
   * @default - none
   */
  readonly sourceConnectionsOver?: SourceConnectionMatch;

  /**
   * Match only when the packets the rule sees, from all sources together, exceed this
   * rate (iptables `hashlimit --hashlimit-above` without a mode, nft `limit rate over`):
   * a SYN-flood cap.
   *
   * @default - none
   */
  readonly rateOver?: AggregateRateMatch;

  /**
   * Match only when the packet is under every one of these limits (the nftables layout's
   * one rule for a declaration's limits; see `LimitsUnder`).
   *
   * @default - none
   */
  readonly limitsUnder?: LimitsUnder;
}
