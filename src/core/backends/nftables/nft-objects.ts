import { HELPER_PROTOCOL } from '../../ir/conntrack-helper';
import { DEFAULT_BURST, RateLimit } from '../../ir/rate-limit';
import { Rule } from '../../ir/rule';
import { SetDefinition, SetKind } from '../../ir/set-definition';
import { Verdict } from '../../ir/verdict';
import { IpFamily } from '../../values/family';

// The table's objects as `nft list table` prints them: named sets, ct helper and limit
// objects, and the dynamic sets behind per-source limits.

/** An address element as nft prints it: single addresses without /32 or /128. */
export function addressElement(element: string): string {
  return element.replace(/\/(32|128)$/, (all) => (element.includes(':') ? (all === '/128' ? '' : all) : all === '/32' ? '' : all));
}

/** A limit's burst as nft prints it: nothing for the default of 5, which nft does not print either. */
export function burstText(l: RateLimit): string {
  return l.burst !== undefined && l.burst !== DEFAULT_BURST ? ` burst ${l.burst} packets` : '';
}

/** nft's element separator in a named set's listing: a new line after every 2 IPv4 addresses, every IPv6 address, every 5 ports. */
function setElementsText(set: SetDefinition): string {
  const perLine = set.kind === SetKind.PORT ? 5 : set.family === IpFamily.IPV6 ? 1 : 2;
  const elements = set.kind === SetKind.PORT ? set.elements : set.elements.map(addressElement);
  let out = '';
  elements.forEach((e, i) => {
    if (i > 0) out += i % perLine === 0 ? ',\n\t\t\t     ' : ', ';
    out += e;
  });
  return `{ ${out} }`;
}

/** Whether a set holds blocks or ranges (an interval set, looked up in a tree) or single values only (a hash set, one lookup). */
function needsIntervals(set: SetDefinition): boolean {
  if (set.kind === SetKind.PORT) return set.elements.some((e) => e.includes('-'));
  // members known at deploy: an interval set when a member may be a block or range
  if (set.lateMembers?.some((m) => m.net)) return true;
  const single = set.family === IpFamily.IPV6 ? '/128' : '/32';
  return set.elements.some((e) => e.includes('-') || !e.endsWith(single));
}

/** The `ct helper` objects the helper rules name. */
export function helperObjects(rules: readonly Rule[]): string[][] {
  const setting = rules.filter((r) => r.helper !== undefined && (r.verdict === Verdict.HELPER || r.verdict === Verdict.ACCEPT));
  const helpers = [...new Set(setting.map((r) => r.helper!))].sort();
  return helpers.map((h) => [`\tct helper ${h}-standard {`, `\t\ttype "${h}" protocol ${HELPER_PROTOCOL[h]}`, '\t\tl3proto inet', '\t}']);
}

/** The limit objects behind caps over all sources (one bucket each, whatever the rules that name it). */
export function limitObjects(rules: readonly Rule[]): string[][] {
  const out = new Map<string, string[]>();
  for (const rule of rules) {
    // one object serves `limit name` rules of one kind: over the rate, or under it (`LimitsUnder`)
    for (const [r, over] of [[rule.match.rateOver, true], [rule.match.limitsUnder?.rate, false]] as const) {
      if (!r || out.has(r.name)) continue;
      out.set(r.name, [`\tlimit ${r.name} {`, `\t\trate ${over ? 'over ' : ''}${r.limit.rate}/${r.limit.unit}${burstText(r.limit)}`, '\t}']);
    }
  }
  return [...out.values()];
}

/** The dynamic sets behind per-source limits, declared at the top of the table (as nft lists them). */
export function meterSets(rules: readonly Rule[]): string[][] {
  const out = new Map<string, string[]>();
  for (const rule of rules) {
    const typeOf = (f: IpFamily) => (f === IpFamily.IPV6 ? 'ipv6_addr' : 'ipv4_addr');
    for (const rate of [rule.match.sourceRateOver, rule.match.limitsUnder?.sourceRate]) {
      if (rate && !out.has(rate.name)) {
        out.set(rate.name, ['\tset ' + rate.name + ' {', `\t\ttype ${typeOf(rate.family)}`, '\t\tsize 65535', '\t\tflags dynamic,timeout', `\t\ttimeout 1${rate.limit.unit[0]}`, '\t}']);
      }
    }
    for (const conn of [rule.match.sourceConnectionsOver, rule.match.limitsUnder?.sourceConnections]) {
      if (conn && !out.has(conn.name)) out.set(conn.name, ['\tset ' + conn.name + ' {', `\t\ttype ${typeOf(conn.family)}`, '\t\tsize 65535', '\t\tflags dynamic', '\t}']);
    }
  }
  return [...out.values()];
}

/**
 * A named set as `nft list table` prints it inside the table: `flags interval` when it
 * holds blocks or ranges, a plain hash set when it holds single addresses or ports.
 */
export function nftSetLines(set: SetDefinition): string[] {
  const type = set.kind === SetKind.PORT ? 'inet_service' : set.family === IpFamily.IPV6 ? 'ipv6_addr' : 'ipv4_addr';
  // a set whose members are known only at deploy is declared empty: the deploy adds an elements line
  const elements = set.elements.length === 0 && set.lateMembers ? [] : [`\t\telements = ${setElementsText(set)}`];
  return [`\tset ${set.name} {`, `\t\ttype ${type}`, ...(needsIntervals(set) ? ['\t\tflags interval'] : []), ...elements, '\t}'];
}
