import { IpFamily } from '../values/family';

/** Bit width of an address of the given family. */
export function familyBits(family: IpFamily): number {
  return family === IpFamily.IPV4 ? 32 : 128;
}

/** Largest address value of the family (all ones). */
export function familyMax(family: IpFamily): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

/** A parsed IP address: its family and its value as an unsigned integer. */
export interface ParsedIp {
  readonly family: IpFamily;
  readonly value: bigint;
}

const V4_OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses a dotted-quad IPv4 address, or returns undefined. Leading zeros are refused (ambiguous octal). */
export function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!V4_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses an IPv6 address (with `::` compression and an optional embedded IPv4 tail), or returns undefined. */
export function parseIpv6(text: string): bigint | undefined {
  if (text.length === 0 || text.includes('%')) return undefined;
  let head = text;
  let tailGroups: bigint[] = [];
  // an embedded IPv4 address in the last 32 bits
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tailGroups = [v4 >> 16n, v4 & 0xffffn];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith('::')) {
      // keep the compression marker, e.g. "::ffff:" is fine, "::" + v4 too
    } else {
      head = head.slice(0, -1);
    }
  }
  const doubles = head.split('::');
  if (doubles.length > 2) return undefined;
  const parseGroups = (s: string): bigint[] | undefined => {
    if (s === '') return [];
    const groups: bigint[] = [];
    for (const g of s.split(':')) {
      if (!V6_GROUP.test(g)) return undefined;
      groups.push(BigInt(parseInt(g, 16)));
    }
    return groups;
  };
  let groups: bigint[];
  if (doubles.length === 2) {
    const left = parseGroups(doubles[0]);
    const right = parseGroups(doubles[1]);
    if (!left || !right) return undefined;
    const missing = 8 - left.length - right.length - tailGroups.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<bigint>(missing).fill(0n), ...right, ...tailGroups];
  } else {
    const all = parseGroups(head);
    if (!all) return undefined;
    groups = [...all, ...tailGroups];
    if (groups.length !== 8) return undefined;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses an address of either family, or returns undefined. */
export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: IpFamily.IPV4, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: IpFamily.IPV6, value: v6 };
  return undefined;
}

/** Formats an IPv4 address value as a dotted quad. */
export function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
}

/**
 * Formats an IPv6 address value the way glibc's inet_ntop does (RFC 5952 compression,
 * lowercase, and the IPv4 tail for IPv4-mapped and IPv4-compatible addresses), which is
 * the form iptables-save and nft print.
 */
export function formatIpv6(value: bigint): string {
  const words: number[] = [];
  for (let i = 7; i >= 0; i--) words.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // longest run of zero words (length >= 2), first one on ties
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else {
      curBase = -1;
      curLen = 0;
    }
  }
  if (bestLen < 2) {
    bestBase = -1;
    bestLen = 0;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += formatIpv4(value & 0xffffffffn);
      break;
    }
    out += words[i].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** Formats an address value of the given family. */
export function formatIp(family: IpFamily, value: bigint): string {
  return family === IpFamily.IPV4 ? formatIpv4(value) : formatIpv6(value);
}
