import { DefaultAction } from './default-action';
import { ConnectionLimits } from '../ir/connection-limits';
import { ConntrackHelper } from '../ir/conntrack-helper';
import { RateLimit } from '../ir/rate-limit';
import { IpFamily } from '../values/family';
import { Peer } from '../values/peer';
import { Port } from '../values/port';

/**
 * One declared opening: these ports, from these peers. The unit of intent the
 * compiler merges.
 */
export interface Allowance {
  /** Who asked for it: a construct path, shown as the rule's origin. */
  readonly origin: string;

  /** The ports to open. */
  readonly ports: Port[];

  /** The peers that may open connections to them. */
  readonly peers: Peer[];

  /**
   * The conntrack helper the opening's control connections get (FTP on its port), so
   * the connections they announce come in as RELATED.
   *
   * @default - none
   */
  readonly helper?: ConntrackHelper;

  /**
   * Per-source limits on the new connections this opening lets in.
   *
   * @default - none
   */
  readonly limits?: ConnectionLimits;

  /**
   * Exempt the opening's traffic from connection tracking (raw-table notrack, both
   * directions): for stateless, high-rate services such as DNS over UDP, whose packets
   * then cost no conntrack entry and cannot fill the table. Its packets are accepted in
   * state UNTRACKED from the peers (and its replies to them, under outbound filtering).
   * TCP and UDP ports only; not with a helper or limits (they need conntrack).
   *
   * @default false
   */
  readonly notrack?: boolean;

  /**
   * The ports are published by containers (Docker `-p HOST:CONTAINER`): connections to
   * them are destination-NATed in nat PREROUTING and forwarded, never reaching INPUT. The
   * opening is compiled into the forward path (iptables: a library chain jumped to from
   * Docker's `DOCKER-USER`; nftables: a forward-hook chain in the library's table),
   * matching the connection's original destination port (the host port). TCP and UDP
   * ports only; not with a helper, limits or notrack.
   *
   * @default false
   */
  readonly published?: boolean;

  /**
   * How many of the opening's connections the host is expected to track at once (for
   * the conntrack table's sizing).
   *
   * @default - not counted
   */
  readonly expectedConnections?: number;
}

/**
 * One declared denial: traffic from these peers (to these ports, or to anything) is
 * dropped before any opening is considered.
 */
export interface Denial {
  /** Who asked for it: a construct path, shown as the rule's origin. */
  readonly origin: string;

  /** The peers whose new traffic is dropped. */
  readonly peers: Peer[];

  /**
   * The ports; all traffic when empty.
   *
   * @default - all traffic
   */
  readonly ports?: Port[];
}

/**
 * Logging of the packets the default action refuses.
 */
export interface DropLogging {
  /**
   * The log line prefix (at most 29 characters: iptables' limit).
   *
   * @default - 'sfw <host name>: '
   */
  readonly prefix?: string;

  /**
   * How many lines may be logged (LOG does not stop the packet; the rate keeps a flood
   * from flooding the log too).
   *
   * @default - 10 per minute, bursts of 5
   */
  readonly rateLimit?: RateLimit;
}

/**
 * Filtering of what the host itself sends: the same stateful pattern on OUTPUT.
 */
export interface OutboundPolicy {
  /** What the host may open connections to: `peers` are the destinations. */
  readonly allowances: Allowance[];

  /**
   * What happens to new outbound connections nothing allows.
   *
   * @default DefaultAction.REJECT - the local program gets "connection refused" at once
   */
  readonly defaultAction?: DefaultAction;
}

/**
 * Everything the compiler needs to know about one host.
 */
export interface HostPolicy {
  /** The host's name (used in comments and reports). */
  readonly name: string;

  /**
   * The origin of the baseline rules (state, loopback, ICMPv6, default action).
   *
   * @default - the host name
   */
  readonly origin?: string;

  /** The openings to compile. */
  readonly allowances: Allowance[];

  /**
   * Filter what the host sends (OUTPUT), too.
   *
   * @default - outbound traffic is not filtered
   */
  readonly outbound?: OutboundPolicy;

  /**
   * Traffic to drop before the openings (block lists).
   *
   * @default - none
   */
  readonly denials?: Denial[];

  /**
   * What happens to traffic no rule allows.
   *
   * @default DefaultAction.REJECT
   */
  readonly defaultAction?: DefaultAction;

  /**
   * The address families the host has; openings are compiled for these only (the other
   * family still gets the baseline and the default action, so it stays closed).
   *
   * @default [IpFamily.IPV4, IpFamily.IPV6]
   */
  readonly families?: IpFamily[];

  /**
   * How many echo requests (per family) are accepted; the rest meet the default action.
   *
   * @default - 20 per second, bursts of 50
   */
  readonly pingRateLimit?: RateLimit;

  /**
   * Log what the default action refuses, rate-limited, just before it.
   *
   * @default - no logging
   */
  readonly logDropped?: DropLogging;

  /**
   * Accept ICMP and ICMPv6 echo requests (ping) from anyone.
   *
   * @default true
   */
  readonly allowPing?: boolean;

  /**
   * Peer lists with more elements (CIDRs and ranges, after merging) than this compile to
   * a named set: an ipset (`sets.ipset`) for iptables, a named set in the library's table
   * for nftables. The rule then matches with one set lookup whatever the list's length.
   * Port lists longer than this that iptables' multiport cannot hold in one rule become
   * port sets too. 0 puts every restricted peer list in a set; `Infinity` never uses sets
   * (for hosts without the ipset tool).
   *
   * @default 8
   */
  readonly setThreshold?: number;
}
