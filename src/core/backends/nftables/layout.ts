import {
  alwaysMatches, familyOf, foldHelpers, icmpRanges, Known, portSegments, portsOf, PROTOCOL_VALUE, sourcePortsOf,
  STATE_KEY_ORDER, stripSource, stripState, stripTransport, TRANSPORT_CASES, truncate,
} from './dispatch';
import { ChainName, chainName, extend, NFT_CHAIN_PREFIX, renameTargets } from './naming';
import { oneLookup } from './raw';
import { elementaryIntervals, intervalElement, knownSource } from './source-map';
import { Chain } from '../../ir/chain';
import { Rule } from '../../ir/rule';
import { PortRange } from '../../ir/rule-match';
import { SetDefinition } from '../../ir/set-definition';
import { Verdict } from '../../ir/verdict';
import { MapKey, VerdictMapEntry } from '../../ir/verdict-map';
import { IpFamily } from '../../values/family';
import { Protocol } from '../../values/protocol';

/** Chain names while the layout runs (no chain name of the library starts with a space). */
const PLACEHOLDER = ' chain#';

const mapRule = (match: Rule['match'], keys: MapKey[], entries: VerdictMapEntry[]): Rule => ({ match, verdict: Verdict.MAP, verdictMap: { keys, entries }, origins: [] });

export class Builder {
  public readonly chains: Chain[] = [];
  private readonly byContent = new Map<string, string>();
  private readonly requests = new Map<string, ChainName[]>();

  /** The base chain being laid out has a DROP policy: a chain's final catch-all DROP is left to it. */
  public policyDrop = false;

  /**
   * The helper rules to lay out in the new connections of the base chain being laid out:
   * in front of the rules of their port, then attached to the openings that accept (see `foldHelpers`).
   */
  public helpers: Rule[] = [];

  public constructor(private readonly sets: Map<string, SetDefinition>) {}

  /** The state level: one `ct state vmap` over every state, each to its chain. */
  public state(rules: Rule[], name: ChainName): Rule[] {
    let start = 0;
    while (start < rules.length && rules[start].match.states === undefined) start++;
    const prefix = rules.slice(0, start);
    const rest = rules.slice(start);
    if (rest.length < 2) return rules;
    const entries: VerdictMapEntry[] = [];
    for (const state of STATE_KEY_ORDER) {
      const known: Known = { state };
      const admitted = truncate(rest.filter((r) => r.match.states === undefined || r.match.states.includes(state)).map(stripState), known);
      const below = extend(name, { kind: 'state', value: state });
      this.entry(entries, { states: [state] }, this.transport(admitted, below, known), below, known);
    }
    return [...prefix, mapRule({}, [MapKey.STATE], entries)];
  }

  /**
   * The transport level: `meta nfproto . meta l4proto . th sport . th dport vmap`: every
   * destination port segment of TCP and UDP; for ICMP and ICMPv6 every segment of type and
   * code (`th sport` reads them as `type << 8 | code`).
   */
  private transport(rules: Rule[], name: ChainName, known: Known): Rule[] {
    const looks = (r: Rule) => familyOf(r.match) !== undefined || r.match.protocol !== undefined;
    let start = 0;
    while (start < rules.length && !looks(rules[start])) start++;
    const prefix = rules.slice(0, start);
    // conntrack helpers are set on new connections (they act before conntrack confirms the connection, after the input hook)
    const helpers = known.state === STATE_KEY_ORDER[3] ? this.helpers : [];
    const rest = [...helpers, ...rules.slice(start)];
    if (rest.length <= 2) return [...prefix, ...rest];
    const entries: VerdictMapEntry[] = [];
    // other protocols (and packets whose transport header nft cannot read) meet the rules that name no protocol
    const tail = truncate(rest.filter((r) => r.match.protocol === undefined), known);
    const tailKey = JSON.stringify(tail);
    for (const { family, protocol } of TRANSPORT_CASES) {
      const admits = rest.map((r) => (familyOf(r.match) ?? family) === family && (r.match.protocol ?? protocol) === protocol);
      const ported = protocol === Protocol.TCP || protocol === Protocol.UDP;
      const lists = rest.map((r, i) => (!admits[i] ? undefined : ported ? portsOf(r.match, this.sets) : icmpRanges(r)));
      const { segments, covered } = portSegments(lists.filter((l): l is PortRange[] => l !== undefined));
      const masks: (Uint8Array | undefined)[] = [];
      let n = 0;
      for (const l of lists) masks.push(l ? covered[n++] : undefined);
      const signature = (s: number) => rest.map((_, i) => (admits[i] && (!masks[i] || masks[i]![s]) ? '1' : '0')).join('');
      const pieces = segments;
      const below: Known = { ...known, family, protocol };
      const cName = extend(name, { kind: 'family', value: family === IpFamily.IPV4 ? 'v4' : 'v6' }, { kind: 'protocol', value: protocol });
      const laidBySignature = new Map<string, Rule[]>();
      for (let s = 0; s < pieces.length;) {
        const sig = signature(s);
        let e = s;
        while (e + 1 < pieces.length && signature(e + 1) === sig) e++;
        const range = { from: pieces[s].from, to: pieces[e].to };
        s = e + 1;
        let laid = laidBySignature.get(sig);
        const key = [{ kind: 'key' as const, value: ported ? `p${range.from}` : `t${range.from >> 8}` }];
        if (!laid) {
          const admitted = rest.filter((_, i) => sig[i] === '1').map((r) => stripTransport(r, portsOf(r.match, this.sets) !== undefined));
          laid = foldHelpers(this.source(truncate(admitted, below), extend(cName, ...key), below), below);
          laidBySignature.set(sig, laid);
        }
        const match = ported ? { family, protocol, destinationPorts: [range] } : { family, protocol, sourcePorts: [range] };
        // a case that meets just the rules after the map needs no element
        if (JSON.stringify(laid) === tailKey) continue;
        this.entry(entries, match, laid, extend(cName, ...key), below);
      }
    }
    const keys = [MapKey.FAMILY, MapKey.PROTOCOL, MapKey.TRANSPORT_SOURCE_PORT, MapKey.TRANSPORT_DESTINATION_PORT];
    return truncate([...prefix, mapRule({}, keys, entries), ...tail], known);
  }

