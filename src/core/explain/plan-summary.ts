import { createHash } from 'crypto';
import { formatAddresses, formatLimits, formatProtocol, formatVerdict } from './explain';
import { INPUT_CHAIN, OUTPUT_CHAIN, RAW_TABLE } from '../compile/compile';
import { ConnectionState } from '../ir/connection-state';
import { Rule } from '../ir/rule';
import { RulesetModel } from '../ir/ruleset-model';
import { SetDefinition } from '../ir/set-definition';
import { Verdict } from '../ir/verdict';

/** The most rows a summary holds by default (then one row counts the rest). */
export const DEFAULT_PLAN_SUMMARY_ROWS = 24;

/** The longest value of a row; a longer one is cut and ends with a digest of the whole. */
export const PLAN_SUMMARY_VALUE_LENGTH = 240;

/** Options of `planSummary`. */
export interface PlanSummaryOptions {
  /**
   * The host's construct path: origins under it (and under its parent, for its groups) are
   * shown relative to it, `Webmasters` instead of `webserver/web/Webmasters`.
   *
   * @default - origins in full
   */
  readonly hostPath?: string;
  /**
   * The most rows; when there are more, the first `maxRows - 1` (in section order: default
   * actions, denials, limits, inbound, outbound, helpers, logging) and a `more` row that
   * counts the rest by section.
   *
   * @default DEFAULT_PLAN_SUMMARY_ROWS
   */
  readonly maxRows?: number;
}

/** The rules every ruleset has (established, loopback, invalid, ICMPv6 essentials): not summarized. */
const FIXED_COMMENTS = new Set([
  'established and related traffic',
  'loopback',
  'invalid state',
  'icmpv6 neighbour discovery',
  'icmpv6 multicast listener discovery',
  'icmpv6 neighbour discovery and multicast listener discovery',
  // the output chain's counterpart of an inbound untracked opening (its row says untracked)
  'untracked service replies',
]);

/** Sections in the order rows are kept when the summary is cut. */
const SECTIONS = ['default', 'deny', 'limit', 'in', 'out', 'helper', 'log'] as const;
type Section = typeof SECTIONS[number];

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** An origin relative to the host: its own declarations by id, its groups' (siblings in the tree) by their path from the stack. */
function relative(origin: string, hostPath: string | undefined): string {
  if (!hostPath) return origin;
  if (origin === hostPath || origin === `${hostPath} outbound`) return 'host';
  if (origin.startsWith(`${hostPath}/`)) return origin.slice(hostPath.length + 1);
  const parent = hostPath.includes('/') ? hostPath.slice(0, hostPath.lastIndexOf('/')) : '';
  return parent && origin.startsWith(`${parent}/`) ? origin.slice(parent.length + 1) : origin;
}

/** The row label of a rule's origins: up to three by name, else the first, the count and a digest (stable, short). */
function label(origins: readonly string[], hostPath: string | undefined): string {
  const names = [...new Set(origins.map((o) => relative(o, hostPath)))].sort();
  if (names.length === 0) return 'host';
  if (names.length <= 3) return names.join(' + ');
  return `${names[0]} + ${names.length - 1} more (${short(names.join('\n'))})`;
}

interface Entry {
  readonly section: Section;
  readonly key: string;
  /** Traffic (with its qualifiers) to the peers it applies to. */
  readonly parts: Map<string, string[]>;
}

/**
 * A short, stable, human summary of a compiled ruleset for the provisioning resource's
 * triggers, so `terraform plan` (and `cdktf diff`) names the openings a change adds,
 * removes or alters, next to the ruleset's hash.
 *
 * One row per declaration (or per group of declarations the compiler merged into one
 * rule) and kind, keyed by the kind and the declaration's construct path relative to the
 * host, so that a change to one declaration changes exactly its row and no other row
 * is renumbered: `in: Webmasters = "tcp 22 from 10.9.8.7-10.9.8.10"`. Kinds: `in`
 * (openings, tracked and untracked), `out` (outbound openings), `deny`, `limit`
 * (over-limit rules), `helper` (conntrack helpers), `log` (logging of refused packets),
 * `default` (the default actions, `in` and `out`); ping is `in: ping`. Every ruleset's
 * fixed rules (established, loopback, invalid, ICMPv6 essentials) are left out. Large
 * sets show their first elements and size; a value is at most
 * `PLAN_SUMMARY_VALUE_LENGTH` characters (a longer one is cut and ends with a digest of
 * the whole, so any change to it still shows); a summary holds at most `maxRows` rows
 * (then a `more` row counts the rest; the ruleset's hash covers everything).
 * Derived from the compiled model; holds addresses, ports and construct paths, nothing
 * from the deployment's connection.
 */
