/**
 * The netfilter front end a host's ruleset is rendered for and deployed with.
 */
export enum Backend {
  /** `iptables-restore` and `ip6tables-restore` (either the nft or the legacy variant). */
  IPTABLES = 'iptables',
  /** `nft -f`, one `inet` table for both families. */
  NFTABLES = 'nftables',
}
