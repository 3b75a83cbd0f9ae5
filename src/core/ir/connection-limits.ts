import { checkRateLimit, RateLimit } from './rate-limit';

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

  /**
   * New TCP connections (SYNs) per time from all sources together: a cap a SYN flood
   * from many addresses cannot get around, unlike the per-source limits. Over it, the
   * action applies. Only TCP ports of the declaration are capped.
   *
   * @default - no cap
   */
  readonly synFloodLimit?: RateLimit;
}

/** Throws unless the limits can be expressed by both backends (`what` names the declaration). */
export function checkConnectionLimits(limits: ConnectionLimits, what: string): void {
  if (limits.synFloodLimit) checkRateLimit(limits.synFloodLimit, `${what}: synFloodLimit`);
  if (limits.newConnectionsPerSource) checkRateLimit(limits.newConnectionsPerSource, `${what}: newConnectionsPerSource`);
  const n = limits.concurrentPerSource;
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 65535)) {
    throw new Error(`${what}: concurrentPerSource ${n} is out of range: use a whole number of connections from 1 to 65535`);
  }
  if (limits.overLimitAction !== undefined) {
    const actions = Object.values(OverLimitAction) as string[];
    if (!actions.includes(limits.overLimitAction)) {
      throw new Error(`${what}: overLimitAction ${JSON.stringify(limits.overLimitAction)} is not an OverLimitAction: use OverLimitAction.DROP ('drop') or OverLimitAction.REJECT ('reject')`);
    }
    if (!limits.newConnectionsPerSource && limits.concurrentPerSource === undefined && !limits.synFloodLimit) {
      throw new Error(`${what}: overLimitAction applies to traffic over a limit, but no limit is set: add newConnectionsPerSource, concurrentPerSource or synFloodLimit, or remove overLimitAction`);
    }
  }
}
