import { createHash } from 'crypto';
import { Rule } from '../ir/rule';

/** nftables stores at most 128 bytes of comment; iptables 256. Keep one limit for both. */
export const MAX_COMMENT_LENGTH = 120;

/**
 * The comment rendered for a rule: its origins (construct paths), then its description.
 * Only printable ASCII without quotes or backslashes survives, so the text round-trips
 * through iptables-save and nft list unchanged. Longer texts are cut to 120 characters
 * ending in `...` and a 7-character hash of the whole text.
 */
export function ruleComment(rule: Rule): string {
  const origins = rule.origins.join(' ');
  const text = rule.comment ? `${origins}: ${rule.comment}` : origins;
  const clean = text.replace(/[^\x20-\x7e]|["\\']/g, '_');
  if (clean.length <= MAX_COMMENT_LENGTH) return clean;
  // cut, but keep a hash of the whole text: two long paths that share a beginning stay apart
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 7);
  return `${clean.slice(0, MAX_COMMENT_LENGTH - 3 - hash.length)}...${hash}`;
}
