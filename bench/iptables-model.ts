/**
 * Reads the filter table of an iptables-save text (ours, the naive ruleset, ferm's and ufw's
 * output) into the library's ruleset model, so the packet simulator counts the rules a
 * packet meets in every contender the same way.
 *
 * It understands what these rulesets use: -s/-d (CIDRs), -i/-o, -p, conntrack/state,
 * tcp/udp --dport, multiport --dports, --syn/--tcp-flags, icmp/icmp6 types, hl, set
 * (resolved by the caller's set contents), addrtype, limit, comment, and the targets
 * ACCEPT, DROP, REJECT, RETURN, LOG, user chains (-j, -g). The bench's probes are unicast
 * TCP packets to the host's own address, so `--dst-type LOCAL` always matches and the
 * other address types never do; `--sport` only occurs in UDP rules the probes never match;
 * rate limits are taken as matching; LOG never decides. Anything else is an error, so a
 * rule is never silently mis-counted.
 */
import {
  AddressMatch, Chain, ChainHook, ConnectionState, IpFamily, PortRange, Protocol, RejectWith, Rule, RuleMatch, RulesetModel, SetDefinition, Verdict,
} from '../src/core';

/** A match no packet on the input hook satisfies (the simulator treats an output interface as never matching there). */
const NEVER: RuleMatch = { outInterface: 'never-on-input' };

const BUILTIN = new Set(['INPUT', 'FORWARD', 'OUTPUT']);

function tokens(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push(m[1] ?? m[2]);
  return out;
}

function ports(text: string): PortRange[] {
  return text.split(',').map((p) => {
    const [from, to] = p.split(':').map(Number);
    return { from, to: to ?? from };
  });
}

function states(text: string): ConnectionState[] {
  return text.split(',').map((s) => s.toLowerCase() as ConnectionState);
}

function cidr(text: string, family: IpFamily): string {
  if (text.includes('/')) return text;
  return `${text}/${family === IpFamily.IPV4 ? 32 : 128}`;
}

function rejectWith(name: string | undefined): RejectWith {
  if (!name || name.endsWith('port-unreachable')) return RejectWith.PORT_UNREACHABLE;
  if (name === 'tcp-reset') return RejectWith.TCP_RESET;
  if (name.endsWith('host-prohibited')) return RejectWith.HOST_PROHIBITED;
  return RejectWith.ADMIN_PROHIBITED;
}

