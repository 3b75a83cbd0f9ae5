import { ipsetElements } from '../../compile/sets';
import { SetDefinition, SetKind } from '../../ir/set-definition';
import { IpFamily } from '../../values/family';

/** The file the iptables backend's sets are rendered to, next to `rules.v4` and `rules.v6`. */
export const IPSET_FILE = 'sets.ipset';

/** The `create` line of a set, as `ipset save` prints it (less the kernel's own `bucketsize` and `initval`). */
export function ipsetCreateLine(set: SetDefinition): string {
  if (set.kind === SetKind.PORT) return `create ${set.name} ${set.ipsetType} range 0-65535`;
  const family = set.family === IpFamily.IPV6 ? 'inet6' : 'inet';
  return `create ${set.name} ${set.ipsetType} family ${family} hashsize ${set.hashSize} maxelem ${set.maxElements}`;
}

/**
 * Renders sets in the format `ipset save` prints and `ipset restore` reads: per set, its
 * `create` line, then one `add` line per element, in address (or port) order. `hash:net`
 * sets hold CIDRs only, so ranges are split into CIDRs here. The kernel picks the hash
 * seed (`initval`) and the bucket size itself, and `ipset save` lists hash sets in
 * bucket order: compare with a live host's sets after sorting the `add` lines and
 * dropping those two header fields.
 */
export function renderIpset(sets: readonly SetDefinition[]): string {
  const lines: string[] = [];
  for (const set of [...sets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    lines.push(ipsetCreateLine(set));
    for (const element of ipsetElements(set)) lines.push(`add ${set.name} ${element}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
