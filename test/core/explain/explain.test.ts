import { CompiledRuleset, DefaultAction, Explain, Peer, Port } from '../../../src/core';

const ruleset = CompiledRuleset.compile({
  name: 'db',
  origin: 'fleet/db',
  defaultAction: DefaultAction.DROP,
  allowances: [
    { origin: 'fleet/db/Postgres', ports: [Port.POSTGRES], peers: [Peer.ipv4('192.0.2.0/24'), Peer.ipv6('2001:db8::/64')] },
    { origin: 'fleet/db/Metrics', ports: [Port.tcp(9100), Port.udpRange(6000, 6010)], peers: [Peer.any()] },
  ],
});

describe('Explain', () => {
  test('one row per input rule: who, what, which state, which verdict, declared by whom', () => {
    const rows = Explain.rows(ruleset);
    expect(rows.map((r) => [r.family, r.peers, r.traffic, r.state, r.verdict])).toEqual([
      ['both', 'any', 'any', 'established, related', 'accept'],
      ['both', 'any', 'via lo', 'any', 'accept'],
      ['both', 'any', 'any', 'invalid', 'drop'],
      ['IPv6', 'any', 'icmpv6 type 133,134,135,136 hop limit 255', 'any', 'accept'],
      ['IPv6', 'fe80::/10', 'icmpv6 type 130,131,132,143', 'any', 'accept'],
      ['both', 'any', 'tcp 9100 (SYN)', 'new', 'accept'],
      ['both', 'any', 'udp 6000-6010', 'new', 'accept'],
      ['IPv4', '192.0.2.0/24', 'tcp 5432 (SYN)', 'new', 'accept'],
      ['IPv6', '2001:db8::/64', 'tcp 5432 (SYN)', 'new', 'accept'],
      ['IPv4', 'any', 'icmp type 8 up to 20/second', 'new', 'accept'],
      ['IPv6', 'any', 'icmpv6 type 128 up to 20/second', 'new', 'accept'],
      ['both', 'any', 'any', 'any', 'drop'],
    ]);
    expect(rows[7].origins).toEqual(['fleet/db/Postgres']);
  });

  test('plain text is aligned and deterministic', () => {
    const text = Explain.text(ruleset);
    expect(text.split('\n')[0]).toBe('db');
    expect(text.split('\n')[1]).toMatch(/^# +family +from +traffic +state +verdict +declared by$/);
    expect(text).toContain('192.0.2.0/24');
    expect(Explain.text(ruleset)).toBe(text);
  });

  test('markdown is a table', () => {
    const md = Explain.markdown(ruleset).split('\n');
    expect(md[0]).toBe('### db');
    expect(md[2]).toBe('| # | family | from | traffic | state | verdict | declared by |');
    expect(md).toContain('| 8 | IPv4 | 192.0.2.0/24 | tcp 5432 (SYN) | new | accept | `fleet/db/Postgres` |');
  });
});
