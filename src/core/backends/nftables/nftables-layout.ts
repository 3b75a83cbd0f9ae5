import { layable, PROTOCOL_VALUE, STATE_KEY_ORDER } from './dispatch';
import { Builder } from './layout';
import { mergeLimitGroups } from './limits';
import { ChainName, NFT_CHAIN_PREFIX, renameTargets, topDown } from './naming';
import { ChainPriority } from '../../ir/chain';
import { ChainHook } from '../../ir/chain-hook';
import { RulesetModel } from '../../ir/ruleset-model';
import { Verdict } from '../../ir/verdict';
import { withReferencedSets } from '../iptables/iptables-layout';

export { NFT_CHAIN_PREFIX, PROTOCOL_VALUE, STATE_KEY_ORDER };

/**
 * Lays the neutral model out for nftables so that every packet is decided in a few rules
 * whatever the policy's size (issue 13: at most 6 with every feature on, raw chains
 * included):
 *
 * - the input (and output) chain dispatches on the conntrack state (`ct state vmap`);
 * - each state's chain, after the loopback rule, on family, protocol and destination port
 *   in one lookup (`meta nfproto . meta l4proto . th dport vmap`, port ranges as intervals;
 *   ICMP takes every `th dport`);
 * - each case's chain on the source address (`ip saddr vmap`, intervals resolved at synth
 *   so the first matching rule of the linear chain decides: denials before openings),
 *   guarded by `tcp flags syn / fin,syn,rst,ack` when the openings want a bare SYN;
 * - a declaration's limits are one rule (`LimitsUnder`), the over-limit action the next;
 * - with a default action of DROP, the base chain's policy is DROP and a chain's final
 *   DROP is left to it (the chain's `endRule` names the rule it stands for);
 * - conntrack helpers are attached by the opening that accepts the new connection
 *   (`ct helper set ... accept`: conntrack confirms the connection after the input hook),
 *   unless another opening with other peers accepts the same port: then the helper chain stays.
 *
 * First-match order is kept: a case's chain lists exactly the rules of the linear chain
 * that admit the case. What costs more rules: rules on late-bound sets (members unknown at
 * synth) stay rules of their own; a NEW TCP segment that is not a bare SYN skips the guarded
 * map and meets the rules for it; a REJECT default or over-limit action is a rule of its own.
 * Models the layout does not understand are returned unchanged.
 */
function isHelperChain(table: string, chain: RulesetModel['tables'][number]['chains'][number]): boolean {
  return table === 'raw' && chain.hook === ChainHook.PREROUTING && chain.priority !== ChainPriority.RAW && chain.rules.every((r) => r.verdict === Verdict.HELPER);
}

export function nftablesLayout(model: RulesetModel): RulesetModel {
  if (!layable(model)) return model;
  const sets = new Map((model.sets ?? []).map((s) => [s.name, s]));
  const helpers = model.tables.flatMap((t) => t.chains.filter((c) => isHelperChain(t.name, c)).flatMap((c) => c.rules));
  const input = model.tables.some((t) => t.chains.some((c) => c.hook === ChainHook.INPUT && c.rules.some((r) => r.match.states !== undefined)));
  // helpers move into the input chain's new connections (one builder: identical chains are shared across base chains)
  const builder = new Builder(sets);
  const seen = new Set<string>();
  const tables = model.tables.map((table) => {
    const bases = table.chains.filter((c) => !(input && isHelperChain(table.name, c))).map((chain) => {
      // the forward chain of published container ports stays linear: a few rules, keyed on the original port the maps do not read
      if (chain.hook === ChainHook.FORWARD) return chain;
      const name: ChainName = [{ kind: 'base', value: chain.hook === ChainHook.INPUT && table.name !== 'raw' ? NFT_CHAIN_PREFIX : `${NFT_CHAIN_PREFIX}_${chain.name}` }];
      const stateful = chain.rules.some((r) => r.match.states !== undefined);
      builder.policyDrop = false;
      builder.helpers = [];
      if (!stateful) return { ...chain, rules: builder.gate(chain.rules, name) ?? chain.rules };
      // a linear chain ending in DROP for everything: the policy drops, the chains below need not
      const final = chain.rules[chain.rules.length - 1];
      const drop = final !== undefined && final.verdict === Verdict.DROP && Object.values(final.match).every((v) => v === undefined);
      builder.policyDrop = drop;
      builder.helpers = input && chain.hook === ChainHook.INPUT ? helpers : [];
      const rules = builder.state(mergeLimitGroups(chain.rules), name);
      return drop ? { ...chain, policy: Verdict.DROP, rules, endRule: final } : { ...chain, rules };
    });
    return { name: table.name, chains: bases };
  });
  const chains = builder.named();
  const rename = new Map(builder.chains.map((c, i) => [c.name, chains[i].name]));
  for (const t of tables) t.chains = t.chains.map((c) => ({ ...c, rules: renameTargets(c.rules, rename) }));
  const laid: RulesetModel = {
    tables: tables.map((t) => ({ name: t.name, chains: topDown([...t.chains, ...chains], t.chains.length, seen) })),
  };
  return withReferencedSets(laid, model.sets);
}
