import {
  Backend, CompiledRuleset, ConnectionState, ConntrackHelper, ConntrackSizing, DefaultAction, Direction, Explain, ExplainRow, IpFamily,
  OverLimitAction, Packet, Peer, Port, RateUnit, Rule, ruleMatches, setElementsByName, TcpFlag, Verdict,
} from '../../../src/core';

const ruleset = CompiledRuleset.compile({
  name: 'db',
  origin: 'fleet/db',
  defaultAction: DefaultAction.DROP,
  allowances: [
    { origin: 'fleet/db/Postgres', ports: [Port.POSTGRES], peers: [Peer.ipv4('192.0.2.0/24'), Peer.ipv6('2001:db8::/64')] },
    { origin: 'fleet/db/Metrics', ports: [Port.tcp(9100), Port.udpRange(6000, 6010)], peers: [Peer.any()] },
  ],
});

/**
 * Every feature at once: outbound filtering, conntrack helpers (FTP, TFTP), an untracked
 * service, rate and connection limits, denials (all traffic, and one port), drop logging.
 */
const everything = CompiledRuleset.compile({
  name: 'edge',
  origin: 'lab/edge',
  logDropped: { prefix: 'sfw edge: ', rateLimit: { rate: 5, unit: RateUnit.MINUTE } },
  allowances: [
    { origin: 'lab/edge/Ftp', ports: [Port.tcp(21)], peers: [Peer.ipv4('198.51.100.0/24')], helper: ConntrackHelper.FTP },
    { origin: 'lab/edge/Tftp', ports: [Port.udp(69)], peers: [Peer.ipv6('2001:db8:69::/48')], helper: ConntrackHelper.TFTP },
    { origin: 'lab/edge/Dns', ports: [Port.udp(53)], peers: [Peer.ipv4('203.0.113.0/24'), Peer.ipv6('2001:db8:53::/48')], notrack: true },
    {
      origin: 'lab/edge/Web',
      ports: [Port.tcp(443)],
      peers: [Peer.any()],
      limits: { concurrentPerSource: 20, synFloodLimit: { rate: 100, unit: RateUnit.SECOND }, overLimitAction: OverLimitAction.REJECT },
    },
    { origin: 'lab/edge/Ssh', ports: [Port.tcp(22)], peers: [Peer.ipv4('192.0.2.10')], limits: { newConnectionsPerSource: { rate: 6, unit: RateUnit.MINUTE } } },
  ],
  denials: [
    { origin: 'lab/edge/Blocked', peers: [Peer.ipv4('198.51.100.66'), Peer.ipv6('2001:db8:66::/64')] },
    { origin: 'lab/edge/NoWebFrom', peers: [Peer.ipv4('192.0.2.128/25')], ports: [Port.tcp(443)] },
  ],
  outbound: {
    allowances: [
      { origin: 'lab/edge/Upstream', ports: [Port.udp(53), Port.tcp(53)], peers: [Peer.ipv4('192.0.2.53'), Peer.ipv6('2001:db8::53')] },
      { origin: 'lab/edge/Updates', ports: [Port.tcp(443)], peers: [Peer.any()] },
    ],
    defaultAction: DefaultAction.DROP,
  },
});

const HOST_V4 = '192.0.2.1';
const HOST_V6 = '2001:db8::1';

function firstAddress(element: string): string {
  return element.split(/[-/]/)[0];
}

/**
 * A packet the rule behind an explain row matches (its first peer, port and type; over the
 * limit when the row is an over-limit rule), in the direction of the row's chain.
 */
