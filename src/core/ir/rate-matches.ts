import { RateLimit } from './rate-limit';
import { IpFamily } from '../values/family';

// The rate and connection-count matches the compiler derives from ConnectionLimits.

/**
 * A per-source rate match: holds when the packet's source has exceeded the rate
 * (iptables `hashlimit --hashlimit-above ... --hashlimit-mode srcip`, nftables a meter:
 * `add @name { ip saddr limit rate over ... }`).
 *
 * @experimental
 */
export interface SourceRateMatch {
  /** The rate each source may not exceed. */
  readonly limit: RateLimit;
  /** The name of the per-source table (hashlimit name, nft set name); unique per host. */
  readonly name: string;
  /** The family of the sources counted (the nft set's type). */
  readonly family: IpFamily;
}

/**
 * A rate match over all sources together: holds when the packets the rule sees exceed the
 * rate (iptables `hashlimit --hashlimit-above ... --hashlimit-name` without a mode; nft
 * `limit rate over ...`).
 *
 * @experimental
 */
export interface AggregateRateMatch {
  /** The rate all sources together may not exceed. */
  readonly limit: RateLimit;
  /** The hashlimit table's name (unique per host). */
  readonly name: string;
}

/**
 * A per-source connection-count match: holds when the packet's source already has more
 * than `above` connections (iptables `connlimit`, nftables `ct count` in a meter).
 *
 * @experimental
 */
export interface SourceConnectionMatch {
  /** The most connections a source may have. */
  readonly above: number;
  /** The name of the nft set counting per source; unique per host. */
  readonly name: string;
  /** The family of the sources counted (the nft set's type). */
  readonly family: IpFamily;
}

/**
 * Limits a packet must all be under (nftables: the statements of one rule, each of which
 * stops the rule when its limit is exceeded): the complement of one rule per limit with
 * `sourceRateOver`, `sourceConnectionsOver` and `rateOver`, in one rule.
 *
 * @experimental
 */
export interface LimitsUnder {
  /**
   * The rate each source may not exceed.
   *
   * @default - none
   */
  readonly sourceRate?: SourceRateMatch;
  /**
   * The connections each source may hold.
   *
   * @default - none
   */
  readonly sourceConnections?: SourceConnectionMatch;
  /**
   * The rate all sources together may not exceed (a named limit object).
   *
   * @default - none
   */
  readonly rate?: AggregateRateMatch;
}