/** One `-A CHAIN ...` line as a model rule. */
function parseRule(args: string[], family: IpFamily, sets: ReadonlyMap<string, SetDefinition>): { chain: string; rule: Rule } {
  const chain = args[1];
  const m: { -readonly [K in keyof RuleMatch]: RuleMatch[K] } = {};
  let never = false;
  let verdict: Verdict | undefined;
  let target: string | undefined;
  let reject: string | undefined;
  let comment: string | undefined;
  for (let i = 2; i < args.length; i++) {
    const a = args[i];
    const next = () => args[++i];
    switch (a) {
      case '-s': case '--source': m.source = { elements: [cidr(next(), family)] }; break;
      case '-d': case '--destination': m.destination = { elements: [cidr(next(), family)] }; break;
      case '-i': case '--in-interface': m.inInterface = next(); break;
      case '-o': case '--out-interface': m.outInterface = next(); break;
      case '-p': case '--protocol': {
        const p = next();
        m.protocol = p === 'ipv6-icmp' || p === 'icmpv6' ? Protocol.ICMPV6 : (p as Protocol);
        break;
      }
      case '-m': case '--match': next(); break; // the options that follow say what to match
      case '--ctstate': case '--state': m.states = states(next()); break;
      case '--dport': case '--destination-port': m.destinationPorts = ports(next()); break;
      case '--dports': case '--destination-ports': m.destinationPorts = ports(next()); break;
      case '--sport': case '--source-port': next(); never = true; break;
      case '--syn': m.tcpSynOnly = true; break;
      case '--tcp-flags': {
        const mask = next();
        const set = next();
        if (mask !== 'FIN,SYN,RST,ACK' || set !== 'SYN') throw new Error(`unsupported --tcp-flags ${mask} ${set}`);
        m.tcpSynOnly = true;
        break;
      }
      case '--icmp-type': case '--icmpv6-type': {
        const [type, code] = next().split('/');
        m.icmpTypes = [Number(type)];
        if (code !== undefined) m.icmpCode = Number(code);
        break;
      }
      case '--hl-eq': m.hopLimit = Number(next()); break;
      case '--match-set': {
        const name = next();
        const dir = next();
        const set = sets.get(name);
        if (!set) throw new Error(`set ${name} is not known`);
        if (set.kind === 'port') m.destinationPortSet = name;
        else if (dir === 'src') m.source = { set: name } as AddressMatch;
        else m.destination = { set: name } as AddressMatch;
        break;
      }
      case '--src-range': m.source = { elements: [next()] }; break;
      case '--dst-range': m.destination = { elements: [next()] }; break;
      case '--dst-type': if (next() !== 'LOCAL') never = true; break;
      case '--limit': case '--limit-burst': next(); break;
      case '--comment': comment = next(); break;
      case '--log-prefix': next(); break;
      case '--reject-with': reject = next(); break;
      case '-j': case '--jump': case '-g': case '--goto': {
        const t = next();
        const go = a === '-g' || a === '--goto';
        const final: Record<string, Verdict> = { ACCEPT: Verdict.ACCEPT, DROP: Verdict.DROP, REJECT: Verdict.REJECT, RETURN: Verdict.RETURN };
        if (t === 'LOG') {
          never = true; // LOG never decides: the walk goes on
        } else if (final[t] !== undefined) {
          verdict = final[t];
        } else {
          verdict = go ? Verdict.GOTO : Verdict.JUMP;
          target = t;
        }
        break;
      }
      default:
        throw new Error(`unsupported iptables-save argument '${a}' in: ${args.join(' ')}`);
    }
  }
  const rule: Rule = {
    match: never ? NEVER : m,
    verdict: never ? Verdict.ACCEPT : verdict ?? Verdict.ACCEPT,
    target,
    rejectWith: verdict === Verdict.REJECT ? rejectWith(reject) : undefined,
    origins: [],
    comment,
  };
  return { chain, rule };
}

/** The filter table of an iptables-save text as a model (`sets`: the ipsets its rules refer to). */
export function parseIptablesSave(text: string, family: IpFamily, sets: readonly SetDefinition[] = []): RulesetModel {
  const setMap = new Map(sets.map((s) => [s.name, s]));
  const chains = new Map<string, { policy?: Verdict; rules: Rule[] }>();
  let inFilter = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      inFilter = line === '*filter';
      continue;
    }
    if (!inFilter || line.startsWith('#') || line.trim() === '' || line === 'COMMIT') continue;
    if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      chains.set(name, { policy: policy === '-' ? undefined : (policy.toLowerCase() as Verdict), rules: [] });
      continue;
    }
    const { chain, rule } = parseRule(tokens(line), family, setMap);
    const c = chains.get(chain);
    if (!c) throw new Error(`rule for undeclared chain ${chain}`);
    c.rules.push(rule);
  }
  const list: Chain[] = [...chains.entries()].map(([name, c]) => (BUILTIN.has(name)
    ? { name, hook: name.toLowerCase() as ChainHook, policy: c.policy ?? Verdict.ACCEPT, rules: c.rules }
    : { name, rules: c.rules }));
  return { tables: [{ name: 'filter', chains: list }], sets: sets.length > 0 ? [...sets] : undefined };
}

/** Number of rules (`-A` lines) in the filter table of an iptables-save text. */
export function filterRuleCount(text: string): number {
  let inFilter = false;
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) inFilter = line === '*filter';
    else if (inFilter && line.startsWith('-A ')) n++;
  }
  return n;
}