function packetFor(rule: Rule, chain: string, sets: Record<string, string[]>): Packet {
  const m = rule.match;
  const outbound = chain === 'output' || chain === 'raw_output';
  const peerMatch = outbound ? m.destination : m.source;
  const peerElements = peerMatch?.set ? sets[peerMatch.set] : peerMatch?.elements;
  const family = m.family ?? (peerElements?.[0]?.includes(':') ? IpFamily.IPV6 : IpFamily.IPV4);
  const v6 = family === IpFamily.IPV6;
  const lo = m.inInterface === 'lo' || m.outInterface === 'lo';
  const peer = lo ? (v6 ? '::1' : '127.0.0.1') : peerElements ? firstAddress(peerElements[0]) : v6 ? '2001:db8:ffff::9' : '203.0.113.250';
  const self = lo ? peer : v6 ? HOST_V6 : HOST_V4;
  const firstPort = (ranges: { from: number }[] | undefined, set: string | undefined) => (set ? Number(sets[set][0].split('-')[0]) : ranges?.[0].from);
  const port = firstPort(m.destinationPorts, m.destinationPortSet) ?? 9;
  const sourcePort = firstPort(m.sourcePorts, m.sourcePortSet) ?? 40000;
  const states = m.states ?? [];
  // a NEW or UNTRACKED row: the first packet of a flow (the raw chains make it untracked)
  const state = states.length === 0 || states.includes(ConnectionState.NEW) || states.includes(ConnectionState.UNTRACKED) ? undefined : states[0];
  const base = {
    from: outbound ? self : peer,
    to: outbound ? peer : undefined,
    direction: outbound ? Direction.OUTBOUND : Direction.INBOUND,
    state,
    overRateLimit: m.sourceRateOver !== undefined || m.rateOver !== undefined,
    overConnectionLimit: m.sourceConnectionsOver !== undefined,
  };
  if (m.protocol === 'tcp') return Packet.tcp({ ...base, port, sourcePort, flags: state === ConnectionState.INVALID ? [TcpFlag.SYN, TcpFlag.ACK] : [TcpFlag.SYN] });
  if (m.protocol === 'icmp' || m.protocol === 'icmpv6') return Packet.icmp({ ...base, type: m.icmpTypes?.[0], hopLimit: m.hopLimit });
  return Packet.udp({ ...base, port, sourcePort });
}

/** The rule of the compiled model an explain row stands for. */
function ruleOf(rs: CompiledRuleset, row: ExplainRow): Rule {
  const chain = rs.model.tables.flatMap((t) => t.chains).find((c) => c.name === row.chain)!;
  return chain.rules[row.position - 1];
}

/**
 * What the explain table says happens to a packet: the chains before conntrack in order
 * (notrack turns it UNTRACKED, helpers and logs go on), then the first row of the filter
 * chain of its direction that matches it.
 */
function explainDecision(rs: CompiledRuleset, packet: Packet): { row?: ExplainRow; logged: boolean; tracked: Packet } {
  const rows = Explain.rows(rs);
  const sets = setElementsByName(rs.model);
  const outbound = packet.direction === Direction.OUTBOUND;
  let p = packet;
  let logged = false;
  for (const row of rows.filter((r) => r.chain === (outbound ? 'raw_output' : 'raw_prerouting'))) {
    if (ruleOf(rs, row).verdict === Verdict.NOTRACK && ruleMatches(ruleOf(rs, row).match, p, sets)) p = p._withState(ConnectionState.UNTRACKED);
  }
  for (const row of rows.filter((r) => r.chain === (outbound ? 'output' : 'input'))) {
    const rule = ruleOf(rs, row);
    if (!ruleMatches(rule.match, p, sets)) continue;
    if (rule.verdict === Verdict.LOG) {
      logged = true;
      continue;
    }
    return { row, logged, tracked: p };
  }
  return { logged, tracked: p };
}

