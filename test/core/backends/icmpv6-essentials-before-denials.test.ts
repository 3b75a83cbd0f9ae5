import { Backend, CompiledRuleset, IpFamily, Packet, Peer, Verdict } from '../../../src/core';
import { CLIENT_V6, DENY_MATRIX, denyPolicy } from '../../support/deny-cases';

// Issue 14, as the kernel reads it: in the rendered ip6tables and nftables text, the
// neighbour discovery and MLD accepts come before every denial, in every chain a packet
// can meet both in, and nftables keeps its verdict-map layout.

const ND = 'icmpv6 neighbour discovery';
const MLD = 'icmpv6 multicast listener discovery';
const DENIED = ': denied"';

/** The rule lines of each chain of an iptables-restore or nft text, by chain name. */
function iptablesChains(text: string): Map<string, string[]> {
  const chains = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^-A (\S+) /.exec(line);
    if (m) chains.set(m[1], [...(chains.get(m[1]) ?? []), line]);
  }
  return chains;
}

function nftChains(text: string): Map<string, string[]> {
  const chains = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const open = /^\tchain (\S+) \{$/.exec(line);
    if (open) {
      current = open[1];
      chains.set(current, []);
    } else if (line === '\t}') {
      current = undefined;
    } else if (current && line.startsWith('\t\t') && !/^\t\ttype /.test(line)) {
      chains.get(current)!.push(line.trim());
    }
  }
  return chains;
}

/** In every chain holding both, the last essential line comes before the first denial. */
function expectEssentialsFirst(chains: Map<string, string[]>): number {
  let checked = 0;
  for (const [name, lines] of chains) {
    const essentials = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes(ND) || l.includes(MLD)).map(([, i]) => i);
    const denials = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes(DENIED)).map(([, i]) => i);
    if (essentials.length === 0 || denials.length === 0) continue;
    checked++;
    expect([name, Math.max(...essentials) < Math.min(...denials)]).toEqual([name, true]);
  }
  return checked;
}

describe('rendered: the ICMPv6 essentials before the denials', () => {
  test.each(DENY_MATRIX)('ip6tables: %s denied, %s', (kind, _name, features) => {
    const r = CompiledRuleset.compile(denyPolicy(kind, features));
    const text = r.toIptablesRestore(IpFamily.IPV6);
    const chains = iptablesChains(text);
    expect(expectEssentialsFirst(chains)).toBe(1);
    const input = chains.get('SFW-INPUT')!;
    // established, loopback, invalid, the 4 ND types (hop limit 255), the 4 MLD types (link-local)
    expect(input[2]).toContain('--ctstate INVALID');
    expect(input.slice(3, 7).map((l) => /--icmpv6-type (\d+) -m hl --hl-eq 255 .*neighbour discovery" -j ACCEPT$/.exec(l)?.[1])).toEqual(['133', '134', '135', '136']);
    expect(input.slice(7, 11).every((l) => l.startsWith('-A SFW-INPUT -s fe80::/10 -p ipv6-icmp') && l.endsWith(`${MLD}" -j ACCEPT`))).toBe(true);
    const denied = input.find((l) => l.includes('lab/nd/Blocked: denied'))!;
    if (kind === 'long list') expect(denied).toMatch(/^-A SFW-INPUT -m set --match-set sfw-6i-\S+ src -m comment/);
    else if (kind === 'any IPv6') expect(denied).toBe('-A SFW-INPUT -m comment --comment "lab/nd/Blocked: denied" -j DROP');
    else expect(denied).toContain(`-s ${kind === 'address' ? '2001:db8::2/128' : '2001:db8::/64'} `);
    if (features.outbound) {
      const output = chains.get('SFW-OUTPUT')!;
      expect(output[2]).toContain('--ctstate INVALID');
      expect(output.slice(3, 11).every((l) => l.includes('neighbour discovery and multicast listener discovery" -j ACCEPT'))).toBe(true);
    }
    // the IPv4 ruleset has no ICMPv6 rules, and the IPv6 denial is not in it
    expect(r.toIptablesRestore(IpFamily.IPV4)).not.toMatch(/icmpv6|lab\/nd\/Blocked/);
  });

  test.each(DENY_MATRIX)('nftables: %s denied, %s', (kind, _name, features) => {
    const r = CompiledRuleset.compile(denyPolicy(kind, features));
    const text = r.toNftables();
    const chains = nftChains(text);
    // a chain holding both lists the essentials first (the layout keys ICMPv6 on its type, so the
    // essentials have chains of their own, where a denial is at most a source map after them)
    expectEssentialsFirst(chains);
    if (kind === 'long list') expect(text).toMatch(/ip6 saddr @sfw-6i-\S+ drop comment "lab\/nd\/Blocked: denied"/);
    // every feature keeps the verdict-map layout: the input chain is the state map; a solicitation reaches the ND accept in a few rules
    expect(chains.get('input')).toEqual([expect.stringMatching(/^ct state vmap \{ .*untracked : goto sfw_untracked/)]);
    const ns = r.simulate(Packet.icmp({ from: CLIENT_V6, type: 135 }), Backend.NFTABLES);
    expect(ns.rule?.comment).toBe('icmpv6 neighbour discovery');
    // the chain a solicitation reaches starts with the neighbour discovery accept: no denial comes before it
    expect(chains.get(ns.chain)![0]).toContain(ND);
    for (const packet of [
      Packet.icmp({ from: CLIENT_V6, type: 135 }),
      Packet.icmp({ from: 'fe80::9', type: 136 }),
      Packet.tcp({ from: CLIENT_V6, port: 8080 }),
    ]) {
      expect(r.simulate(packet, Backend.NFTABLES).rulesEvaluated).toBeLessThanOrEqual(6);
    }
  });

  test('ICMPv6 essentials stay ahead of a denial in the nftables layout even with many openings', () => {
    const policy = denyPolicy('any IPv6');
    const r = CompiledRuleset.compile({
      ...policy,
      allowances: [...policy.allowances, ...Array.from({ length: 6 }, (_, i) => ({ origin: `lab/nd/P${i}`, ports: [], peers: [Peer.any()] }))],
    });
    const chains = nftChains(r.toNftables());
    expectEssentialsFirst(chains);
    const ns = r.simulate(Packet.icmp({ from: CLIENT_V6, type: 135 }), Backend.NFTABLES);
    expect([ns.verdict, ns.rule?.comment]).toEqual([Verdict.ACCEPT, 'icmpv6 neighbour discovery']);
    expect(chains.get(ns.chain)![0]).toContain(ND);
  });
});
