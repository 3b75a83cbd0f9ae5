import { spawnSync } from 'child_process';
import { ICMP_CODE_NAMES, ICMP_NAMES, ICMPV6_CODE_NAMES, ICMPV6_NAMES } from '../../src/core/backends/nftables/nftables';

// The nftables renderer prints ICMP types and codes by name. A wrong name is not caught by
// a round trip (nft prints the same wrong name back), so the tables are checked against
// nft's own: every name we print must mean the number we meant, and every number nft
// names must be printed by that name (or nft would print it differently).

function describe_(datatype: string): Map<number, string[]> {
  const out = spawnSync('nft', ['describe', datatype], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(out.stderr);
  const names = new Map<number, string[]>();
  for (const m of out.stdout.matchAll(/^\s+([a-z0-9-]+)\s+(\d+)\s*$/gm)) {
    const n = Number(m[2]);
    names.set(n, [...(names.get(n) ?? []), m[1]]);
  }
  return names;
}

const hasNft = spawnSync('nft', ['--version']).status === 0;

(hasNft ? describe : describe.skip).each([
  ['icmp type', ICMP_NAMES],
  ['icmpv6 type', ICMPV6_NAMES],
  ['icmp code', ICMP_CODE_NAMES],
  ['icmpv6 code', ICMPV6_CODE_NAMES],
])('nft names for %s', (datatype, ours) => {
  const theirs = describe_(datatype);

  test('each name we print means the number we meant', () => {
    for (const [n, name] of Object.entries(ours)) expect([name, theirs.get(Number(n))]).toEqual([name, expect.arrayContaining([name])]);
  });

  test('each number nft names is printed by its first name', () => {
    for (const [n, names] of theirs) expect([n, ours[n]]).toEqual([n, names[0]]);
  });
});
