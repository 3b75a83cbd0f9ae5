import { ChainHook } from './chain-hook';
import { Rule } from './rule';
import { Verdict } from './verdict';

/**
 * When a base chain runs on its hook.
 *
 * @experimental
 */
export enum ChainPriority {
  /** Before connection tracking (iptables raw table, nft `priority raw`, -300). */
  RAW = 'raw',
  /** After connection tracking, where filtering happens (nft `priority filter`, 0). */
  FILTER = 'filter',
}

/**
 * An ordered list of rules. Base chains are attached to a hook; regular chains are
 * only reached by a JUMP.
 *
 * @experimental
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

  /**
   * Where a base chain runs on its hook, relative to connection tracking: `RAW`
   * chains run before conntrack has looked at the packet (iptables' raw table, nft
   * `priority raw`), so they can exempt packets from it.
   *
   * @default ChainPriority.FILTER
   */
  readonly priority?: ChainPriority;

  /** The rules, evaluated first match first. */
  readonly rules: Rule[];

  /**
   * The rule a packet reaching the end of this chain stands for: where the nftables layout
   * leaves a chain's final DROP to the base chain's DROP policy, the simulator reports this
   * rule (its origins and comment) as deciding. Not rendered.
   *
   * @default - none: the policy decides
   */
  readonly endRule?: Rule;
}
