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
}
