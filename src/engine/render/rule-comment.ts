import { Rule } from '../model/rule';

/** nftables stores at most 128 bytes of comment; iptables 256. Keep one limit for both. */
export const MAX_COMMENT_LENGTH = 120;

/**
 * The comment rendered for a rule: its origins (construct paths), then its description.
 * Only printable ASCII without quotes or backslashes survives, so the text round-trips
 * through iptables-save and nft list unchanged.
 */
export function ruleComment(rule: Rule): string {
  const origins = rule.origins.join(' ');
  const text = rule.comment ? `${origins}: ${rule.comment}` : origins;
  const clean = text.replace(/[^\x20-\x7e]|["\\']/g, '_');
  return clean.length > MAX_COMMENT_LENGTH ? `${clean.slice(0, MAX_COMMENT_LENGTH - 3)}...` : clean;
}
