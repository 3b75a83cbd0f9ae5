/**
 * The time unit of a rate.
 */
export enum RateUnit {
  /** Per second. */
  SECOND = 'second',
  /** Per minute. */
  MINUTE = 'minute',
  /** Per hour. */
  HOUR = 'hour',
  /** Per day. */
  DAY = 'day',
}

/**
 * A token-bucket rate: `rate` packets per `unit` on average, with bursts of up to `burst`.
 * As a match it holds while the bucket has tokens (iptables `-m limit`, nft `limit rate`).
 */
export interface RateLimit {
  /** Packets per unit, on average. */
  readonly rate: number;

  /** The unit of `rate`. */
  readonly unit: RateUnit;

  /**
   * The bucket size: how many packets may pass at once before the rate applies.
   *
   * @default 5
   */
  readonly burst?: number;
}

/** The burst iptables and nftables use when none is given (neither prints it). */
export const DEFAULT_BURST = 5;

/** Throws unless the rate limit can be expressed by both backends. */
export function checkRateLimit(limit: RateLimit, what: string): void {
  const units = Object.values(RateUnit) as string[];
  if (!units.includes(limit.unit)) {
    throw new Error(`${what}: unit ${JSON.stringify(limit.unit)} is not a RateUnit: use ${Object.keys(RateUnit).map((k) => `RateUnit.${k}`).join(', ')} (${units.map((u) => `'${u}'`).join(', ')})`);
  }
  if (!Number.isInteger(limit.rate) || limit.rate < 1 || limit.rate > 10000) {
    throw new Error(`${what}: rate ${limit.rate} is out of range: use a whole number of packets from 1 to 10000 per ${limit.unit}`);
  }
  if (limit.burst !== undefined && (!Number.isInteger(limit.burst) || limit.burst < 1 || limit.burst > 10000)) {
    throw new Error(`${what}: burst ${limit.burst} is out of range: use a whole number from 1 to 10000`);
  }
}
