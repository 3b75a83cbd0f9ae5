import { Backend } from '../backends/backend';
import { backendFor, DEFAULT_BACKEND } from '../backends/registry';
import type { CompiledRuleset } from '../compiled-ruleset';
import { walkChain } from './chain-walk';
import { Direction } from './direction';
import { Packet } from './packet';
import { ruleMatches, setElementsByName } from './rule-matches';
import { Chain, ChainPriority } from '../ir/chain';
import { ChainHook } from '../ir/chain-hook';
import { ConnectionState } from '../ir/connection-state';
import { RejectWith } from '../ir/reject-with';
import { Rule } from '../ir/rule';
import { RulesetModel } from '../ir/ruleset-model';
import { Verdict } from '../ir/verdict';
import { MapKey } from '../ir/verdict-map';
import { Protocol } from '../values/protocol';

export { ruleMatches, setElementsByName } from './rule-matches';

/**
 * What the simulator decided for a packet, and why.
 */
export interface SimulationResult {
  /** The final verdict: ACCEPT, DROP or REJECT. */
  readonly verdict: Verdict;

  /**
   * The answer a REJECT sends.
   *
   * @default - not a REJECT
   */
  readonly rejectWith?: RejectWith;

  /**
   * The rule that decided.
   *
   * @default - the base chain's policy decided
   * @experimental
   */
  readonly rule?: Rule;

  /** The chain the deciding rule (or policy) is in. */
  readonly chain: string;

  /** The construct paths behind the deciding rule (empty when a policy decided). */
  readonly origins: string[];

  /** How many rules were evaluated, jumps included. */
  readonly rulesEvaluated: number;

  /** One line per evaluated rule: `chain#index matched|skipped: summary`. */
  readonly trace: string[];
}

function hookName(packet: Packet): string {
  return packet.direction === Direction.OUTBOUND ? 'output' : packet.direction === Direction.PUBLISHED ? 'forward' : 'input';
}

function describe(rule: Rule): string {
  if (rule.verdict === Verdict.MAP) return `vmap on ${rule.verdictMap?.keys.join(' . ')}`;
  const target = rule.verdict === Verdict.JUMP || rule.verdict === Verdict.GOTO
    ? `${rule.verdict} ${rule.target}`
    : rule.verdict === Verdict.REJECT ? `reject ${rule.rejectWith ?? RejectWith.PORT_UNREACHABLE}` : rule.verdict;
  const why = rule.comment ?? rule.origins.join(' ');
  return why ? `${target} (${why})` : target;
}

/**
 * Evaluates packets against a ruleset model the way netfilter does on the INPUT hook:
 * base chains in order, rules first match first, jumps and returns, the base chain's
 * policy at its end.
 */
export class Simulator {
  /**
   * Evaluates a packet arriving at a host against the host's ruleset, as deployed with
   * the given backend.
   */
  public static evaluate(ruleset: CompiledRuleset, packet: Packet, backend?: Backend): SimulationResult {
    const model = backendFor(backend ?? DEFAULT_BACKEND).deployedModel(ruleset, packet.family);
    return Simulator.evaluateModel(model, packet);
  }

  /**
   * Evaluates a packet against a model's INPUT base chains: first match, jumps, gotos
   * and returns, verdict maps (one lookup; a packet not in the map goes on with the next
   * rule), sets from the model's set definitions.
   *
   * @experimental
   */
  public static evaluateModel(model: RulesetModel, packet: Packet): SimulationResult {
    return evaluateModelWithState(model, packet).result;
  }

}

/**
 * `Simulator.evaluateModel`, and the conntrack state the packet had when its verdict was
 * made (UNTRACKED after a notrack rule): what the kernel's state for its replies depends on.
 * Internal to the engine and its labs.
 */
export function evaluateModelWithState(model: RulesetModel, packet: Packet): { result: SimulationResult; state: ConnectionState } {
  const sets = setElementsByName(model);
  const trace: string[] = [];
  const counter = { evaluated: 0 };
  const outbound = packet.direction === Direction.OUTBOUND;
  // the base chains in the order the packet meets them: before conntrack (iptables' raw
  // table, nft chains at priority raw: notrack turns the packet UNTRACKED), then filtering
  const bases = (hook: ChainHook, before: boolean) => model.tables.flatMap((t) =>
    t.chains.filter((c) => c.hook === hook && isBeforeConntrack(t.name, c) === before).map((chain) => ({ t, chain, before })));
  let current = packet;
  let last: SimulationResult | undefined;
  for (const { t, chain, before } of [
    ...bases(outbound ? ChainHook.OUTPUT : ChainHook.PREROUTING, true),
    ...bases(outbound ? ChainHook.OUTPUT : packet.direction === Direction.PUBLISHED ? ChainHook.FORWARD : ChainHook.INPUT, false),
  ]) {
    const walked = walk(t.chains, chain, current, sets, trace, counter);
    current = walked.packet;
    // accept in one base chain hands the packet to the next one; anything else is final
    if (walked.result.verdict !== Verdict.ACCEPT) {
      return { result: { ...walked.result, rulesEvaluated: counter.evaluated, trace: [...trace] }, state: current.state };
    }
    if (!before) last = walked.result;
  }
  const state = current.state;
  if (!last) {
    const none = `no ${hookName(packet)} chain`;
    return { result: { verdict: Verdict.ACCEPT, chain: `(${none})`, origins: [], rulesEvaluated: counter.evaluated, trace: [...trace, `${none}: accept`] }, state };
  }
  return { result: { ...last, rulesEvaluated: counter.evaluated, trace: [...trace] }, state };
}

