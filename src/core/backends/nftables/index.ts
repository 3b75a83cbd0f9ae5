import { NFT_TABLE } from './nftables';
import { nftablesLayout } from './nftables-layout';
import type { CompiledRuleset } from '../../compiled-ruleset';
import { Chain, ChainPriority } from '../../ir/chain';
import { RulesetModel } from '../../ir/ruleset-model';
import { IpFamily } from '../../values/family';
import { Backend } from '../backend';
import { BackendOptions, BackendSubject, FirewallBackend } from '../firewall-backend';

/** A table name nft accepts: a letter, then up to 63 letters, digits or `_`. */
const NFT_TABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,63}$/;

/** `nft -f`: one `inet` table for both families, with its named sets. */
class NftablesBackend implements FirewallBackend {
  public readonly id = Backend.NFTABLES;
  public readonly fileNames = ['ruleset.nft'] as const;

  /** One layout for both families (the rules carry their family). */
  public layout(model: RulesetModel): RulesetModel {
    return nftablesLayout(model);
  }

  public deployedModel(ruleset: CompiledRuleset, _family?: IpFamily): RulesetModel {
    return ruleset.nftablesModel();
  }

  public files(ruleset: CompiledRuleset, options: BackendOptions = {}): Record<string, string> {
    return { 'ruleset.nft': ruleset.toNftables(options.nftTableName) };
  }

  /** The rules a packet of `family` can meet (chains reached through a map element or rule of the other family left out). */
  public ruleCount(ruleset: CompiledRuleset, family: IpFamily): number {
    return nftRulesForFamily(ruleset.nftablesModel(), family);
  }

  public supports(subject: BackendSubject): string[] {
    const name = subject.nftTableName ?? NFT_TABLE;
    return NFT_TABLE_NAME.test(name) ? [] : [`nftTableName '${name}' is not a name nft accepts: use a letter, then up to 63 letters, digits or '_'`];
  }

  public chainLocation(_table: string, chain: Chain): string {
    const priority = chain.priority === ChainPriority.RAW ? ', priority raw' : '';
    return `nftables chain ${chain.name} (hook ${chain.hook}${priority})`;
  }
}

/** The rules of a laid-out nftables model a packet of `family` can meet. */
function nftRulesForFamily(model: RulesetModel, family: IpFamily): number {
  const admits = (f: IpFamily | undefined) => f === undefined || f === family;
  let count = 0;
  for (const table of model.tables) {
    const chains = new Map(table.chains.map((c) => [c.name, c]));
    const seen = new Set<string>();
    const visit = (name: string) => {
      const chain = chains.get(name);
      if (!chain || seen.has(name)) return;
      seen.add(name);
      for (const rule of chain.rules) {
        if (!admits(rule.match.family)) continue;
        count++;
        if (rule.verdictMap) {
          for (const e of rule.verdictMap.entries) if (e.target && admits(e.match.family)) visit(e.target);
        } else if (rule.target) {
          visit(rule.target);
        }
      }
    };
    for (const base of table.chains.filter((c) => c.hook)) visit(base.name);
  }
  return count;
}

/** The nftables backend. */
export const NFTABLES_BACKEND: FirewallBackend = new NftablesBackend();
