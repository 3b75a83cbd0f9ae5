import { Chain } from '../ir/chain';
import { Rule } from '../ir/rule';
import { Verdict } from '../ir/verdict';

/**
 * What a walk asks of its caller for each rule it reaches: the rule as it applies to the
 * packet (a verdict map resolved to its element), or undefined when it does not match.
 * `at` names the rule (`chain#index`, 1-based).
 */
export type RuleVisitor = (rule: Rule, at: string) => Rule | undefined;

/** What a walk calls for a matched rule that does not end it (LOG, HELPER, NOTRACK). */
export type EffectVisitor = (rule: Rule, at: string) => void;

/** How a walk of one base chain ended. */
export interface WalkEnd {
  /** The verdict: the deciding rule's, or the base chain's policy. */
  readonly verdict: Verdict;
  /** The deciding rule as it applied (undefined when the policy decided). */
  readonly rule?: Rule;
  /** The chain the deciding rule is in, or the base chain when its policy decided. */
  readonly chain: string;
  /** When the policy decided: the last chain the packet ran off the end of (see `Chain.endRule`). */
  readonly fellOff?: Chain;
}

/**
 * Walks one base chain the way netfilter does: rules first match first, JUMP pushes a
 * chain, GOTO replaces the current one, RETURN (or a chain's end) pops; LOG, HELPER and
 * NOTRACK are effects that do not end the walk; any other verdict does; at the end of
 * the base chain its policy decides (ACCEPT when it has none). The one chain walker of the
 * engine: the simulator and the semantic diff's traffic space both walk with it, each
 * deciding what "matches" means for its packets.
 */
export function walkChain(chains: ReadonlyMap<string, Chain>, base: Chain, visit: RuleVisitor, effect?: EffectVisitor): WalkEnd {
  const stack: { chain: Chain; index: number }[] = [{ chain: base, index: 0 }];
  let fellOff: Chain | undefined;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.index >= frame.chain.rules.length) {
      fellOff = frame.chain;
      stack.pop();
      continue;
    }
    const at = `${frame.chain.name}#${frame.index + 1}`;
    const rule = visit(frame.chain.rules[frame.index++], at);
    if (!rule) continue;
    switch (rule.verdict) {
      case Verdict.JUMP:
      case Verdict.GOTO: {
        const next = rule.target ? chains.get(rule.target) : undefined;
        if (!next) throw new Error(`${at} ${rule.verdict}s to unknown chain '${rule.target}'`);
        if (rule.verdict === Verdict.GOTO) stack.pop();
        stack.push({ chain: next, index: 0 });
        break;
      }
      case Verdict.RETURN:
        stack.pop();
        break;
      case Verdict.LOG:
      case Verdict.HELPER:
      case Verdict.NOTRACK:
        effect?.(rule, at);
        break;
      default:
        return { verdict: rule.verdict, rule, chain: frame.chain.name };
    }
  }
  return { verdict: base.policy ?? Verdict.ACCEPT, chain: base.name, fellOff };
}