/**
 * The packet as a map keyed on `th sport` reads it: for ICMP and ICMPv6 the first two
 * bytes of the header are the type and code (`type << 8 | code`).
 */
function transportView(rule: Rule, packet: Packet): Packet {
  const icmp = packet.protocol === Protocol.ICMP || packet.protocol === Protocol.ICMPV6;
  if (!icmp || !rule.verdictMap?.keys.includes(MapKey.TRANSPORT_SOURCE_PORT)) return packet;
  const view: Packet = Object.create(Packet.prototype);
  return Object.assign(view, packet, { sourcePort: ((packet.icmpType ?? 0) << 8) | (packet.icmpCode ?? 0) });
}

/** Whether a base chain runs before conntrack: iptables' raw table, or an nft chain at priority raw. */
function isBeforeConntrack(table: string, chain: Chain): boolean {
  return table === RAW_TABLE_NAME ? chain.priority !== ChainPriority.FILTER : chain.priority === ChainPriority.RAW;
}

const RAW_TABLE_NAME = 'raw';

/**
 * Walks one base chain for a packet (see `walkChain`): verdict maps are one lookup (a
 * packet not in the map goes on with the next rule); NOTRACK hands the packet on in state
 * UNTRACKED; every rule reached counts as evaluated and leaves a trace line.
 */
function walk(
  all: readonly Chain[],
  base: Chain,
  start: Packet,
  sets: Record<string, string[]>,
  trace: string[],
  counter: { evaluated: number },
): { result: SimulationResult; packet: Packet } {
  const chains = new Map(all.map((c) => [c.name, c]));
  let packet = start;
  const visit = (rule: Rule, at: string): Rule | undefined => {
    counter.evaluated++;
    if (rule.verdict === Verdict.MAP) {
      const keyed = transportView(rule, packet);
      const entry = ruleMatches(rule.match, packet, sets)
        ? rule.verdictMap?.entries.find((e) => ruleMatches(e.match, keyed, sets))
        : undefined;
      if (!entry) {
        trace.push(`${at} skipped: ${describe(rule)} (no element)`);
        return undefined;
      }
      const effective: Rule = {
        match: rule.match,
        verdict: entry.verdict,
        target: entry.target,
        origins: entry.origins ?? rule.origins,
        comment: entry.comment ?? rule.comment,
      };
      trace.push(`${at} matched: ${describe(effective)}`);
      return effective;
    }
    if (!ruleMatches(rule.match, packet, sets)) {
      trace.push(`${at} skipped: ${describe(rule)}`);
      return undefined;
    }
    trace.push(`${at} matched: ${describe(rule)}`);
    return rule;
  };
  const effect = (rule: Rule, at: string) => {
    if (rule.verdict === Verdict.LOG) trace.push(`${at} logged${rule.logPrefix ? ` with prefix '${rule.logPrefix}'` : ''}`);
    if (rule.verdict === Verdict.NOTRACK) packet = packet._withState(ConnectionState.UNTRACKED);
  };
  let end;
  try {
    end = walkChain(chains, base, visit, effect);
  } catch (e) {
    throw new Error(`simulator: ${(e as Error).message}`);
  }
  if (!end.rule) {
    // the last chain the packet ran off the end of: its end rule stands for the policy (see Chain.endRule)
    const endRule = end.fellOff?.endRule;
    if (endRule && endRule.verdict === end.verdict) {
      trace.push(`${end.fellOff!.name} end: ${describe(endRule)} (${base.name} policy)`);
      const result = {
        verdict: end.verdict, rule: endRule, chain: end.fellOff!.name, origins: endRule.origins, rulesEvaluated: counter.evaluated, trace,
      };
      return { packet, result };
    }
    trace.push(`${base.name} policy: ${end.verdict}`);
    return { packet, result: { verdict: end.verdict, chain: end.chain, origins: [], rulesEvaluated: counter.evaluated, trace } };
  }
  const rule = end.rule;
  return {
    packet,
    result: {
      verdict: rule.verdict,
      rejectWith: rule.verdict === Verdict.REJECT ? rule.rejectWith ?? RejectWith.PORT_UNREACHABLE : undefined,
      rule,
      chain: end.chain,
      origins: rule.origins,
      rulesEvaluated: counter.evaluated,
      trace,
    },
  };
}
