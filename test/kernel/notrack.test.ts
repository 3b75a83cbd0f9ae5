import { Backend, CompiledRuleset, ConnectionState, Direction, Packet, Peer, Port, Verdict } from '../../src/core';
import { loadRuleset, VARIANTS } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// Untracked services against the kernel: a UDP echo server on port 53 behind the firewall,
// a client firing 200 queries from 200 source ports. With notrack the raw table exempts the
// queries and the host's replies from conntrack: every query is answered, the host's
// conntrack table holds nothing for port 53, and the replies get out through the
// UNTRACKED accept in OUTPUT (outbound filtering is on and opens nothing else). Without
// notrack the same traffic takes one conntrack entry per source port. A source outside
// the peers is tracked, NEW, opens nothing and is refused. Under outbound filtering, the
// port unreachable for an untracked query where nothing listens is INVALID and dropped.


function ruleset(notrack: boolean, filterOutbound = true): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'dns',
    origin: 'lab/dns',
    allowances: [{ origin: 'lab/dns/Dns', ports: [Port.udp(53)], peers: [Peer.ipv4('10.91.0.0/24'), Peer.ipv6('2001:db8:91::/64')], notrack }],
    outbound: filterOutbound ? { allowances: [] } : undefined,
  });
}

// The host's addresses in the peers' subnets (where the server listens) and outside them.
const HOST_V4 = '10.91.0.1';
const HOST_V6 = '2001:db8:91::1';
const PEER_V4 = '10.91.0.2';
const PEER_V6 = '2001:db8:91::2';
const OUTSIDER_V4 = '10.91.1.2';
const OUTSIDER_V6 = '2001:db8:91:1::2';
// The host's addresses where nothing listens on port 53.
const IDLE_V4 = '10.91.1.1';
const IDLE_V6 = '2001:db8:91:1::1';

// One socket per address the host listens on; every datagram is echoed from the socket it
// arrived on (so the reply's source is the address queried).
const SERVER = `
import select, socket, sys
socks = []
for addr in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((addr, 53))
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)
`;

// argv: <source> <destination> <count> [<source> <destination> <count>...]. Per triple,
// <count> sockets bound to <source> port 0 (distinct ephemeral ports), connected to
// <destination>:53, each sending one query; then waits up to 3 s for the echoes. Prints
// '<sent> <replies> <refused> <distinct source ports>' (refused: ICMP port unreachable).
const CLIENT = `
import select, socket, sys, time
args = sys.argv[1:]
socks, ports, sent = {}, set(), 0
for i in range(0, len(args), 3):
    src, dst, n = args[i], args[i + 1], int(args[i + 2])
    for _ in range(n):
        s = socket.socket(socket.AF_INET6 if ':' in src else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.connect((dst, 53))
        ports.add((src, s.getsockname()[1]))
        payload = ('q%d' % len(socks)).encode()
        s.send(payload)
        sent += 1
        socks[s] = payload
replies = refused = 0
deadline = time.monotonic() + 3
while socks and time.monotonic() < deadline:
    for s in select.select(list(socks), [], [], max(deadline - time.monotonic(), 0))[0]:
        try:
            data = s.recv(2048)
        except ConnectionRefusedError:
            refused += 1
        else:
            if data != socks[s]:
                continue
            replies += 1
        del socks[s]
        s.close()
print(sent, replies, refused, len(ports))
`;

const QUERIES_V4 = 150;
const QUERIES_V6 = 50;
const OUTSIDER_QUERIES = 5;

const describeKernel = netnsSupported() ? describe : describe.skip;

