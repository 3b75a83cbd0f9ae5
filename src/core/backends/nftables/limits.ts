import { LimitsUnder } from '../../ir/rate-matches';
import { Rule } from '../../ir/rule';
import { PortRange, RuleMatch } from '../../ir/rule-match';
import { Verdict } from '../../ir/verdict';

// A declaration's limits as one rule: the compiler writes one over-limit rule per limit
// (`M, over the rate: drop`, `M, over the connections: drop`, `M, over the cap: drop`)
// ahead of every opening, then the opening (`M: accept`). nftables can say "under every
// limit" in one rule (each statement stops the rule when its limit is exceeded), so the
// layout writes `M, under every limit: accept` then `M: drop` instead: 2 rules, whatever
// the number of limits, and the second one is often the chain's end (the DROP policy).

const OVER_FIELDS = ['sourceRateOver', 'sourceConnectionsOver', 'rateOver'] as const;

function overField(m: RuleMatch): typeof OVER_FIELDS[number] | undefined {
  const present = OVER_FIELDS.filter((f) => m[f] !== undefined);
  return present.length === 1 ? present[0] : undefined;
}

function baseMatch(m: RuleMatch): RuleMatch {
  const out = { ...m } as Record<string, unknown>;
  for (const f of OVER_FIELDS) delete out[f];
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as RuleMatch;
}

/** A stable text of a match (key order does not matter). */
function matchKey(m: RuleMatch): string {
  const o = m as Record<string, unknown>;
  return JSON.stringify(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, o[k]]));
}

function ports(m: RuleMatch): PortRange[] | undefined {
  return m.destinationPortSet !== undefined ? undefined : m.destinationPorts;
}

/** False when no packet can match both (a conservative test: different family, protocol, or disjoint port lists). */
function mayOverlap(a: RuleMatch, b: RuleMatch): boolean {
  if (a.family !== undefined && b.family !== undefined && a.family !== b.family) return false;
  if (a.protocol !== undefined && b.protocol !== undefined && a.protocol !== b.protocol) return false;
  const pa = ports(a);
  const pb = ports(b);
  if (pa && pb && !pa.some((x) => pb.some((y) => x.from <= y.to && y.from <= x.to))) return false;
  if (a.inInterface !== undefined && b.inInterface !== undefined && a.inInterface !== b.inInterface) return false;
  return true;
}

/**
 * The rules with each declaration's over-limit rules and its opening merged into
 * `M, under every limit: accept` and `M: over-limit action`, at the place of the first
 * over-limit rule. Merged only when it changes no decision: the over-limit rules share
 * M, the verdict and the origins, the opening is `M: accept` with the same origins, and
 * no other rule between them can match a packet of M.
 */
export function mergeLimitGroups(rules: readonly Rule[]): Rule[] {
  const out = [...rules];
  for (let i = 0; i < out.length; i++) {
    const first = out[i];
    if (first.verdict !== Verdict.DROP && first.verdict !== Verdict.REJECT) continue;
    if (overField(first.match) === undefined) continue;
    const m = baseMatch(first.match);
    const key = matchKey(m);
    const same = (r: Rule) => r.verdict === first.verdict && r.rejectWith === first.rejectWith
      && JSON.stringify(r.origins) === JSON.stringify(first.origins) && overField(r.match) !== undefined && matchKey(baseMatch(r.match)) === key;
    let j = i;
    const under: Record<string, unknown> = {};
    const comments: string[] = [];
    while (j < out.length && same(out[j])) {
      const f = overField(out[j].match)!;
      if (under[f] !== undefined) break;
      under[f] = out[j].match[f];
      if (out[j].comment) comments.push(out[j].comment!);
      j++;
    }
    // the opening that accepts M's packets: M itself, or an opening that asks less (one for both
    // families, or for every peer, merged from several declarations); the merged rule decides as it does
    const field = (f: string) => JSON.stringify((m as Record<string, unknown>)[f]);
    const covers = (r: Rule) => Object.entries(r.match).every(([f, v]) => v === undefined || field(f) === JSON.stringify(v));
    const k = out.findIndex((r, n) => n >= j && r.verdict === Verdict.ACCEPT && !r.helper && covers(r));
    if (k < 0) continue;
    if (out.slice(j, k).some((r) => mayOverlap(r.match, m))) continue;
    const limitsUnder: LimitsUnder = {
      sourceRate: under.sourceRateOver as LimitsUnder['sourceRate'],
      sourceConnections: under.sourceConnectionsOver as LimitsUnder['sourceConnections'],
      rate: under.rateOver as LimitsUnder['rate'],
    };
    for (const f of Object.keys(limitsUnder) as (keyof LimitsUnder)[]) if (limitsUnder[f] === undefined) delete limitsUnder[f];
    const accept: Rule = { ...out[k], match: { ...m, limitsUnder } };
    const over: Rule = { ...first, match: m, comment: comments.join(', ') };
    // an opening for both families stays for the other family (never reached by this one's packets)
    if (matchKey(out[k].match) === key) out.splice(k, 1);
    out.splice(i, j - i, accept, over);
    i++;
  }
  return out;
}
