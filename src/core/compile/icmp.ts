import { ConnectionState } from '../ir/connection-state';
import { checkRateLimit, RateLimit, RateUnit } from '../ir/rate-limit';
import { Rule } from '../ir/rule';
import { Verdict } from '../ir/verdict';
import { AddressRange, formatRange } from '../net/address-range';
import { HostPolicy } from '../policy/host-policy';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

/** Ping: 20 echo requests per second per family, bursts of 50. */
export const DEFAULT_PING_LIMIT: RateLimit = { rate: 20, unit: RateUnit.SECOND, burst: 50 };

/** ICMPv6 neighbour discovery: router solicit/advert, neighbour solicit/advert (RFC 4890 4.4.1). */
export const ICMPV6_ND_TYPES = [133, 134, 135, 136];
/** ICMPv6 multicast listener query, report, done and MLDv2 report (RFC 4890 4.4.1). */
export const ICMPV6_MLD_TYPES = [130, 131, 132, 143];
const LINK_LOCAL_V6: AddressRange = { family: IpFamily.IPV6, first: 0xfe80n << 112n, last: (0xfe80n << 112n) | ((1n << 118n) - 1n) };

/** Ping (echo requests, rate-limited), unless the policy turns it off. */
export function pingRules(policy: HostPolicy, baseline: string): Rule[] {
  if (!(policy.allowPing ?? true)) return [];
  const limit = policy.pingRateLimit ?? DEFAULT_PING_LIMIT;
  checkPingRateLimit(limit, baseline);
  return [
    {
      match: { family: IpFamily.IPV4, protocol: Protocol.ICMP, states: [ConnectionState.NEW], icmpTypes: [8], limit },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'ping',
    },
    {
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, states: [ConnectionState.NEW], icmpTypes: [128], limit },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'ping',
    },
  ];
}

/** Throws, naming `origin`, when the ping rate limit is unusable. */
export function checkPingRateLimit(limit: RateLimit, origin: string): void {
  checkRateLimit(limit, `${origin}: pingRateLimit`);
}

/**
 * The ICMPv6 essentials of RFC 4890 4.4.1 the host accepts whatever else is declared:
 * neighbour discovery (router and neighbour solicitations and advertisements, hop limit
 * 255: never forwarded, so only on-link senders) and MLD from link-local sources. They
 * come before the denials and everything else a declaration adds: without them a denied
 * address (or, for a denial of all IPv6, every on-link neighbour) could not resolve the
 * host, nor the host it, and IPv6 to it would stop in both directions. Stateless (conntrack
 * leaves them untracked).
 */
export function icmpv6EssentialRules(baseline: string): Rule[] {
  return [
    {
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, icmpTypes: ICMPV6_ND_TYPES, hopLimit: 255 },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'icmpv6 neighbour discovery',
    },
    {
      match: {
        family: IpFamily.IPV6,
        protocol: Protocol.ICMPV6,
        icmpTypes: ICMPV6_MLD_TYPES,
        source: { elements: [formatRange(LINK_LOCAL_V6)] },
      },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'icmpv6 multicast listener discovery',
    },
  ];
}
