import { Chain } from '../../ir/chain';
import { Rule } from '../../ir/rule';

// Chain names of the nftables layout: each chain is named after every case that reaches it.

/** Prefix of the chains the layout adds to the library's nftables table. */
export const NFT_CHAIN_PREFIX = 'sfw';

/** What a part of a chain name says: the base chain, the conntrack state, the family, the protocol, the port, the source. */
export type NameKind = 'base' | 'state' | 'family' | 'protocol' | 'key' | 'source';
const NAME_KINDS: NameKind[] = ['base', 'state', 'family', 'protocol', 'key', 'source'];
/** A chain name as the parts the dispatch levels above it add (`sfw`, `new`, `v6`, `tcp`, `p22`). */
export type ChainName = readonly { readonly kind: NameKind; readonly value: string }[];
/** A part with more values than this says `..._plusN` for the rest (a chain many ports share keeps a short name). */
const MAX_JOINED_VALUES = 3;

/**
 * The name of a chain reached under several names (identical rule lists share one chain):
 * each part says every case the chain holds. A chain both families reach drops the family
 * (`sfw_new_tcp`, not `sfw_new_v4_tcp`); other parts list their values in the order they
 * were reached (`sfw_new_tcp_p80_p443` for a chain ports 80 and 443 share,
 * `sfw_new_untracked_v6_icmpv6` for one new and untracked connections share).
 */
export function chainName(requests: readonly ChainName[]): string {
  const words: string[] = [];
  for (const kind of NAME_KINDS) {
    const values = [...new Set(requests.flatMap((r) => r.filter((p) => p.kind === kind).map((p) => p.value)))];
    if (kind === 'family' && (values.length > 1 || requests.some((r) => !r.some((p) => p.kind === 'family')))) continue;
    if (kind === 'base' && values.length > 1) {
      // the input chain's own chains have no base part (`sfw_new`): name it when others share the chain
      const bases = values.map((v) => (v === NFT_CHAIN_PREFIX ? `${NFT_CHAIN_PREFIX}_input` : v));
      words.push(bases[0], ...bases.slice(1).map((b) => b.slice(NFT_CHAIN_PREFIX.length + 1)));
      continue;
    }
    const shown = values.length > MAX_JOINED_VALUES ? [...values.slice(0, MAX_JOINED_VALUES - 1), `plus${values.length - MAX_JOINED_VALUES + 1}`] : values;
    words.push(...shown);
  }
  return words.join('_');
}

export function extend(name: ChainName, ...parts: { kind: NameKind; value: string }[]): ChainName {
  return [...name, ...parts];
}

export function renameTargets(rules: Rule[], rename: Map<string, string>): Rule[] {
  const to = <T extends { readonly target?: string }>(x: T): T => (x.target !== undefined ? { ...x, target: rename.get(x.target) ?? x.target } : x);
  return rules.map((r) => (r.verdictMap ? { ...r, verdictMap: { ...r.verdictMap, entries: r.verdictMap.entries.map(to) } } : to(r)));
}

/**
 * The chains in the order a reader follows them: the first `bases` chains (base chains),
 * each followed by the chains it leads to (depth first). Chains already in `seen` are skipped.
 */
export function topDown(chains: Chain[], bases: number, seen: Set<string>): Chain[] {
  const byName = new Map(chains.map((c) => [c.name, c]));
  const out: Chain[] = [];
  const visit = (chain: Chain) => {
    if (seen.has(chain.name)) return;
    seen.add(chain.name);
    out.push(chain);
    for (const rule of chain.rules) {
      const targets = rule.verdictMap ? rule.verdictMap.entries.map((e) => e.target) : [rule.target];
      for (const t of targets) if (t !== undefined && byName.has(t)) visit(byName.get(t)!);
    }
  };
  for (const c of chains.slice(0, bases)) visit(c);
  return out;
}
