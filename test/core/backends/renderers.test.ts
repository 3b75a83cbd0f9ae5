import { CompiledRuleset, DefaultAction, IpFamily, Peer, Port, Verdict } from '../../../src/core';
import { ruleComment } from '../../../src/core/backends/rule-comment';
import { randomPolicy } from '../../support/random-policy';

const web = CompiledRuleset.compile({
  name: 'web',
  origin: 'app/web',
  defaultAction: DefaultAction.REJECT_HOST_PROHIBITED,
  allowPing: false,
  allowances: [
    { origin: 'app/web/Website', ports: [Port.HTTP, Port.HTTPS], peers: [Peer.any()] },
    { origin: 'app/web/Webmasters', ports: [Port.SSH], peers: [Peer.ipv4Range('10.9.8.7', '10.9.8.10')] },
  ],
});

describe('iptables-restore renderer', () => {
  const v4 = web.toIptablesRestore(IpFamily.IPV4).split('\n');

  test('the discussion\'s rules, with state NEW, SYN only and the right order', () => {
    expect(v4).toContain('-A SFW-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "app/web: established and related traffic" -j ACCEPT');
    expect(v4).toContain('-A SFW-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m multiport --dports 80,443 -m comment --comment "app/web/Website" -j ACCEPT');
    expect(v4).toContain('-A SFW-INPUT -p tcp -m iprange --src-range 10.9.8.7-10.9.8.10 -m conntrack --ctstate NEW -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "app/web/Webmasters" -j ACCEPT');
    expect(v4[v4.length - 3]).toBe('-A SFW-INPUT -m comment --comment "app/web: default action" -j REJECT --reject-with icmp-host-prohibited');
    expect(v4.slice(0, 6)).toEqual(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':SFW-INPUT - [0:0]', '-A INPUT -j SFW-INPUT']);
  });

  test('IPv6 gets the same services, neighbour discovery, and no IPv4-only hole', () => {
    const v6 = web.toIptablesRestore(IpFamily.IPV6);
    expect(v6).toContain('--dports 80,443');
    expect(v6).not.toContain('--dport 22 ');
    expect(v6).toContain('-p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255');
    expect(v6).toContain('--reject-with icmp6-adm-prohibited');
  });

  test('default REJECT resets TCP and answers port unreachable', () => {
    const r = CompiledRuleset.compile({ name: 'h', allowances: [] });
    expect(r.toIptablesRestore(IpFamily.IPV4)).toContain('-p tcp -m comment --comment "h: default action" -j REJECT --reject-with tcp-reset\n-A SFW-INPUT -m comment --comment "h: default action" -j REJECT --reject-with icmp-port-unreachable');
    expect(r.toIptablesRestore(IpFamily.IPV6)).toContain('-j REJECT --reject-with icmp6-port-unreachable');
  });

  test('port ranges and single ports', () => {
    const r = CompiledRuleset.compile({ name: 'h', allowances: [{ origin: 'o', ports: [Port.udpRange(6000, 6010)], peers: [Peer.anyIpv4()] }, { origin: 'p', ports: [Port.udp(53), Port.udp(123), Port.udpRange(6000, 6010)], peers: [Peer.ipv4('192.0.2.0/24')] }] });
    const text = r.toIptablesRestore(IpFamily.IPV4);
    expect(text).toContain('-p udp -m conntrack --ctstate NEW -m udp --dport 6000:6010 -m comment --comment "o p" -j ACCEPT');
    expect(text).toContain('-s 192.0.2.0/24 -p udp -m conntrack --ctstate NEW -m multiport --dports 53,123 -m comment --comment p -j ACCEPT');
  });

  test('refuses a model that was not laid out for iptables', () => {
    const model = { tables: [{ name: 'filter', chains: [{ name: 'x', rules: [{ match: { family: IpFamily.IPV4, source: { elements: ['192.0.2.1/32', '192.0.2.3/32'] } }, verdict: Verdict.ACCEPT, origins: [] }] }] }] };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { renderIptablesRestore } = require('../../../src/core/backends/iptables/iptables-restore');
    expect(() => renderIptablesRestore(model, IpFamily.IPV4)).toThrow('iptables rules hold one source element; lay the model out with iptablesLayout() first');
  });
});

describe('nftables renderer', () => {
  const nft = web.toNftables();

  test('one inet table owned by the library, both families', () => {
    expect(nft.startsWith('table inet stateful_firewall {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n')).toBe(true);
    // new connections reach the openings through the state map, so the openings need no `ct state new`
    expect(nft).toContain('\t\tct state vmap { invalid : goto sfw_invalid, established : accept, related : accept, new : goto sfw_new, untracked : goto sfw_untracked }\n');
    // the transport map has checked protocol and port: the openings say what is left (peers, a bare SYN)
    expect(nft).toContain('ipv4 . tcp . 0-65535 . 80 : goto sfw_new_v4_tcp_p80_p443, ');
    expect(nft).toContain('\t\ttcp flags syn / fin,syn,rst,ack accept comment "app/web/Website"\n');
    expect(nft).toContain('\t\tip saddr 10.9.8.7-10.9.8.10 tcp flags syn / fin,syn,rst,ack accept comment "app/web/Webmasters"\n');
    expect(nft).toContain('\t\treject with icmp host-prohibited comment');
    expect(nft).toContain('\t\treject with icmpv6 admin-prohibited comment');
    expect(web.toNftables('custom')).toContain('table inet custom {');
  });
});

describe('determinism', () => {
  test('the same policy renders byte-identical text', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const a = CompiledRuleset.compile(randomPolicy(seed));
      const b = CompiledRuleset.compile(randomPolicy(seed));
      expect(b.toIptablesRestore(IpFamily.IPV4)).toBe(a.toIptablesRestore(IpFamily.IPV4));
      expect(b.toIptablesRestore(IpFamily.IPV6)).toBe(a.toIptablesRestore(IpFamily.IPV6));
      expect(b.toNftables()).toBe(a.toNftables());
    }
  });
});

describe('ruleComment', () => {
  test('sanitizes and truncates', () => {
    expect(ruleComment({ match: {}, verdict: Verdict.ACCEPT, origins: ['a"b\\c\'d\u00e9'] })).toBe('a_b_c_d_');
    const long = ruleComment({ match: {}, verdict: Verdict.ACCEPT, origins: ['x'.repeat(300)] });
    expect(long).toHaveLength(120);
    expect(long).toMatch(/^x+\.\.\.[0-9a-f]{7}$/);
  });

  test('two long origins that share their first 120 characters get different comments', () => {
    const base = `stack/${'very-long-construct-id/'.repeat(6)}`;
    const comments = ['A', 'B'].map((last) => ruleComment({ match: {}, verdict: Verdict.ACCEPT, origins: [`${base}${last}`] }));
    expect(comments[0]).toHaveLength(120);
    expect(comments[1]).toHaveLength(120);
    expect(comments[0]).not.toBe(comments[1]);
  });
});

describe('iptables comments are printed the way iptables-save prints them', () => {
  test('bare when only letters, digits, _ and -; quoted otherwise', () => {
    const r = CompiledRuleset.compile({ name: 'h', origin: 'h', allowances: [{ origin: 'web-1_https', ports: [Port.HTTPS], peers: [Peer.any()] }] });
    const v4 = r.toIptablesRestore(IpFamily.IPV4);
    expect(v4).toContain('-m comment --comment web-1_https -j ACCEPT');
    expect(v4).toContain('-m comment --comment "h: loopback" -j ACCEPT');
  });
});