  /**
   * The source level: the rules that look at known sources folded into one `ip saddr vmap`.
   * When some rules want a bare SYN, the map is guarded by it (`tcp flags syn / ... ip saddr
   * vmap`, every address mapped) and the rules for other segments follow.
   */
  private source(rules: Rule[], name: ChainName, known: Known): Rule[] {
    const family = known.family!;
    const intervals = rules.map((r) => knownSource(r, family, this.sets));
    let start = 0;
    while (start < rules.length && !intervals[start]) start++;
    if (start === rules.length || rules.length - start <= 2) return rules;
    const prefix = rules.slice(0, start);
    const rest = rules.slice(start);
    const restIntervals = intervals.slice(start);
    const syn = known.protocol === Protocol.TCP && rest.some((r) => r.match.tcpSynOnly);
    if (!syn) {
      const unmapped = rest.filter((_, i) => !restIntervals[i]);
      return truncate([...prefix, this.sourceMap(rest, restIntervals, name, known, false), ...unmapped], known);
    }
    const others = rest.filter((r) => !r.match.tcpSynOnly);
    return [...prefix, this.sourceMap(rest, restIntervals, name, known, true), ...this.source(others, extend(name, { kind: 'source', value: 'nosyn' }), known)];
  }

  private sourceMap(rules: Rule[], intervals: (ReturnType<typeof knownSource>)[], name: ChainName, known: Known, syn: boolean): Rule {
    const family = known.family!;
    const constraining = intervals.map((i, n) => (i ? n : -1)).filter((n) => n >= 0);
    const { pieces, covered } = elementaryIntervals(constraining.map((n) => intervals[n]!), family);
    const coveredBy = new Map(constraining.map((n, k) => [n, covered[k]]));
    const signature = (p: number) => rules.map((_, i) => (!intervals[i] || coveredBy.get(i)![p] ? '1' : '0')).join('');
    const touched = (p: number) => constraining.some((n) => coveredBy.get(n)![p]);
    const entries: VerdictMapEntry[] = [];
    const laidBySignature = new Map<string, Rule[]>();
    for (let p = 0; p < pieces.length;) {
      const sig = signature(p);
      let e = p;
      while (e + 1 < pieces.length && signature(e + 1) === sig) e++;
      const range = { first: pieces[p].first, last: pieces[e].last };
      const include = syn || touched(p);
      p = e + 1;
      if (!include) continue;
      let laid = laidBySignature.get(sig);
      const below = extend(name, { kind: 'source', value: `s${entries.length + 1}` });
      if (!laid) {
        laid = foldHelpers(truncate(rules.map((r, i) => ({ r, i })).filter(({ i }) => sig[i] === '1').map(({ r, i }) => stripSource(r, intervals[i] !== undefined, syn)), known), known);
        laidBySignature.set(sig, laid);
      }
      this.entry(entries, { source: { elements: [intervalElement(family, range)] } }, laid, below, known, syn);
    }
    return mapRule({ family, ...(syn ? { tcpSynOnly: true } : {}) }, [MapKey.SOURCE_ADDRESS], entries);
  }

  /** Adds the map element for a case: its one verdict inline, or a goto to the chain of its rules. */
  private entry(entries: VerdictMapEntry[], match: Rule['match'], content: Rule[], name: ChainName, known: Known, always = false): void {
    if (content.length === 0 && !always) return; // nothing applies: the walk goes on after the map, where nothing applies either
    const only = content[0];
    const final = only !== undefined && (only.verdict === Verdict.ACCEPT || only.verdict === Verdict.DROP) && !only.helper;
    if (content.length === 1 && final && alwaysMatches(only.match, known)) {
      entries.push({ match, verdict: only.verdict, origins: only.origins, comment: only.comment });
      return;
    }
    entries.push({ match, verdict: Verdict.GOTO, target: this.chainFor(content, name, known) });
  }

