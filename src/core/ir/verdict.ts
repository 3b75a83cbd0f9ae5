/**
 * What a rule does with a packet it matches.
 */
export enum Verdict {
  /** Let the packet through this hook (terminates the chain walk). */
  ACCEPT = 'accept',
  /** Discard the packet silently. */
  DROP = 'drop',
  /** Discard the packet and answer with an error (see `RejectWith`). */
  REJECT = 'reject',
  /** Continue in another chain, then come back. */
  JUMP = 'jump',
  /** Return to the calling chain (or apply the base chain's policy). */
  RETURN = 'return',
  /**
   * Continue in another chain without coming back: where that chain ends, the chain that
   * jumped to this one continues (or the base chain's policy applies).
   */
  GOTO = 'goto',
  /** Attach a conntrack helper to the packet's connection (see `Rule.helper`) and go on: not a verdict of its own. */
  HELPER = 'helper',
  /** Log the packet (see `Rule.logPrefix`) and go on with the next rule: not a verdict of its own. */
  LOG = 'log',
  /** Look the packet up in the rule's verdict map and apply the verdict found (see `Rule.verdictMap`). */
  MAP = 'vmap',
  /**
   * Exempt the packet from connection tracking (iptables raw `CT --notrack`, nft `notrack`);
   * does not end the chain. Later chains see it in state UNTRACKED.
   */
  NOTRACK = 'notrack',
}
