import { normalizeIptablesSave } from './kernel';
import { Lab } from './netns';
import { CompiledRuleset, IpFamily } from '../../src/core';

/** The netfilter front ends a ruleset is loaded with in the kernel labs. */
export type Variant = 'iptables-nft' | 'iptables-legacy' | 'nftables';

/** Every variant, in the order the labs run them. */
export const VARIANTS: Variant[] = ['iptables-nft', 'iptables-legacy', 'nftables'];

/**
 * Clears every table the library may use (filter and raw, both iptables variants, nft)
 * and every ipset, loads the ruleset with the variant (iptables: its ipsets first), and
 * checks that the kernel reads back exactly what was rendered (the tables rendered;
 * headers and counters aside).
 */
export function loadRuleset(lab: Lab, ns: string, ruleset: CompiledRuleset, variant: Variant): void {
  lab.sh(ns, [
    'for t in iptables iptables-legacy ip6tables ip6tables-legacy; do for tb in filter raw; do $t -t $tb -F; $t -t $tb -X; done; done 2>/dev/null',
    'nft flush ruleset; conntrack -F 2>/dev/null; ipset destroy 2>/dev/null; true',
  ].join('; '));
  if (variant === 'nftables') {
    const text = ruleset.toNftables();
    lab.exec(ns, ['nft', '-f', '-'], { input: text });
    if (lab.exec(ns, ['nft', 'list', 'table', 'inet', 'stateful_firewall']) !== text) throw new Error('nft list differs from the rendered ruleset');
    return;
  }
  // iptables rules match long peer lists with ipsets, which must exist first
  const sets = ruleset.toIpset();
  if (sets !== '') lab.exec(ns, ['ipset', 'restore'], { input: sets });
  const suffix = variant === 'iptables-legacy' ? '-legacy' : '';
  for (const family of [IpFamily.IPV4, IpFamily.IPV6]) {
    const tool = family === IpFamily.IPV4 ? 'iptables' : 'ip6tables';
    const text = ruleset.toIptablesRestore(family);
    lab.exec(ns, [`${tool}${suffix}-restore`], { input: text });
    // the tables rendered (legacy keeps listing a table once used, even when it is empty again)
    const rendered = text.split(/^(?=\*)/m).sort();
    const names = rendered.map((t) => t.split('\n')[0]);
    const live = lab.exec(ns, [`${tool}${suffix}-save`]).split(/^(?=\*)/m).filter((t) => names.includes(t.split('\n')[0])).sort();
    if (normalizeIptablesSave(live.join('')) !== normalizeIptablesSave(rendered.join(''))) {
      throw new Error(`${tool}${suffix}-save differs from the rendered ruleset:\n${live.join('')}`);
    }
  }
}
