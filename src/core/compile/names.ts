// The names of the neutral model's tables and chains (renderers map them to their own names).

/** Name of the neutral model's filter table and input chain (renderers map them to their own names). */
export const FILTER_TABLE = 'filter';
export const INPUT_CHAIN = 'input';
export const OUTPUT_CHAIN = 'output';
/**
 * The forward-hook chain for published container ports (iptables: `SFW-PUBLISHED`, jumped
 * to from Docker's `DOCKER-USER`; nftables: chain `published` in the library's table, hook forward).
 */
export const PUBLISHED_CHAIN = 'published';
/** The table and chain conntrack helpers are attached in (iptables: raw; nftables: a prerouting chain). */
export const RAW_TABLE = 'raw';
export const PREROUTING_CHAIN = 'prerouting';
/** The chains, before conntrack, that exempt untracked services from it. */
export const NOTRACK_PREROUTING_CHAIN = 'raw_prerouting';
export const NOTRACK_OUTPUT_CHAIN = 'raw_output';
