import { ChainHook } from './chain-hook';
import { Rule } from './rule';
import { Verdict } from './verdict';

/**
 * An ordered list of rules. Base chains are attached to a hook; regular chains are
 * only reached by a JUMP.
 */
export interface Chain {
  /** The chain's name. */
  readonly name: string;

  /**
   * The hook a base chain is attached to.
   *
   * @default - a regular chain, reached only by jumps
   */
  readonly hook?: ChainHook;

  /**
   * The verdict for packets that reach the end of a base chain.
   *
   * @default Verdict.ACCEPT
   */
  readonly policy?: Verdict;

  /** The rules, evaluated first match first. */
  readonly rules: Rule[];
}
