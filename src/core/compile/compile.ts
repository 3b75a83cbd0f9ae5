import { defaultActionRules, denialRules, logRule } from './denials';
import { icmpv6EssentialRules, pingRules } from './icmp';
import { limitRules, untrackedOpenings } from './inbound';
import { FILTER_TABLE, INPUT_CHAIN, RAW_TABLE } from './names';
import { collectOpenings, mergeAcrossFamilies, openingsToRules, sortOpenings } from './openings';
import { outputChain, publishedChain } from './outbound';
import { helperRules, rawChains } from './raw';
import { DEFAULT_SET_THRESHOLD, SetBuilder } from './sets';
import { Chain } from '../ir/chain';
import { ChainHook } from '../ir/chain-hook';
import { ConnectionState } from '../ir/connection-state';
import { Rule } from '../ir/rule';
import { RulesetModel } from '../ir/ruleset-model';
import { Verdict } from '../ir/verdict';
import { allowanceProblem } from '../policy/allowance-checks';
import { DefaultAction } from '../policy/default-action';
import { HostPolicy } from '../policy/host-policy';

// The compiler's entry point. Its parts: openings.ts (declarations to merged, ordered
// rules), inbound.ts (limits, untracked services), denials.ts (denials, logging, the
// default action), icmp.ts (ICMPv6 essentials, ping), outbound.ts (output and published
// chains), raw.ts (notrack and conntrack helpers), names.ts (table and chain names).
export {
  FILTER_TABLE, INPUT_CHAIN, OUTPUT_CHAIN, PUBLISHED_CHAIN, RAW_TABLE, PREROUTING_CHAIN, NOTRACK_PREROUTING_CHAIN, NOTRACK_OUTPUT_CHAIN,
} from './names';
export { DEFAULT_PING_LIMIT, ICMPV6_MLD_TYPES, ICMPV6_ND_TYPES, checkPingRateLimit } from './icmp';
export { DEFAULT_LOG_LIMIT, MAX_LOG_PREFIX, dropLoggingPrefix } from './denials';

/**
 * Compiles a host's declared intent into the neutral ruleset model: one `filter`
 * table whose `input` chain holds, in order,
 *
 * 1. `ESTABLISHED,RELATED` accept (nearly every packet stops here),
 * 2. loopback accept,
 * 3. `INVALID` drop,
 * 4. the ICMPv6 essentials: neighbour discovery and MLD (IPv6 does not work without
 *    them), ahead of everything a declaration adds, so no denial can break them,
 * 5. denials, untracked services (`UNTRACKED`), over-limit rules,
 * 6. the openings, `NEW` only (TCP: SYN only), ports and peers merged, widest first,
 * 7. ping,
 * 8. optional drop logging, then the default action.
 */
export function compileHostPolicy(declared: HostPolicy): RulesetModel {
  // published container ports go to the forward path only; everything else reads the host's own openings
  const published = declared.allowances.filter((a) => a.published);
  const policy: HostPolicy = published.length > 0 ? { ...declared, allowances: declared.allowances.filter((a) => !a.published) } : declared;
  for (const a of [...declared.allowances, ...(policy.denials ?? [])]) {
    const problem = [...(a.ports ?? []), ...a.peers].find((x) => x.problem)?.problem;
    if (problem) throw new Error(`${a.origin}: ${problem}`);
  }
  for (const a of declared.allowances) {
    const problem = allowanceProblem(a);
    if (problem) throw new Error(`${a.origin}: ${problem}`);
  }
  const baseline = policy.origin ?? policy.name;
  const threshold = policy.setThreshold ?? DEFAULT_SET_THRESHOLD;
  if (!(Number.isInteger(threshold) || threshold === Infinity) || threshold < 0) {
    throw new Error(`${baseline}: setThreshold ${threshold} is not usable: use a whole number of elements (0 puts every peer list in a set)`);
  }
  const sets = new SetBuilder(threshold);
  const rules: Rule[] = [
    {
      match: { states: [ConnectionState.ESTABLISHED, ConnectionState.RELATED] },
      verdict: Verdict.ACCEPT,
      origins: [baseline],
      comment: 'established and related traffic',
    },
    { match: { inInterface: 'lo' }, verdict: Verdict.ACCEPT, origins: [baseline], comment: 'loopback' },
    { match: { states: [ConnectionState.INVALID] }, verdict: Verdict.DROP, origins: [baseline], comment: 'invalid state' },
    // before the denials: a denied peer (or all of IPv6) must still resolve the host's address and answer its solicitations
    ...icmpv6EssentialRules(baseline),
  ];

  rules.push(...denialRules(policy, sets));
  // untracked packets (a high-rate service) before the limits: those only see NEW, so the order changes nothing but the cost
  const untracked = untrackedOpenings(policy, sets);
  rules.push(...untracked.map((r) => ({ ...r, comment: 'untracked service' })));
  rules.push(...limitRules(policy, sets));
  const tracked = policy.allowances.filter((a) => !a.notrack);
  rules.push(...openingsToRules(sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: tracked }))), sets));
  rules.push(...pingRules(policy, baseline));
  if (policy.logDropped) rules.push(logRule(policy, baseline));
  rules.push(...defaultActionRules(policy.defaultAction ?? DefaultAction.REJECT, baseline));

  const input: Chain = { name: INPUT_CHAIN, hook: ChainHook.INPUT, policy: Verdict.ACCEPT, rules };
  const output = policy.outbound ? outputChain(policy, baseline, sets, untracked) : undefined;
  const forward = published.length > 0 ? publishedChain(policy, published, baseline) : undefined;
  const chains = [input, ...(output ? [output] : []), ...(forward ? [forward] : [])];
  const helpers = helperRules(policy, sets);
  const tables = [{ name: FILTER_TABLE, chains }];
  const raw = rawChains(untracked, helpers);
  if (raw.length > 0) tables.push({ name: RAW_TABLE, chains: raw });
  const definitions = sets.definitions();
  return definitions.length > 0 ? { tables, sets: definitions } : { tables };
}
