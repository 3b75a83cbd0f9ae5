import { RuleMatch } from './rule-match';
import { Verdict } from './verdict';

/**
 * A packet field a verdict map is keyed on.
 *
 * @experimental
 */
export enum MapKey {
  /** The conntrack state (`ct state`). */
  STATE = 'state',
  /** The address family (`meta nfproto`). */
  FAMILY = 'family',
  /** The transport protocol (`meta l4proto`). */
  PROTOCOL = 'protocol',
  /** The TCP or UDP destination port (`tcp dport` / `udp dport`; the rule's protocol says which). */
  DESTINATION_PORT = 'destination-port',
  /** The ICMP or ICMPv6 type (`icmp type` / `icmpv6 type`; the rule's protocol says which). */
  ICMP_TYPE = 'icmp-type',
  /** The destination port of any transport header (`th dport`; the entry's `destinationPorts`). */
  TRANSPORT_DESTINATION_PORT = 'transport-destination-port',
  /**
   * The source port of any transport header (`th sport`; the entry's `sourcePorts`). For
   * ICMP and ICMPv6 these bytes are the type and code: `type << 8 | code`.
   */
  TRANSPORT_SOURCE_PORT = 'transport-source-port',
  /** The source address (`ip saddr` / `ip6 saddr`, the rule's family; the entry's `source`: one block or range). */
  SOURCE_ADDRESS = 'source-address',
}

/**
 * One element of a verdict map: the key values, and what a packet with them gets.
 *
 * @experimental
 */
export interface VerdictMapEntry {
  /**
   * The key values, as a match on the map's key fields only: `states` (one state),
   * `family`, `protocol`, `destinationPorts` (one range) or `icmpTypes` (one type).
   */
  readonly match: RuleMatch;

  /** ACCEPT, DROP, GOTO or JUMP. */
  readonly verdict: Verdict;

  /**
   * The chain to continue in (GOTO and JUMP).
   *
   * @default - none
   */
  readonly target?: string;

  /**
   * The construct paths behind an ACCEPT or DROP entry (the rule it stands for); shown
   * by the simulator's traces, not rendered.
   *
   * @default - none
   */
  readonly origins?: string[];

  /**
   * A short description of an ACCEPT or DROP entry (the rule it stands for); shown by
   * the simulator's traces, not rendered.
   *
   * @default - none
   */
  readonly comment?: string;
}

/**
 * A verdict map (nftables `vmap`): one lookup on the key fields picks the verdict, so a
 * rule dispatches any number of cases in one step. A packet whose key is not in the map
 * continues with the next rule.
 *
 * @experimental
 */
export interface VerdictMap {
  /** The key fields, concatenated in this order (e.g. family, then protocol). */
  readonly keys: MapKey[];

  /** The elements, in the order nft lists them (by key value). */
  readonly entries: VerdictMapEntry[];
}
