import { IPSET_FILE } from './ipset';
import { chunkPorts, DOCKER_USER_CHAIN, iptablesLayout, MULTIPORT_SLOTS, ownChainName, PUBLISHED_IPTABLES_CHAIN } from './iptables-layout';
import type { CompiledRuleset } from '../../compiled-ruleset';
import { Chain } from '../../ir/chain';
import { ChainHook } from '../../ir/chain-hook';
import { RulesetModel } from '../../ir/ruleset-model';
import { ALL_FAMILIES, IpFamily } from '../../values/family';
import { Backend } from '../backend';
import { BackendOptions, BackendSubject, FirewallBackend } from '../firewall-backend';

/** `iptables-restore` and `ip6tables-restore`, with the sets in `ipset restore` input. */
class IptablesBackend implements FirewallBackend {
  public readonly id = Backend.IPTABLES;
  // sets.ipset is always uploaded, empty when the ruleset uses no sets: the apply script
  // treats an empty file as "no sets" (and prunes the library's old ones)
  public readonly fileNames = ['rules.v4', 'rules.v6', IPSET_FILE] as const;

  /** iptables and ip6tables hold a table each: one family at a time. */
  public layout(model: RulesetModel, family?: IpFamily): RulesetModel {
    if (family === undefined) throw new Error('internal error: the iptables layout is per family');
    return iptablesLayout(model, family);
  }

  public deployedModel(ruleset: CompiledRuleset, family: IpFamily): RulesetModel {
    return ruleset.iptablesModel(family);
  }

  public files(ruleset: CompiledRuleset, _options?: BackendOptions): Record<string, string> {
    const out: Record<string, string> = {};
    for (const family of ALL_FAMILIES) out[family === IpFamily.IPV4 ? 'rules.v4' : 'rules.v6'] = ruleset.toIptablesRestore(family);
    const sets = ruleset.toIpset();
    if (sets !== '') out[IPSET_FILE] = sets;
    return out;
  }

  /** The rules of the library's own chains (the hook jumps excluded). */
  public ruleCount(ruleset: CompiledRuleset, family: IpFamily): number {
    return ruleset.iptablesModel(family)
      .tables.flatMap((t) => t.chains)
      .filter((c) => !c.hook)
      .reduce((n, c) => n + c.rules.length, 0);
  }

  public supports(subject: BackendSubject): string[] {
    const problems: string[] = [];
    if (subject.nftTableName !== undefined) {
      problems.push(`nftTableName '${subject.nftTableName}' needs backend: Backend.NFTABLES (iptables keeps its rules in SFW-* chains)`);
    }
    if (subject.model) problems.push(...splitConnectionLimits(subject.model));
    return problems;
  }

  public chainLocation(table: string, chain: Chain): string {
    const hook = chain.hook!;
    return hook === ChainHook.FORWARD
      ? `iptables ${table} FORWARD -> ${DOCKER_USER_CHAIN} -> ${PUBLISHED_IPTABLES_CHAIN}`
      : `iptables ${table} ${hook.toUpperCase()} -> ${ownChainName(hook)}`;
  }
}

/**
 * connlimit counts the connections each rule saw, not the host's: a limited declaration
 * whose ports need more than one multiport rule would allow `concurrentPerSource`
 * connections per rule, silently more than declared. One problem per declaration and
 * protocol.
 */
function splitConnectionLimits(model: RulesetModel): string[] {
  const problems = new Map<string, string>();
  for (const rule of model.tables.flatMap((t) => t.chains).flatMap((c) => c.rules)) {
    const m = rule.match;
    if (!m.sourceConnectionsOver || !m.destinationPorts) continue;
    const rules = chunkPorts(m.destinationPorts).length;
    if (rules <= 1) continue;
    const origin = rule.origins.join(', ');
    const key = `${origin}|${m.protocol}`;
    if (problems.has(key)) continue;
    problems.set(key, `${origin}: concurrentPerSource is counted per iptables rule, and its ${m.destinationPorts.length} ${m.protocol} ports `
      + `need ${rules} rules (multiport holds ${MULTIPORT_SLOTS} ports, a range counting two), so each rule would allow `
      + `${m.sourceConnectionsOver.above} connections of its own: lower the host's setThreshold below ${m.destinationPorts.length} `
      + '(the ports then go into one port set), declare fewer ports or ranges, or use Backend.NFTABLES');
  }
  return [...problems.values()];
}

/** The iptables backend. */
export const IPTABLES_BACKEND: FirewallBackend = new IptablesBackend();
