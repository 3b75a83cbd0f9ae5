/**
 * A conntrack state, as matched by `-m conntrack --ctstate` / `ct state`.
 */
export enum ConnectionState {
  /** The packet opens a connection conntrack has not seen in both directions. */
  NEW = 'new',
  /** The packet belongs to a connection that has seen packets in both directions. */
  ESTABLISHED = 'established',
  /** The packet opens a connection expected by another one (FTP data, ICMP errors). */
  RELATED = 'related',
  /** Conntrack could not classify the packet. */
  INVALID = 'invalid',
  /** The packet is not tracked (e.g. ICMPv6 neighbour discovery, or `notrack`). */
  UNTRACKED = 'untracked',
}
