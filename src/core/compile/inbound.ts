import { createHash } from 'crypto';
import { collectOpenings, mergeAcrossFamilies, openingsToRules, sortOpenings } from './openings';
import { SetBuilder } from './sets';
import { checkConnectionLimits, OverLimitAction } from '../ir/connection-limits';
import { ConnectionState } from '../ir/connection-state';
import { DEFAULT_BURST } from '../ir/rate-limit';
import { RejectWith } from '../ir/reject-with';
import { Rule } from '../ir/rule';
import { Verdict } from '../ir/verdict';
import { HostPolicy } from '../policy/host-policy';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

// The input chain's rules for the declared openings beyond the plain ones: per-source
// limits and untracked services.

/**
 * Per-source limits: for every opening with limits, the same match plus "this source is
 * over the limit", with the over-limit action, ahead of all openings (so no other
 * declaration lets the excess in). One per family: the per-source tables are per family.
 */
export function limitRules(policy: HostPolicy, sets: SetBuilder): Rule[] {
  const rules: Rule[] = [];
  for (const a of policy.allowances) {
    const limits = a.limits;
    if (!limits || (!limits.newConnectionsPerSource && limits.concurrentPerSource === undefined && !limits.synFloodLimit)) continue;
    checkConnectionLimits(limits, a.origin);
    const concurrent = limits.concurrentPerSource;
    const tag = createHash('sha256').update(a.origin).digest('hex').slice(0, 6);
    const reject = limits.overLimitAction === OverLimitAction.REJECT;
    for (const rule of openingsToRules(collectOpenings({ ...policy, allowances: [a] }), sets)) {
      const family = rule.match.family ?? IpFamily.IPV4;
      const v = family === IpFamily.IPV6 ? '6' : '4';
      const over = {
        verdict: reject ? Verdict.REJECT : Verdict.DROP,
        rejectWith: reject ? (rule.match.protocol === Protocol.TCP ? RejectWith.TCP_RESET : RejectWith.PORT_UNREACHABLE) : undefined,
        origins: [a.origin],
      };
      if (limits.newConnectionsPerSource) {
        const limit = { burst: DEFAULT_BURST, ...limits.newConnectionsPerSource };
        rules.push({ ...rule, ...over, match: { ...rule.match, sourceRateOver: { limit, name: `sfw-r${v}-${tag}`, family } }, comment: 'over the new-connection rate' });
      }
      if (concurrent !== undefined) {
        rules.push({ ...rule, ...over, match: { ...rule.match, sourceConnectionsOver: { above: concurrent, name: `sfw-c${v}-${tag}`, family } }, comment: 'over the connection limit' });
      }
      if (limits.synFloodLimit && rule.match.protocol === Protocol.TCP) {
        const limit = { burst: DEFAULT_BURST, ...limits.synFloodLimit };
        rules.push({ ...rule, ...over, match: { ...rule.match, rateOver: { limit, name: `sfw-s${v}-${tag}` } }, comment: 'over the syn-flood cap' });
      }
    }
  }
  return rules;
}

/**
 * The openings of untracked services: accepted in state UNTRACKED (the raw table exempted
 * them from conntrack), from their peers, to their ports.
 */
export function untrackedOpenings(policy: HostPolicy, sets: SetBuilder): Rule[] {
  const untracked = policy.allowances.filter((a) => a.notrack);
  if (untracked.length === 0) return [];
  const openings = sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: untracked })));
  return openingsToRules(openings, sets).map((r) => ({ ...r, match: { ...r.match, states: [ConnectionState.UNTRACKED], tcpSynOnly: undefined } }));
}
