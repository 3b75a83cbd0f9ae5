import { openingsToRules, sortOpenings, mergeAcrossFamilies, collectOpenings, lateMembers } from './openings';
import { SetBuilder } from './sets';
import { checkRateLimit, RateLimit, RateUnit } from '../ir/rate-limit';
import { RejectWith } from '../ir/reject-with';
import { Rule } from '../ir/rule';
import { Verdict } from '../ir/verdict';
import { formatRange, isWholeFamily, unionRanges } from '../net/address-range';
import { DefaultAction } from '../policy/default-action';
import { DropLogging, HostPolicy } from '../policy/host-policy';
import { ALL_FAMILIES } from '../values/family';
import { Protocol } from '../values/protocol';

// What the host refuses: the denials, the optional logging of what the default action
// refuses, and the default action.

/** Logging: 10 lines per minute, bursts of 5. */
export const DEFAULT_LOG_LIMIT: RateLimit = { rate: 10, unit: RateUnit.MINUTE };

/**
 * Denials become DROP rules ahead of the openings: those for all traffic first (peers
 * merged into one list per family), then port-specific ones (merged like openings).
 */
export function denialRules(policy: HostPolicy, sets: SetBuilder): Rule[] {
  const denials = policy.denials ?? [];
  const whole = denials.filter((d) => !d.ports || d.ports.length === 0);
  const rules: Rule[] = [];
  for (const family of ALL_FAMILIES) {
    const ranges = unionRanges(whole.flatMap((d) => d.peers.flatMap((p) => p._ranges)).filter((r) => r.family === family));
    if (ranges.length === 0) continue;
    const origins = [...new Set(whole.filter((d) => d.peers.some((p) => p.families.includes(family))).map((d) => d.origin))].sort();
    const everyone = ranges.length === 1 && isWholeFamily(ranges[0]);
    const set = everyone ? undefined : sets.addressSet(family, ranges, origins);
    const source = everyone ? undefined : set ? { set } : { elements: ranges.map(formatRange) };
    rules.push({ match: { family, source }, verdict: Verdict.DROP, origins, comment: 'denied' });
  }
  for (const d of whole) {
    for (const family of ALL_FAMILIES) {
      const late = lateMembers(d.peers, family, d.origin);
      if (late.length === 0) continue;
      rules.push({ match: { family, source: { set: sets.lateSet(family, late, [d.origin]) } }, verdict: Verdict.DROP, origins: [d.origin], comment: 'denied' });
    }
  }
  const portDenials = denials
    .filter((d) => d.ports && d.ports.length > 0)
    .map((d) => ({ origin: d.origin, ports: d.ports!, peers: d.peers }));
  const openings = sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: portDenials })));
  for (const rule of openingsToRules(openings, sets)) {
    rules.push({ ...rule, match: { ...rule.match, states: undefined, tcpSynOnly: undefined }, verdict: Verdict.DROP, comment: 'denied' });
  }
  return rules;
}

/** iptables' LOG prefix limit (the kernel's is 29 characters plus the terminator). */
export const MAX_LOG_PREFIX = 29;

/** The LOG prefix of a host's drop logging; throws, naming `origin`, when it or the rate limit is unusable. */
export function dropLoggingPrefix(options: DropLogging, hostName: string, origin: string): string {
  checkRateLimit(options.rateLimit ?? DEFAULT_LOG_LIMIT, `${origin}: logDropped.rateLimit`);
  const prefix = options.prefix ?? `sfw ${hostName.slice(0, MAX_LOG_PREFIX - 6)}: `;
  if (prefix.length > MAX_LOG_PREFIX || !/^[\x20-\x7e]*$/.test(prefix) || /["\\']/.test(prefix)) {
    throw new Error(`${origin}: log prefix '${prefix}' is not usable: use at most ${MAX_LOG_PREFIX} printable characters without quotes or backslashes`);
  }
  return prefix;
}

/** A LOG rule for what the default action is about to refuse: LOG does not stop the packet. */
export function logRule(policy: HostPolicy, baseline: string): Rule {
  const options = policy.logDropped!;
  const prefix = dropLoggingPrefix(options, policy.name, baseline);
  return { match: { limit: options.rateLimit ?? DEFAULT_LOG_LIMIT }, verdict: Verdict.LOG, logPrefix: prefix, origins: [baseline], comment: 'log what the default action refuses' };
}

export function defaultActionRules(action: DefaultAction, origin: string): Rule[] {
  switch (action) {
    case DefaultAction.DROP:
      return [{ match: {}, verdict: Verdict.DROP, origins: [origin], comment: 'default action' }];
    case DefaultAction.REJECT_HOST_PROHIBITED:
      // one rule per family: nftables' inet `reject` has no family-neutral host-prohibited
      return ALL_FAMILIES.map((family) => ({
        match: { family },
        verdict: Verdict.REJECT,
        rejectWith: RejectWith.HOST_PROHIBITED,
        origins: [origin],
        comment: 'default action',
      }));
    case DefaultAction.REJECT:
      return [
        { match: { protocol: Protocol.TCP }, verdict: Verdict.REJECT, rejectWith: RejectWith.TCP_RESET, origins: [origin], comment: 'default action' },
        { match: {}, verdict: Verdict.REJECT, rejectWith: RejectWith.PORT_UNREACHABLE, origins: [origin], comment: 'default action' },
      ];
  }
}
