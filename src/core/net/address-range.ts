import { familyBits, familyMax, formatIp, parseIp } from './ip';
import { IpFamily } from '../values/family';

/**
 * A contiguous, inclusive range of addresses of one family. The unit the compiler
 * merges peers in: duplicates, contained CIDRs and adjacent blocks all collapse
 * when ranges are unioned.
 */
export interface AddressRange {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

/** The prefix length if the range is exactly one CIDR block, otherwise undefined. */
export function rangePrefixLength(range: AddressRange): number | undefined {
  const size = range.last - range.first + 1n;
  if ((size & (size - 1n)) !== 0n) return undefined; // not a power of two
  if ((range.first & (size - 1n)) !== 0n) return undefined; // not aligned
  let bits = 0;
  for (let s = size; s > 1n; s >>= 1n) bits++;
  return familyBits(range.family) - bits;
}

/** True when the range covers the whole address space of its family. */
export function isWholeFamily(range: AddressRange): boolean {
  return range.first === 0n && range.last === familyMax(range.family);
}

/** Sorts and unions ranges of one family: overlapping, contained and adjacent ranges merge. */
export function unionRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.family === r.family && r.first <= prev.last + 1n) {
      if (r.last > prev.last) out[out.length - 1] = { family: prev.family, first: prev.first, last: r.last };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** The minimal list of CIDR blocks that exactly covers the range. */
export function rangeToCidrs(range: AddressRange): string[] {
  const bits = familyBits(range.family);
  const out: string[] = [];
  let first = range.first;
  while (first <= range.last) {
    // largest aligned block starting at `first` that fits
    let size = first === 0n ? 1n << BigInt(bits) : first & -first;
    while (first + size - 1n > range.last) size >>= 1n;
    let prefix = bits;
    for (let s = size; s > 1n; s >>= 1n) prefix--;
    out.push(`${formatIp(range.family, first)}/${prefix}`);
    first += size;
  }
  return out;
}

/**
 * The canonical text of a range as a rule element: `a.b.c.d/nn` when it is one CIDR block
 * (with the full prefix length for single addresses), `first-last` otherwise.
 */
export function formatRange(range: AddressRange): string {
  const prefix = rangePrefixLength(range);
  if (prefix !== undefined) return `${formatIp(range.family, range.first)}/${prefix}`;
  return `${formatIp(range.family, range.first)}-${formatIp(range.family, range.last)}`;
}

/** Stable key of a list of ranges (used to group ports that share the same peers). */
export function rangesKey(ranges: readonly AddressRange[]): string {
  return ranges.map((r) => `${r.family}:${r.first.toString(16)}-${r.last.toString(16)}`).join(',');
}

/** Number of addresses covered by the ranges. */
export function rangesSize(ranges: readonly AddressRange[]): bigint {
  return ranges.reduce((acc, r) => acc + (r.last - r.first + 1n), 0n);
}

const elementRanges = new Map<string, AddressRange | undefined>();

/**
 * A model's address element (`a/n`, `a-b` or `a`, as rulesets and sets hold them) as a
 * range; undefined when it is not one. The engine's one parser of model elements
 * (simulator, semantic diff, checks), cached by text so each distinct element is parsed once.
 */
export function elementRange(element: string): AddressRange | undefined {
  if (elementRanges.has(element)) return elementRanges.get(element);
  let out: AddressRange | undefined;
  const slash = element.indexOf('/');
  if (slash >= 0) {
    const ip = parseIp(element.slice(0, slash));
    const prefix = Number(element.slice(slash + 1));
    if (ip && Number.isInteger(prefix) && prefix >= 0 && prefix <= familyBits(ip.family)) {
      const host = (1n << BigInt(familyBits(ip.family) - prefix)) - 1n;
      out = { family: ip.family, first: ip.value & ~host, last: ip.value | host };
    }
  } else {
    const dash = element.indexOf('-');
    const a = parseIp(dash >= 0 ? element.slice(0, dash) : element);
    const b = parseIp(dash >= 0 ? element.slice(dash + 1) : element);
    if (a && b && a.family === b.family) out = { family: a.family, first: a.value, last: b.value };
  }
  elementRanges.set(element, out);
  return out;
}