  /**
   * A chain that holds only TCP and UDP rules on ports (the raw chains) behind one
   * `meta l4proto . th dport vmap` (or `th sport`). Undefined when a rule has no protocol or ports to key on.
   */
  public gate(rules: Rule[], name: ChainName): Rule[] | undefined {
    if (rules.length < 2) return undefined;
    const field = rules.every((r) => portsOf(r.match, this.sets) !== undefined) ? 'destination'
      : rules.every((r) => sourcePortsOf(r.match, this.sets) !== undefined) ? 'source' : undefined;
    if (!field) return undefined;
    if (!rules.every((r) => r.match.protocol === Protocol.TCP || r.match.protocol === Protocol.UDP)) return undefined;
    const single = oneLookup(rules, field, this.sets);
    if (single) return [single];
    const ports = (r: Rule) => (field === 'destination' ? portsOf(r.match, this.sets) : sourcePortsOf(r.match, this.sets))!;
    const entries: VerdictMapEntry[] = [];
    // rules of one family: keyed on the family too, so a packet meets the rules of its own family only
    const families = rules.some((r) => r.match.family !== undefined) ? [IpFamily.IPV4, IpFamily.IPV6] : [undefined];
    for (const [family, protocol] of families.flatMap((f) => [[f, Protocol.TCP], [f, Protocol.UDP]] as const)) {
      const ofFamily = (r: Rule) => family === undefined || r.match.family === undefined || r.match.family === family;
      const own = rules.filter((r) => r.match.protocol === protocol && ofFamily(r));
      const { segments, covered } = portSegments(own.map(ports));
      let last: { range: PortRange; content: Rule[]; key: string } | undefined;
      const flush = () => {
        if (!last || last.content.length === 0) return;
        const key = field === 'destination' ? { destinationPorts: [last.range] } : { sourcePorts: [last.range] };
        const match = { ...(family ? { family } : {}), protocol, ...key };
        const part = family ? [{ kind: 'family' as const, value: family === IpFamily.IPV4 ? 'v4' : 'v6' }] : [];
        entries.push({ match, verdict: Verdict.GOTO, target: this.chainFor(last.content, extend(name, ...part, { kind: 'key', value: `${protocol}${last.range.from}` }), {}) });
      };
      segments.forEach((range, s) => {
        const content = own.filter((_, i) => covered[i][s]);
        const key = content.map((r) => own.indexOf(r)).join(',');
        if (last && last.key === key) {
          last.range = { from: last.range.from, to: range.to };
        } else {
          flush();
          last = { range, content, key };
        }
      });
      flush();
    }
    const portKey = field === 'destination' ? MapKey.TRANSPORT_DESTINATION_PORT : MapKey.TRANSPORT_SOURCE_PORT;
    // nft lists a hash map (single ports) by the key's bytes read as one little-endian number
    // (low port byte, high port byte, protocol, family); an interval map in the order it was given
    const range = (e: VerdictMapEntry) => (e.match.destinationPorts ?? e.match.sourcePorts)![0];
    if (entries.every((e) => range(e).from === range(e).to)) {
      const order = (e: VerdictMapEntry) => [
        range(e).from & 255, range(e).from >> 8, PROTOCOL_VALUE[e.match.protocol!], e.match.family === IpFamily.IPV6 ? 10 : 2,
      ];
      entries.sort((a, b) => {
        const x = order(a);
        const y = order(b);
        return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || x[3] - y[3];
      });
    }
    return [mapRule({}, families[0] ? [MapKey.FAMILY, MapKey.PROTOCOL, portKey] : [MapKey.PROTOCOL, portKey], entries)];
  }

  /** The chains with their final names: each named after every case that reaches it, unique (`_2`, ...). */
  public named(): Chain[] {
    const rename = new Map<string, string>();
    const used = new Set<string>();
    for (const chain of this.chains) {
      const base = chainName(this.requests.get(chain.name)!);
      let unique = base;
      for (let i = 2; used.has(unique); i++) unique = `${base}_${i}`;
      used.add(unique);
      rename.set(chain.name, unique);
    }
    return this.chains.map((c) => ({ ...c, name: rename.get(c.name)!, rules: renameTargets(c.rules, rename) }));
  }

  /**
   * A placeholder name (renamed by `named`) for the chain holding `rules`, shared by
   * identical rule lists. Under a DROP policy a final catch-all DROP is left to the policy
   * (the chain's `endRule`).
   */
  private chainFor(rules: Rule[], name: ChainName, known: Known): string {
    const key = `${this.policyDrop ? 'drop:' : ''}${JSON.stringify(rules)}`;
    const existing = this.byContent.get(key);
    if (existing) {
      this.requests.get(existing)!.push(name);
      return existing;
    }
    const placeholder = `${PLACEHOLDER}${this.chains.length}`;
    this.byContent.set(key, placeholder);
    this.requests.set(placeholder, [name]);
    const last = rules[rules.length - 1];
    const toPolicy = this.policyDrop && last !== undefined && last.verdict === Verdict.DROP && alwaysMatches(last.match, known);
    this.chains.push(toPolicy ? { name: placeholder, rules: rules.slice(0, -1), endRule: last } : { name: placeholder, rules });
    return placeholder;
  }
}

export { NFT_CHAIN_PREFIX };