describeKernel('untracked services (notrack) in the kernel', () => {
  let lab: Lab;
  let host: string;
  let client: string;

  beforeAll(() => {
    lab = new Lab('notrack');
    host = lab.addNamespace('host');
    client = lab.addNamespace('client');
    lab.connect(
      { ns: host, ifname: 'h0', addresses: ['10.91.0.1/24', '10.91.1.1/24', '2001:db8:91::1/64', '2001:db8:91:1::1/64'] },
      { ns: client, ifname: 'c0', addresses: ['10.91.0.2/24', `${OUTSIDER_V4}/24`, '2001:db8:91::2/64', `${OUTSIDER_V6}/64`] },
    );
    // every refused query gets its port unreachable (the kernel rate-limits ICMP errors per destination)
    lab.exec(host, ['sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0']);
    lab.spawn(host, ['/usr/bin/python3', '-c', SERVER, HOST_V4, HOST_V6]);
    lab.sh(host, 'for i in $(seq 50); do [ "$(ss -lun | grep -c "\\(10.91.0.1\\|\\[2001:db8:91::1\\]\\):53 ")" -ge 2 ] && exit 0; sleep 0.1; done; exit 1');
  });

  afterAll(() => lab.destroy());

  /** Fires the queries; returns [sent, replies, refused, distinct source ports]. */
  const query = (...flows: Array<[string, string, number]>): number[] => {
    const out = lab.exec(client, ['/usr/bin/python3', '-c', CLIENT, ...flows.flat().map(String)], { timeoutMs: 20_000 });
    return out.trim().split(' ').map(Number);
  };
  /** The host's conntrack entries for port 53 (either direction), both families. */
  const conntrack53 = (): string[] => ['ipv4', 'ipv6'].flatMap((f) => lab.exec(host, ['conntrack', '-L', '-f', f, '-p', 'udp'], { timeoutMs: 10_000 })
    .split('\n')
    .filter((l) => / (sport|dport)=53 /.test(l)));
  const fresh = (variant: typeof VARIANTS[number], notrack: boolean, filterOutbound = true) => {
    lab.sh(host, 'ip neigh flush all');
    lab.sh(client, 'ip neigh flush all');
    loadRuleset(lab, host, ruleset(notrack, filterOutbound), variant);
  };

  test.each(VARIANTS)('%s: with notrack, 200 queries from 200 source ports are all answered and none is tracked', (variant) => {
    fresh(variant, true);
    expect(query([PEER_V4, HOST_V4, QUERIES_V4], [PEER_V6, HOST_V6, QUERIES_V6])).toEqual([200, 200, 0, 200]);
    expect(conntrack53()).toEqual([]);
    // conntrack is live in the host namespace all the same: a ping (NEW, accepted) is tracked
    lab.exec(client, ['ping', '-c', '1', '-W', '2', HOST_V4]);
    expect(lab.exec(host, ['conntrack', '-L', '-f', 'ipv4', '-p', 'icmp'], { timeoutMs: 10_000 })).toMatch(/src=10\.91\.0\.2 dst=10\.91\.0\.1 type=8 /);
  });

  test.each(VARIANTS)('%s: without notrack, the same queries are answered and take one conntrack entry per source port', (variant) => {
    fresh(variant, false);
    expect(query([PEER_V4, HOST_V4, QUERIES_V4], [PEER_V6, HOST_V6, QUERIES_V6])).toEqual([200, 200, 0, 200]);
    const entries = conntrack53();
    expect(entries.length).toBeGreaterThanOrEqual(190);
    expect(entries.every((l) => / dport=53 /.test(l))).toBe(true);
    // one entry per source port: the queries' (source, port) pairs are all different
    const flows = new Set(entries.map((l) => /src=(\S+) dst=\S+ sport=(\d+) dport=53 /.exec(l)!.slice(1, 3).join(' ')));
    expect(flows.size).toBe(entries.length);
  });

  test.each(VARIANTS)('%s: with notrack, a source outside the peers is refused', (variant) => {
    fresh(variant, true);
    // tracked (the raw table leaves it alone), NEW, no opening: the default REJECT's port
    // unreachable goes out as RELATED through the outbound filter
    expect(query([OUTSIDER_V4, HOST_V4, OUTSIDER_QUERIES], [OUTSIDER_V6, HOST_V6, OUTSIDER_QUERIES]))
      .toEqual([2 * OUTSIDER_QUERIES, 0, 2 * OUTSIDER_QUERIES, 2 * OUTSIDER_QUERIES]);
    // the peers are still answered, untracked
    expect(query([PEER_V4, HOST_V4, 5], [PEER_V6, HOST_V6, 5])).toEqual([10, 10, 0, 10]);
    expect(conntrack53()).toEqual([]);
  });

  test.each(VARIANTS)('%s: under outbound filtering, an untracked query where nothing listens is not refused: the port unreachable is INVALID on the way out', (variant) => {
    // accepted untracked; the stack's ICMP error quotes a datagram conntrack never saw, so it
    // belongs to no connection (INVALID) and the output chain drops it: the client times out
    fresh(variant, true);
    expect(query([PEER_V4, IDLE_V4, 5], [PEER_V6, IDLE_V6, 5])).toEqual([10, 0, 0, 10]);
    // without outbound filtering the same error gets out
    fresh(variant, true, false);
    expect(query([PEER_V4, IDLE_V4, 5], [PEER_V6, IDLE_V6, 5])).toEqual([10, 0, 10, 10]);
    // tracked, the error is RELATED to the query's connection and gets out through the filter
    fresh(variant, false);
    expect(query([PEER_V4, IDLE_V4, 5], [PEER_V6, IDLE_V6, 5])).toEqual([10, 0, 10, 10]);
    expect(conntrack53().length).toBe(10);
  });

  test('the simulator agrees on the port unreachable about an untracked query', () => {
    for (const backend of [Backend.IPTABLES, Backend.NFTABLES]) {
      for (const [peer, idle] of [[PEER_V4, IDLE_V4], [PEER_V6, IDLE_V6]]) {
        const request = ruleset(true).simulate(Packet.udp({ from: peer, to: idle, port: 53 }), backend);
        expect([backend, peer, request.verdict]).toEqual([backend, peer, Verdict.ACCEPT]);
        // no connection to be RELATED to: the error is a first packet, INVALID
        const error = Packet.icmp({ from: idle, to: peer, type: peer.includes(':') ? 1 : 3, code: peer.includes(':') ? 4 : 3, direction: Direction.OUTBOUND });
        expect([backend, peer, error.state]).toEqual([backend, peer, ConnectionState.INVALID]);
        expect([backend, peer, ruleset(true).simulate(error, backend).verdict]).toEqual([backend, peer, Verdict.DROP]);
        expect([backend, peer, ruleset(true, false).simulate(error, backend).verdict]).toEqual([backend, peer, Verdict.ACCEPT]);
      }
    }
  });

  test('the simulator agrees', () => {
    const untracked = ruleset(true);
    const tracked = ruleset(false);
    const reply = (from: string, to: string) => Packet.udp({ from, to, port: 40000, sourcePort: 53, direction: Direction.OUTBOUND });
    for (const backend of [Backend.IPTABLES, Backend.NFTABLES]) {
      for (const [peer, self, outsider] of [[PEER_V4, HOST_V4, OUTSIDER_V4], [PEER_V6, HOST_V6, OUTSIDER_V6]]) {
        const request = untracked.simulate(Packet.udp({ from: peer, port: 53 }), backend);
        expect([backend, peer, request.verdict, request.rule?.comment]).toEqual([backend, peer, Verdict.ACCEPT, 'untracked service']);
        const answer = untracked.simulate(reply(self, peer), backend);
        expect([backend, peer, answer.verdict, answer.rule?.comment]).toEqual([backend, peer, Verdict.ACCEPT, 'untracked service replies']);
        const refused = untracked.simulate(Packet.udp({ from: outsider, port: 53 }), backend);
        expect([backend, outsider, refused.verdict]).toEqual([backend, outsider, Verdict.REJECT]);
        // without notrack the reply is not UNTRACKED: only its conntrack entry (ESTABLISHED) lets it out
        expect([backend, peer, tracked.simulate(reply(self, peer), backend).verdict]).toEqual([backend, peer, Verdict.REJECT]);
      }
    }
  });
});
