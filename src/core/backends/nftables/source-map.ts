import { Rule } from '../../ir/rule';
import { AddressMatch } from '../../ir/rule-match';
import { SetDefinition } from '../../ir/set-definition';
import { formatRange } from '../../net/address-range';
import { familyMax, parseIp } from '../../net/ip';
import { IpFamily } from '../../values/family';

// The source-address level: the rules of one case (state, family, protocol, ports) that
// look at the source, folded into one `ip saddr vmap` whose intervals are the elementary
// pieces between every rule's address edges, each mapped to the rules that admit it.

/** An inclusive interval of addresses of one family. */
export interface Interval {
  readonly first: bigint;
  readonly last: bigint;
}

function parseElement(element: string): { family: IpFamily; first: bigint; last: bigint } | undefined {
  const slash = element.indexOf('/');
  if (slash >= 0) {
    const ip = parseIp(element.slice(0, slash));
    if (!ip) return undefined;
    const bits = ip.family === IpFamily.IPV4 ? 32 : 128;
    const host = (1n << BigInt(bits - Number(element.slice(slash + 1)))) - 1n;
    return { family: ip.family, first: ip.value & ~host, last: ip.value | host };
  }
  const dash = element.indexOf('-');
  const a = parseIp(dash >= 0 ? element.slice(0, dash) : element);
  const b = parseIp(dash >= 0 ? element.slice(dash + 1) : element);
  return a && b ? { family: a.family, first: a.value, last: b.value } : undefined;
}

/**
 * The sorted, merged intervals a source match holds in `family`; undefined when they are
 * not known at synth (a set with late-bound members: the rule stays a rule of its own).
 */
export function sourceIntervals(source: AddressMatch | undefined, family: IpFamily, sets: Map<string, SetDefinition>): Interval[] | undefined {
  if (!source) return undefined;
  let elements = source.elements;
  if (source.set !== undefined) {
    const def = sets.get(source.set);
    if (!def || (def.lateMembers && def.lateMembers.length > 0)) return undefined;
    elements = def.elements;
  }
  const parsed = (elements ?? []).map(parseElement).filter((e): e is NonNullable<typeof e> => e !== undefined && e.family === family);
  parsed.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: { first: bigint; last: bigint }[] = [];
  for (const p of parsed) {
    const prev = out[out.length - 1];
    if (prev && p.first <= prev.last + 1n) {
      if (p.last > prev.last) prev.last = p.last;
    } else {
      out.push({ first: p.first, last: p.last });
    }
  }
  return out;
}

/** The rule's source intervals when it looks at the source and they are known. */
export function knownSource(rule: Rule, family: IpFamily, sets: Map<string, SetDefinition>): Interval[] | undefined {
  return sourceIntervals(rule.match.source, family, sets);
}

/**
 * The elementary intervals of the whole address space of `family` between the edges of
 * `lists`, and for each list the indexes of the intervals it covers (linear: one merge).
 */
export function elementaryIntervals(lists: readonly Interval[][], family: IpFamily): { pieces: Interval[]; covered: Uint8Array[] } {
  const max = familyMax(family);
  const cutSet = new Set<bigint>([0n]);
  for (const l of lists) {
    for (const r of l) {
      cutSet.add(r.first);
      if (r.last < max) cutSet.add(r.last + 1n);
    }
  }
  const cuts = [...cutSet].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pieces = cuts.map((c, i) => ({ first: c, last: i + 1 < cuts.length ? cuts[i + 1] - 1n : max }));
  const covered = lists.map((l) => {
    const mask = new Uint8Array(pieces.length);
    let p = 0;
    for (const r of l) {
      while (p < pieces.length && pieces[p].first < r.first) p++;
      while (p < pieces.length && pieces[p].last <= r.last) mask[p++] = 1;
    }
    return mask;
  });
  return { pieces, covered };
}

/** An interval as a map element: a CIDR block when it is one, else `first-last`. */
export function intervalElement(family: IpFamily, i: Interval): string {
  return formatRange({ family, first: i.first, last: i.last });
}
