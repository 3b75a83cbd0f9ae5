/**
 * The benchmark policy, and the same policy written for every contender: this library
 * (iptables + ipset, and nftables), the naive ordered ruleset of the discussion (one rule per
 * address and port), ferm and ufw.
 *
 * The policy: N admin IPv4 addresses (never adjacent, so nothing merges) may open TCP
 * connections to P ports (22, then 8002, 8004, ...: never adjacent either); everything else
 * that is not part of an established connection is dropped; ping is answered.
 */
import { CompiledRuleset, DefaultAction, HostPolicy, Peer, Port } from '../src/core';

/** One benchmark policy. */
export interface BenchPolicy {
  readonly addresses: number;
  readonly ports: number;
  /** The admin addresses, dotted quads. */
  readonly admins: string[];
  /** The TCP ports. */
  readonly portList: number[];
}

/** The address with index `i`: 10.0.0.1, 10.0.0.3, 10.0.0.5, ... */
export function adminAddress(i: number): string {
  const v = (10 * 2 ** 24) + 2 * i + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}

/** The benchmark policy for N addresses and P ports. */
export function benchPolicy(addresses: number, ports: number): BenchPolicy {
  return {
    addresses,
    ports,
    admins: Array.from({ length: addresses }, (_, i) => adminAddress(i)),
    portList: Array.from({ length: ports }, (_, i) => (i === 0 ? 22 : 8000 + 2 * i)),
  };
}

/** The policy as the library's compiler input. */
export function hostPolicy(p: BenchPolicy): HostPolicy {
  return {
    name: 'bench',
    origin: 'bench/host',
    defaultAction: DefaultAction.DROP,
    allowances: [{ origin: 'bench/host/Admins', ports: p.portList.map((x) => Port.tcp(x)), peers: p.admins.map((a) => Peer.ipv4(a)) }],
  };
}

/** The library's compiled ruleset for the policy. */
export function ours(p: BenchPolicy): CompiledRuleset {
  return CompiledRuleset.compile(hostPolicy(p));
}

/**
 * The naive ordered ruleset, like the discussion's second example: established first, then
 * one rule per port and address (`-A INPUT -p tcp -m tcp --dport 22 --source 10.9.8.7 -j
 * ACCEPT`), then the end (DROP here, like every contender). IPv4 only, as in the discussion.
 */
export function naive(p: BenchPolicy): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
  lines.push('-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT');
  for (const a of p.admins) {
    for (const port of p.portList) lines.push(`-A INPUT -s ${a}/32 -p tcp -m tcp --dport ${port} -j ACCEPT`);
  }
  lines.push('-A INPUT -j DROP', 'COMMIT');
  return `${lines.join('\n')}\n`;
}

/** `list` in chunks of at most `size`. */
export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * The policy as a ferm configuration, written the way ferm's documentation suggests: the
 * admin list in a variable, expanded by ferm into one rule per address; ports through
 * multiport, at most 15 per rule (multiport's limit), so ferm's best case rather than one
 * rule per port. Stateful, loopback, INVALID dropped, ping and IPv6 neighbour discovery
 * accepted, policy DROP, like this library's ruleset.
 */
export function fermConfig(p: BenchPolicy): string {
  const out: string[] = [];
  out.push(`@def $ADMINS = (${p.admins.join(' ')});`);
  out.push('domain (ip ip6) table filter {');
  out.push('    chain INPUT {');
  out.push('        policy DROP;');
  out.push('        mod conntrack ctstate (RELATED ESTABLISHED) ACCEPT;');
  out.push('        interface lo ACCEPT;');
  out.push('        mod conntrack ctstate INVALID DROP;');
  out.push('    }');
  out.push('    chain FORWARD policy DROP;');
  out.push('    chain OUTPUT policy ACCEPT;');
  out.push('}');
  out.push('domain ip table filter chain INPUT {');
  out.push('    proto icmp icmp-type echo-request ACCEPT;');
  for (const chunk of chunks(p.portList, 15)) {
    out.push(`    proto tcp syn mod conntrack ctstate NEW saddr $ADMINS mod multiport destination-ports (${chunk.join(' ')}) ACCEPT;`);
  }
  out.push('}');
  out.push('domain ip6 table filter chain INPUT {');
  out.push('    proto ipv6-icmp icmpv6-type (router-solicitation router-advertisement neighbour-solicitation neighbour-advertisement) ACCEPT;');
  out.push('    proto ipv6-icmp icmpv6-type echo-request ACCEPT;');
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** The ufw commands for the policy: one `ufw allow` per address and group of at most 15 ports (ufw's multiport limit). */
export function ufwCommands(p: BenchPolicy): string[][] {
  const out: string[][] = [];
  for (const a of p.admins) {
    for (const chunk of chunks(p.portList, 15)) out.push(['allow', 'proto', 'tcp', 'from', a, 'to', 'any', 'port', chunk.join(',')]);
  }
  return out;
}

/**
 * The `### RULES ###` section ufw writes to user.rules for those commands, in ufw's own
 * format (the bench checks it byte for byte against what the ufw command line writes for
 * the smallest policies; larger ones would take hours through the command line, which
 * rereads and rewrites the whole file for every rule).
 */
export function ufwUserRules(p: BenchPolicy): string {
  const rules: string[] = [];
  for (const a of p.admins) {
    for (const chunk of chunks(p.portList, 15)) {
      const ports = chunk.join(',');
      const match = chunk.length === 1 ? `--dport ${ports}` : `-m multiport --dports ${ports}`;
      rules.push(`### tuple ### allow tcp ${ports} 0.0.0.0/0 any ${a} in\n-A ufw-user-input -p tcp ${match} -s ${a} -j ACCEPT\n`);
    }
  }
  return rules.join('\n');
}