describe('Explain', () => {
  test('one row per input rule: who, what, which state, which verdict, declared by whom', () => {
    const rows = Explain.rows(ruleset);
    expect(rows.map((r) => [r.chain, r.family, r.peers, r.traffic, r.state, r.verdict])).toEqual([
      ['input', 'both', 'any', 'any', 'established, related', 'accept'],
      ['input', 'both', 'any', 'via lo', 'any', 'accept'],
      ['input', 'both', 'any', 'any', 'invalid', 'drop'],
      ['input', 'IPv6', 'any', 'icmpv6 type 133,134,135,136 hop limit 255', 'any', 'accept'],
      ['input', 'IPv6', 'fe80::/10', 'icmpv6 type 130,131,132,143', 'any', 'accept'],
      ['input', 'both', 'any', 'tcp 9100 (SYN)', 'new', 'accept'],
      ['input', 'both', 'any', 'udp 6000-6010', 'new', 'accept'],
      ['input', 'IPv4', '192.0.2.0/24', 'tcp 5432 (SYN)', 'new', 'accept'],
      ['input', 'IPv6', '2001:db8::/64', 'tcp 5432 (SYN)', 'new', 'accept'],
      ['input', 'IPv4', 'any', 'icmp type 8 up to 20/second burst 50', 'new', 'accept'],
      ['input', 'IPv6', 'any', 'icmpv6 type 128 up to 20/second burst 50', 'new', 'accept'],
      ['input', 'both', 'any', 'any', 'any', 'drop'],
    ]);
    expect(rows[7].origins).toEqual(['fleet/db/Postgres']);
  });

  test('every chain: outbound, before conntrack (notrack), helpers, limits and logging', () => {
    const rows = Explain.rows(everything);
    const line = (r: ExplainRow) => `${r.chain} ${r.family} ${r.peers} | ${r.traffic} | ${r.state} | ${r.verdict} | ${r.origins.join(' ')}`;
    const lines = rows.map(line);
    expect([...new Set(rows.map((r) => r.chain))]).toEqual(['input', 'output', 'raw_prerouting', 'raw_output', 'prerouting']);
    expect(lines).toEqual(expect.arrayContaining([
      // denials, untracked, limits, logging in the input chain
      'input IPv4 198.51.100.66/32 | any | any | drop | lab/edge/Blocked',
      'input IPv4 192.0.2.128/25 | tcp 443 | any | drop | lab/edge/NoWebFrom',
      'input IPv4 203.0.113.0/24 | udp 53 | untracked | accept | lab/edge/Dns',
      'input IPv4 any | tcp 443 (SYN) over 20 connections per source | new | reject (tcp-reset) | lab/edge/Web',
      'input IPv6 any | tcp 443 (SYN) over 100/second burst 5 from all sources | new | reject (tcp-reset) | lab/edge/Web',
      'input IPv4 192.0.2.10/32 | tcp 22 (SYN) over 6/minute burst 5 per source | new | drop | lab/edge/Ssh',
      "input both any | up to 5/minute | any | log (prefix 'sfw edge: ') | lab/edge",
      // outbound: destinations, the untracked service's replies, the outbound default
      'output IPv4 192.0.2.53/32 | udp 53 | new | accept | lab/edge/Upstream',
      'output both any | tcp 443 (SYN) | new | accept | lab/edge/Updates',
      'output IPv4 203.0.113.0/24 | udp from port 53 | untracked | accept | lab/edge/Dns',
      'output both any | any | any | drop | lab/edge outbound',
      // before conntrack, and the helpers
      'raw_prerouting IPv6 2001:db8:53::/48 | udp 53 to this host | any | notrack | lab/edge/Dns',
      'raw_output IPv4 203.0.113.0/24 | udp from port 53 | any | notrack | lab/edge/Dns',
      'prerouting IPv4 198.51.100.0/24 | tcp 21 | any | helper ftp | lab/edge/Ftp',
      'prerouting IPv6 2001:db8:69::/48 | udp 69 | any | helper tftp | lab/edge/Tftp',
    ]));
    // positions restart in each chain
    expect(rows.filter((r) => r.chain === 'output')[0].position).toBe(1);
  });

  test.each([Backend.IPTABLES, Backend.NFTABLES])('every row that decides a packet is what the simulator decides (%s), in every chain', (backend) => {
    let checked = 0;
    for (const rs of [ruleset, everything]) {
      const sets = setElementsByName(rs.model);
      for (const row of Explain.rows(rs)) {
        const rule = ruleOf(rs, row);
        const packet = packetFor(rule, row.chain, sets);
        const said = explainDecision(rs, packet);
        // the row's own rule matches the packet built from it (as the chains before conntrack left it)
        const seen = row.chain.startsWith('raw_') ? packet : said.tracked;
        expect([`${rs.hostName} ${row.chain}#${row.position} ${packet}`, ruleMatches(rule.match, seen, sets)]).toEqual([`${rs.hostName} ${row.chain}#${row.position} ${packet}`, true]);
        const sim = rs.simulate(packet, backend);
        const context = `${rs.hostName} ${row.chain}#${row.position} (${row.traffic}) with ${packet} on ${backend}:\n${sim.trace.join('\n')}`;
        // the table's first matching row (after the chains before conntrack) is the simulator's verdict
        expect([context, sim.verdict, sim.rejectWith && `reject (${sim.rejectWith})`, sim.origins]).toEqual([
          context,
          said.row ? (ruleOf(rs, said.row).verdict as string) : Verdict.ACCEPT,
          said.row?.verdict.startsWith('reject') ? said.row.verdict : undefined,
          said.row ? said.row.origins : [],
        ]);
        // a log row logs what reaches it, and the packet goes on to the default action
        expect([context, sim.trace.some((t) => t.includes(' logged'))]).toEqual([context, said.logged]);
        if (rule.verdict === Verdict.NOTRACK && row.chain === 'raw_prerouting') {
          // notrack makes the packet UNTRACKED: the untracked opening of the input chain accepts it
          expect([context, said.row?.state]).toEqual([context, 'untracked']);
        }
        if (rule.verdict === Verdict.HELPER) {
          // the helper row does not decide: the control connection's opening does
          expect([context, said.row?.chain, said.row?.verdict, sim.verdict]).toEqual([context, 'input', 'accept', Verdict.ACCEPT]);
        }
        checked++;
      }
    }
    expect(checked).toBe(Explain.rows(ruleset).length + Explain.rows(everything).length);
  });

  test('plain text: a section per chain, naming where each backend holds it; aligned and deterministic', () => {
    const text = Explain.text(ruleset);
    expect(text.split('\n')[0]).toBe('db');
    expect(text.split('\n')[1]).toBe('input: inbound: what reaches the host [iptables filter INPUT -> SFW-INPUT; nftables chain input (hook input)]');
    expect(text.split('\n')[2]).toMatch(/^# +family +from +traffic +state +verdict +declared by$/);
    expect(text).toContain('192.0.2.0/24');
    expect(Explain.text(ruleset)).toBe(text);
    const all = Explain.text(everything, { backend: Backend.NFTABLES, conntrackSizing: ConntrackSizing.forConnections(1000) });
    expect(all.split('\n').filter((l) => /^(\w+|conntrack sizing): /.test(l))).toEqual([
      'input: inbound: what reaches the host [nftables chain input (hook input)]',
      'output: outbound: what the host sends [nftables chain output (hook output)]',
      'raw_prerouting: received, before connection tracking (untracked services) [nftables chain raw_prerouting (hook prerouting, priority raw)]',
      'raw_output: sent, before connection tracking (untracked services) [nftables chain raw_output (hook output, priority raw)]',
      'prerouting: conntrack helpers [nftables chain prerouting (hook prerouting)]',
      'conntrack sizing: 1000 expected connections: nf_conntrack_max 2048, 2048 hash buckets, about 0.6 MiB of kernel memory; the deploy raises the host\'s values to these where they are lower.',
    ]);
    // the output chain's peer column is the destination
    expect(all).toMatch(/\n# +family +to +traffic/);
    expect(Explain.text(everything, { backend: Backend.IPTABLES })).toContain('raw_prerouting: received, before connection tracking (untracked services) [iptables raw PREROUTING -> SFW-PREROUTING]');
  });

  test('markdown: a table per chain', () => {
    const md = Explain.markdown(ruleset).split('\n');
    expect(md[0]).toBe('### db');
    expect(md[2]).toBe('#### input: inbound: what reaches the host [iptables filter INPUT -> SFW-INPUT; nftables chain input (hook input)]');
    expect(md[4]).toBe('| # | family | from | traffic | state | verdict | declared by |');
    expect(md).toContain('| 8 | IPv4 | 192.0.2.0/24 | tcp 5432 (SYN) | new | accept | `fleet/db/Postgres` |');
    const all = Explain.markdown(everything, { conntrackSizing: ConntrackSizing.forConnections(1000), tunesKernel: false });
    expect(all.split('\n').filter((l) => l.startsWith('#### '))).toHaveLength(6);
    expect(all).toContain('| 1 | IPv4 | 198.51.100.0/24 | tcp 21 | any | helper ftp | `lab/edge/Ftp` |');
    expect(all.trimEnd().split('\n').pop()).toBe('1000 expected connections: nf_conntrack_max 2048, 2048 hash buckets, about 0.6 MiB of kernel memory; reported only (conntrack.tuneKernel is false).');
  });
});
