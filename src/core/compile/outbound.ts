import { defaultActionRules, logRule } from './denials';
import { ICMPV6_MLD_TYPES, ICMPV6_ND_TYPES } from './icmp';
import { OUTPUT_CHAIN, PUBLISHED_CHAIN } from './names';
import { collectOpenings, mergeAcrossFamilies, openingsToRules, sortOpenings } from './openings';
import { replyOf } from './raw';
import { SetBuilder } from './sets';
import { Chain } from '../ir/chain';
import { ChainHook } from '../ir/chain-hook';
import { ConnectionState } from '../ir/connection-state';
import { Rule } from '../ir/rule';
import { Verdict } from '../ir/verdict';
import { DefaultAction } from '../policy/default-action';
import { HostPolicy } from '../policy/host-policy';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

// The chains besides input: what the host sends (output), and published container ports (forward).

/**
 * The OUTPUT chain: the same stateful pattern for what the host sends. Established
 * first, loopback, invalid dropped, ICMPv6 neighbour discovery and MLD (the host must
 * send them for IPv6 to work; like the input chain's, ahead of everything a declaration
 * adds), the declared destinations for NEW only, then the outbound default action.
 */
export function outputChain(policy: HostPolicy, baseline: string, sets: SetBuilder, untracked: Rule[]): Chain {
  const outbound = policy.outbound!;
  for (const a of outbound.allowances) {
    const problem = [...a.ports, ...a.peers].find((x) => x.problem)?.problem;
    if (problem) throw new Error(`${a.origin}: ${problem}`);
  }
  const origin = `${baseline} outbound`;
  const openings = sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: outbound.allowances })));
  const rules: Rule[] = [
    { match: { states: [ConnectionState.ESTABLISHED, ConnectionState.RELATED] }, verdict: Verdict.ACCEPT, origins: [origin], comment: 'established and related traffic' },
    { match: { outInterface: 'lo' }, verdict: Verdict.ACCEPT, origins: [origin], comment: 'loopback' },
    { match: { states: [ConnectionState.INVALID] }, verdict: Verdict.DROP, origins: [origin], comment: 'invalid state' },
    {
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, icmpTypes: [...ICMPV6_MLD_TYPES, ...ICMPV6_ND_TYPES].sort((a, b) => a - b) },
      verdict: Verdict.ACCEPT,
      origins: [origin],
      comment: 'icmpv6 neighbour discovery and multicast listener discovery',
    },
    // the replies of untracked services
    ...untracked.map((r) => ({ ...replyOf(r), comment: 'untracked service replies' })),
    // the same openings, to destinations instead of from sources
    ...openingsToRules(openings, sets).map((r) => ({ ...r, match: { ...r.match, source: undefined, destination: r.match.source } })),
    ...defaultActionRules(outbound.defaultAction ?? DefaultAction.REJECT, origin),
  ];
  return { name: OUTPUT_CHAIN, hook: ChainHook.OUTPUT, policy: Verdict.ACCEPT, rules };
}

/**
 * The forward chain for published container ports. Forwarded traffic whose connection was
 * not destination-NATed (containers' own outbound traffic, container to container, a
 * router's clients) is not the library's: it is accepted here and Docker's chains decide
 * as before. Of the DNATed (published) traffic: established and related first, then new
 * connections (TCP: SYN only) from the declared peers to the declared ORIGINAL destination
 * ports (the host port, before DNAT rewrote it to the container's), then optional drop
 * logging and the host's default action for published traffic nobody allowed. Accept here
 * means "the library does not stop it": in iptables the chain returns to `DOCKER-USER`
 * and Docker's own chains still apply; in nftables the library's chain is one base chain
 * next to Docker's.
 */
export function publishedChain(policy: HostPolicy, published: HostPolicy['allowances'], baseline: string): Chain {
  const origin = `${baseline} published`;
  // no named sets here: iptables' conntrack match takes one original port (or range) per rule, and peer sets stay with INPUT
  const openings = sortOpenings(mergeAcrossFamilies(collectOpenings({ ...policy, allowances: published })));
  const noSets = new SetBuilder(Infinity);
  const rules: Rule[] = [
    { match: { states: [ConnectionState.ESTABLISHED, ConnectionState.RELATED] }, verdict: Verdict.ACCEPT, origins: [origin], comment: 'established and related traffic' },
    { match: { destinationNat: false }, verdict: Verdict.ACCEPT, origins: [origin], comment: 'not published: docker decides' },
    // one rule per original port or range: iptables' conntrack match takes one, and nft lists a single value back as written
    ...openingsToRules(openings, noSets).flatMap((r) => (r.match.destinationPorts ?? [{ from: 1, to: 65535 }]).map((p) => ({
      ...r,
      match: { ...r.match, destinationPorts: undefined, originalDestinationPorts: [p] },
    }))),
  ];
  if (policy.logDropped) rules.push(logRule(policy, origin));
  rules.push(...defaultActionRules(policy.defaultAction ?? DefaultAction.REJECT, origin));
  return { name: PUBLISHED_CHAIN, hook: ChainHook.FORWARD, policy: Verdict.ACCEPT, rules };
}
