import { Chain } from '../../ir/chain';
import { ChainHook } from '../../ir/chain-hook';
import { Rule } from '../../ir/rule';
import { PortRange } from '../../ir/rule-match';
import { RulesetModel, Table } from '../../ir/ruleset-model';
import { SetDefinition } from '../../ir/set-definition';
import { Verdict } from '../../ir/verdict';
import { IpFamily } from '../../values/family';

/** multiport takes at most 15 ports per rule; a range takes two of the slots. */
export const MULTIPORT_SLOTS = 15;

/** Prefix of every chain the library owns in iptables; other chains are left alone. */
export const IPTABLES_CHAIN_PREFIX = 'SFW-';

const BUILTIN_CHAINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/**
 * Docker's chain for the administrator's own rules on forwarded traffic: the first rule of
 * FORWARD jumps to it, and Docker creates it only when it is missing and never flushes it.
 */
export const DOCKER_USER_CHAIN = 'DOCKER-USER';

/** The library's chain for published container ports, jumped to from `DOCKER-USER`. */
export const PUBLISHED_IPTABLES_CHAIN = `${IPTABLES_CHAIN_PREFIX}PUBLISHED`;

/** Name of the library's chain hooked from a built-in chain, e.g. `SFW-INPUT`. */
export function ownChainName(hook: ChainHook): string {
  return hook === ChainHook.FORWARD ? PUBLISHED_IPTABLES_CHAIN : `${IPTABLES_CHAIN_PREFIX}${hook.toUpperCase()}`;
}

/** Name of the library's chain for a neutral regular chain, e.g. `SFW-SSH`. */
export function regularChainName(name: string): string {
  return `${IPTABLES_CHAIN_PREFIX}${name.toUpperCase()}`;
}

/** Splits a port list into multiport-sized chunks (a range counts as two slots). */
export function chunkPorts(ports: readonly PortRange[]): PortRange[][] {
  const chunks: PortRange[][] = [];
  let current: PortRange[] = [];
  let used = 0;
  for (const p of ports) {
    const cost = p.from === p.to ? 1 : 2;
    if (used + cost > MULTIPORT_SLOTS) {
      chunks.push(current);
      current = [];
      used = 0;
    }
    current.push(p);
    used += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Expands one neutral rule into the rules iptables needs: one per source element, port
 * chunk and ICMP type (a named set stays one match), without the family tag and with the
 * jump target named as iptables holds it; appended to `out`.
 */
function expandRule(rule: Rule, out: Rule[]): void {
  const m = rule.match;
  const target = rule.verdict === Verdict.JUMP && rule.target ? regularChainName(rule.target) : rule.target;
  const sources: (string | undefined)[] = m.source?.elements ? m.source.elements : [undefined];
  const destinations: (string | undefined)[] = m.destination?.elements ? m.destination.elements : [undefined];
  const portChunks: (PortRange[] | undefined)[] = m.destinationPorts ? chunkPorts(m.destinationPorts) : [undefined];
  const sourcePortChunks: (PortRange[] | undefined)[] = m.sourcePorts ? chunkPorts(m.sourcePorts) : [undefined];
  const types: (number | undefined)[] = m.icmpTypes ? m.icmpTypes : [undefined];
  for (const src of sources) {
    for (const dst of destinations) {
      for (const ports of portChunks) {
        for (const sourcePorts of sourcePortChunks) {
          for (const type of types) {
            out.push({
              ...rule,
              match: {
                ...m,
                source: src === undefined ? m.source : { elements: [src] },
                destination: dst === undefined ? m.destination : { elements: [dst] },
                destinationPorts: ports,
                sourcePorts,
                icmpTypes: type === undefined ? undefined : [type],
                family: undefined,
              },
              target,
            });
          }
        }
      }
    }
  }
}

/**
 * Lays the neutral model out the way iptables holds it for one family: the built-in
 * chains with their policies, and for each hooked neutral chain a library-owned chain
 * (`SFW-INPUT`, ...) reached by a single jump from the built-in one, so the library's
 * rules sit next to those of other tools (Docker, fail2ban) without touching them.
 * Rules of the other family are dropped; lists iptables cannot hold in one rule are
 * expanded.
 */
export function iptablesLayout(model: RulesetModel, family: IpFamily): RulesetModel {
  const tables: Table[] = model.tables.map((table) => {
    const builtins = BUILTIN_CHAINS[table.name];
    if (!builtins) throw new Error(`iptables has no table '${table.name}'`);
    const chains: Chain[] = builtins.map((name) => ({ name, hook: name.toLowerCase() as ChainHook, policy: Verdict.ACCEPT, rules: [] as Rule[] }));
    for (const chain of table.chains) {
      const rules: Rule[] = [];
      for (const r of chain.rules) if (r.match.family === undefined || r.match.family === family) expandRule(r, rules);
      if (chain.hook) {
        const own = ownChainName(chain.hook);
        const builtin = chains.find((c) => c.hook === chain.hook);
        if (!builtin) throw new Error(`iptables table '${table.name}' has no ${chain.hook} chain`);
        // neutral chains on one hook of a table (nft runs them at different priorities) share the library's chain, in order
        const existing = chains.find((c) => c.name === own);
        if (existing) {
          existing.rules.push(...rules);
          continue;
        }
        if (chain.hook === ChainHook.FORWARD) {
          // published container ports: FORWARD -> DOCKER-USER -> SFW-PUBLISHED, ahead of Docker's own chains; an
          // accepted packet returns to DOCKER-USER and Docker's chains decide as before (see publishedChain)
          builtin.rules.push({ match: {}, verdict: Verdict.JUMP, target: DOCKER_USER_CHAIN, origins: [] });
          chains.push({ name: DOCKER_USER_CHAIN, rules: [{ match: {}, verdict: Verdict.JUMP, target: own, origins: [] }] });
          chains.push({ name: own, rules: rules.map((r) => (r.verdict === Verdict.ACCEPT ? { ...r, verdict: Verdict.RETURN } : r)) });
          continue;
        }
        builtin.rules.push({ match: {}, verdict: Verdict.JUMP, target: own, origins: [] });
        chains.push({ name: own, rules });
      } else {
        chains.push({ name: regularChainName(chain.name), rules });
      }
    }
    // iptables-save lists the built-in chains, then the others by name (rules in that order too)
    const builtin = chains.filter((c) => c.hook);
    const own = chains.filter((c) => !c.hook).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { name: table.name, chains: [...builtin, ...own] };
  });
  return withReferencedSets({ tables }, model.sets);
}

/** The model with the definitions (from `sets`) of the sets its rules refer to; an unknown name is an error. */
export function withReferencedSets(model: RulesetModel, sets: readonly SetDefinition[] = []): RulesetModel {
  const names = referencedSets(model);
  const out = names.map((name) => {
    const def = sets.find((s) => s.name === name);
    if (!def) throw new Error(`a rule refers to set '${name}', which the model does not define`);
    return def;
  });
  return out.length > 0 ? { ...model, sets: out } : { tables: model.tables };
}

/** The names of the sets a model's rules refer to, sorted. */
export function referencedSets(model: RulesetModel): string[] {
  const names = new Set<string>();
  for (const rule of model.tables.flatMap((t) => t.chains).flatMap((c) => c.rules)) {
    const m = rule.match;
    for (const name of [m.source?.set, m.destination?.set, m.destinationPortSet, m.sourcePortSet]) if (name) names.add(name);
  }
  return [...names].sort();
}
