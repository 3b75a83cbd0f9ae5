import { checkRateLimit, RateLimit } from './rate-limit';
import { IpFamily } from '../family';

/**
 * What happens to a new connection over a limit.
 */
export enum OverLimitAction {
  /** Drop it silently (the client retries later). */
  DROP = 'drop',
  /** Reject it (TCP reset, ICMP port unreachable): the client knows at once. */
  REJECT = 'reject',
}

/**
 * Limits on the new connections each source may open to a service.
 */
export interface ConnectionLimits {
  /**
   * New connections per source address per time, e.g. 10 per minute with bursts of 5
   * (SSH brute force). Over it, the action applies.
   *
   * @default - no rate limit
   */
  readonly newConnectionsPerSource?: RateLimit;

  /**
   * Connections one source address may hold open at once. Over it, the action applies.
   *
   * @default - no limit
   */
  readonly concurrentPerSource?: number;

  /**
   * What happens to a new connection over a limit.
   *
   * @default OverLimitAction.DROP
   */
  readonly overLimitAction?: OverLimitAction;
}

/**
 * A per-source rate match: holds when the packet's source has exceeded the rate
 * (iptables `hashlimit --hashlimit-above ... --hashlimit-mode srcip`, nftables a meter:
 * `add @name { ip saddr limit rate over ... }`).
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
 * A per-source connection-count match: holds when the packet's source already has more
 * than `above` connections (iptables `connlimit`, nftables `ct count` in a meter).
 */
export interface SourceConnectionMatch {
  /** The most connections a source may have. */
  readonly above: number;
  /** The name of the nft set counting per source; unique per host. */
  readonly name: string;
  /** The family of the sources counted (the nft set's type). */
  readonly family: IpFamily;
}

/** Throws unless the limits can be expressed by both backends (`what` names the declaration). */
export function checkConnectionLimits(limits: ConnectionLimits, what: string): void {
  if (limits.newConnectionsPerSource) checkRateLimit(limits.newConnectionsPerSource, `${what}: newConnectionsPerSource`);
  const n = limits.concurrentPerSource;
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 65535)) {
    throw new Error(`${what}: concurrentPerSource ${n} is out of range: use a whole number of connections from 1 to 65535`);
  }
}
