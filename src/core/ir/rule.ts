import { ConntrackHelper } from './conntrack-helper';
import { RejectWith } from './reject-with';
import { RuleMatch } from './rule-match';
import { Verdict } from './verdict';
import { VerdictMap } from './verdict-map';

/**
 * One rule: a match and a verdict, and the construct paths that asked for it.
 *
 * @experimental
 */
export interface Rule {
  /** What the packet must look like. */
  readonly match: RuleMatch;

  /** What happens to a matching packet. */
  readonly verdict: Verdict;

  /**
   * The verdict map (MAP only): the packet's key picks the verdict; a packet not in the
   * map continues with the next rule.
   *
   * @default - none
   */
  readonly verdictMap?: VerdictMap;

  /**
   * The chain to continue in (JUMP and GOTO).
   *
   * @default - none
   */
  readonly target?: string;

  /**
   * The answer sent (REJECT only).
   *
   * @default - RejectWith.PORT_UNREACHABLE
   */
  readonly rejectWith?: RejectWith;

  /**
   * The conntrack helper to attach (HELPER; or ACCEPT, which attaches it, then accepts:
   * the nftables layout attaches helpers where the new connection is accepted).
   *
   * @default - none
   */
  readonly helper?: ConntrackHelper;

  /**
   * The prefix of the kernel log line (LOG only; at most 29 characters).
   *
   * @default - no prefix
   */
  readonly logPrefix?: string;

  /**
   * The construct paths (or other origins) that produced this rule; rules merged
   * from several declarations list all of them.
   */
  readonly origins: string[];

  /**
   * A short description rendered as the rule's comment.
   *
   * @default - the origins
   */
  readonly comment?: string;
}
