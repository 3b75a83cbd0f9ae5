import { NOTRACK_OUTPUT_CHAIN, NOTRACK_PREROUTING_CHAIN, PREROUTING_CHAIN } from './names';
import { collectOpenings, openingsToRules } from './openings';
import { SetBuilder } from './sets';
import { Chain, ChainPriority } from '../ir/chain';
import { ChainHook } from '../ir/chain-hook';
import { ConntrackHelper, HELPER_PROTOCOL, helperPorts } from '../ir/conntrack-helper';
import { Rule } from '../ir/rule';
import { Verdict } from '../ir/verdict';
import { HostPolicy } from '../policy/host-policy';

// The chains before the filter: untracked services exempted from conntrack, and the
// conntrack helpers attached to their control connections.

/**
 * The raw table's chains: for untracked services, their requests (addressed to the host)
 * and the host's replies exempted from conntrack, before it; the helper rules after it.
 */
export function rawChains(untracked: readonly Rule[], helpers: readonly Rule[]): Chain[] {
  const raw: Chain[] = [];
  if (untracked.length > 0) {
    // requests from the peers, and the host's replies to them, never enter conntrack
    const notrack = (comment: string) => (r: Rule): Rule => ({ ...r, match: { ...r.match, states: undefined }, verdict: Verdict.NOTRACK, comment });
    // only what is addressed to the host: forwarded traffic (Docker-published ports, a router's clients) keeps conntrack and NAT
    const requests = untracked.map((r) => ({ ...r, match: { ...r.match, destinationLocal: true } })).map(notrack('untracked service'));
    const replies = untracked.map(replyOf).map(notrack('untracked service replies'));
    raw.push({ name: NOTRACK_PREROUTING_CHAIN, hook: ChainHook.PREROUTING, priority: ChainPriority.RAW, policy: Verdict.ACCEPT, rules: requests });
    raw.push({ name: NOTRACK_OUTPUT_CHAIN, hook: ChainHook.OUTPUT, priority: ChainPriority.RAW, policy: Verdict.ACCEPT, rules: replies });
  }
  if (helpers.length > 0) raw.push({ name: PREROUTING_CHAIN, hook: ChainHook.PREROUTING, policy: Verdict.ACCEPT, rules: [...helpers] });
  return raw;
}

/** The host's replies to an opening's packets: addresses and ports swapped. */
export function replyOf(rule: Rule): Rule {
  const m = rule.match;
  return {
    ...rule,
    match: {
      ...m,
      source: undefined,
      destination: m.source,
      destinationPorts: undefined,
      destinationPortSet: undefined,
      sourcePorts: m.destinationPorts,
      sourcePortSet: m.destinationPortSet,
    },
  };
}

/**
 * Conntrack helpers: the control connections of openings with a helper (their ports, from
 * their peers) get the helper attached before conntrack decides, so the data connections
 * the helper expects arrive as RELATED and are accepted by the first rule; nothing else
 * is opened for them.
 */
export function helperRules(policy: HostPolicy, sets: SetBuilder): Rule[] {
  const rules: Rule[] = [];
  for (const a of policy.allowances.filter((x) => x.helper !== undefined)) {
    const protocol = HELPER_PROTOCOL[a.helper!];
    // the control port only, not every port of the declaration (FTP on 21, not on 443 next to it)
    const ports = helperPorts(a.helper!, a.ports);
    if (ports.length === 0) throw new Error(`${a.origin}: the ${a.helper} helper reads ${protocol}, but the opening has no ${protocol} port: add e.g. Port.${protocol}(${a.helper === ConntrackHelper.FTP ? 21 : 69})`);
    for (const rule of openingsToRules(collectOpenings({ ...policy, allowances: [{ ...a, ports }] }), sets)) {
      rules.push({
        ...rule,
        match: { ...rule.match, states: undefined, tcpSynOnly: undefined },
        verdict: Verdict.HELPER,
        helper: a.helper,
        comment: `${a.helper} helper`,
      });
    }
  }
  return rules;
}