export function planSummary(model: RulesetModel, options: PlanSummaryOptions = {}): Record<string, string> {
  const maxRows = options.maxRows ?? DEFAULT_PLAN_SUMMARY_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new Error(`plan summary: maxRows ${maxRows} is not usable: use a whole number of rows from 1`);
  const sets = new Map<string, SetDefinition>((model.sets ?? []).map((s) => [s.name, s]));
  const entries = new Map<string, Entry>();
  const add = (section: Section, name: string, text: string, peers: string | undefined) => {
    const key = `${section}: ${name}`;
    let entry = entries.get(key);
    if (!entry) {
      entry = { section, key, parts: new Map() };
      entries.set(key, entry);
    }
    const list = entry.parts.get(text) ?? [];
    if (peers !== undefined && !list.includes(peers)) list.push(peers);
    entry.parts.set(text, list);
  };
  const what = (rule: Rule) => formatProtocol(rule, sets) || 'all traffic';
  for (const table of model.tables) {
    for (const chain of table.chains.filter((c) => c.hook)) {
      const sending = chain.name === OUTPUT_CHAIN && table.name !== RAW_TABLE;
      for (const rule of chain.rules) {
        if (rule.comment !== undefined && FIXED_COMMENTS.has(rule.comment)) continue;
        const m = rule.match;
        const peers = formatAddresses(sending ? m.destination : m.source, sets);
        const name = label(rule.origins, options.hostPath);
        const limits = formatLimits(rule);
        if (table.name === RAW_TABLE) {
          // untracked services are summarized by their inbound opening; helpers have a row of their own
          if (rule.verdict === Verdict.HELPER) add('helper', name, `${rule.helper} on ${what(rule)} from`, peers);
          continue;
        }
        if (chain.name !== INPUT_CHAIN && !sending) continue;
        const direction = sending ? 'out' : 'in';
        if (rule.comment === 'default action') {
          add('default', direction, `${m.protocol ? `${m.protocol}: ` : ''}${formatVerdict(rule)}`, undefined);
        } else if (rule.verdict === Verdict.LOG) {
          add('log', direction, `refused packets${limits ? ` ${limits}` : ''}${rule.logPrefix !== undefined ? `, prefix '${rule.logPrefix}'` : ''}`, undefined);
        } else if (m.sourceRateOver || m.sourceConnectionsOver || m.rateOver) {
          add('limit', name, `${what(rule)} ${limits}: ${formatVerdict(rule)}, from`, peers);
        } else if (rule.verdict === Verdict.DROP || rule.verdict === Verdict.REJECT) {
          add('deny', name, `${what(rule)}${rule.verdict === Verdict.REJECT ? ` (${formatVerdict(rule)})` : ''} from`, peers);
        } else if (rule.verdict === Verdict.ACCEPT) {
          const untracked = m.states?.includes(ConnectionState.UNTRACKED) ? ' untracked' : '';
          add(direction, rule.comment === 'ping' ? 'ping' : name, `${what(rule)}${limits ? ` ${limits}` : ''}${untracked} ${sending ? 'to' : 'from'}`, peers);
        }
      }
    }
  }
  const rows = [...entries.values()]
    .sort((a, b) => SECTIONS.indexOf(a.section) - SECTIONS.indexOf(b.section) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((e) => ({ section: e.section, key: e.key, value: cut([...e.parts].map(([text, peers]) => (peers.length > 0 ? `${text} ${peers.join(', ')}` : text)).join('; ')) }));
  const kept = rows.length <= maxRows ? rows : rows.slice(0, maxRows - 1);
  const out: Record<string, string> = {};
  for (const r of kept) out[r.key] = r.value;
  if (kept.length < rows.length) {
    const rest = rows.slice(kept.length);
    const counts = SECTIONS.map((s) => [s, rest.filter((r) => r.section === s).length] as const).filter(([, n]) => n > 0);
    out.more = `${rest.length} more rows (${counts.map(([s, n]) => `${n} ${s}`).join(', ')}): see ruleset_sha256, explain.md or sfw-explain`;
  }
  return out;
}

/** A value cut to `PLAN_SUMMARY_VALUE_LENGTH` characters, ending with a digest of the whole when cut. */
function cut(value: string): string {
  if (value.length <= PLAN_SUMMARY_VALUE_LENGTH) return value;
  const tail = ` ... (${value.length} chars, sha256 ${short(value)})`;
  return `${value.slice(0, PLAN_SUMMARY_VALUE_LENGTH - tail.length)}${tail}`;
}
