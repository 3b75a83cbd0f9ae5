import { CompiledRuleset, Packet, Verdict } from '../../src/core';
import {
  CLIENT_V6, DenyFeatures, DenyKind, denyPolicy, HOST_V6, OPEN_PORT, OUTBOUND_PORT,
} from '../support/deny-cases';
import { loadRuleset, Variant, VARIANTS } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// Issue 14 against the kernel: the host denies the client (its address, a CIDR holding it,
// a long list that becomes a set, or all of IPv6). Neighbour discovery must still work
// both ways: with empty neighbour caches, the client resolves the host (its connection
// is then dropped by the denial) and the host resolves the client (its own connection to
// the client succeeds, under outbound filtering too), for iptables-nft, iptables-legacy
// and nftables. Before the fix the denial dropped the solicitations and advertisements,
// and the caches ended INCOMPLETE or FAILED.

const HOST_V4 = '10.97.0.1';

const CASES: [DenyKind, string, DenyFeatures][] = [
  ['address', 'alone', {}],
  ['address', 'with outbound filtering', { outbound: true }],
  ['cidr', 'with outbound filtering and drop logging', { outbound: true, logDropped: true }],
  ['long list', 'with outbound filtering', { outbound: true }],
  ['any IPv6', 'alone', {}],
  ['any IPv6', 'with outbound filtering and rate limits', { outbound: true, limits: true, portDenial: true }],
];

const MATRIX: [Variant, DenyKind, string, DenyFeatures][] = VARIANTS.flatMap((variant) =>
  CASES.map(([kind, name, features]): [Variant, DenyKind, string, DenyFeatures] => [variant, kind, name, features]));

/** A resolved neighbour entry: a link-layer address in a usable state. */
const RESOLVED = /lladdr \S+ .*\b(REACHABLE|STALE|DELAY|PROBE)\b/;

const describeKernel = netnsSupported() ? describe : describe.skip;

describeKernel('neighbour discovery with denials in the kernel', () => {
  let lab: Lab;
  let host: string;
  let client: string;

  const neighbour = (ns: string, dev: string, address: string) => lab.exec(ns, ['ip', '-6', 'neigh', 'show', address, 'dev', dev]).trim();
  const flushNeighbours = () => {
    lab.exec(host, ['ip', '-6', 'neigh', 'flush', 'all']);
    lab.exec(client, ['ip', '-6', 'neigh', 'flush', 'all']);
    expect([neighbour(host, 'h0', CLIENT_V6), neighbour(client, 'c0', HOST_V6)]).toEqual(['', '']);
  };

  beforeAll(() => {
    lab = new Lab('nddeny');
    host = lab.addNamespace('host');
    client = lab.addNamespace('client');
    lab.connect(
      { ns: host, ifname: 'h0', addresses: [`${HOST_V4}/24`, `${HOST_V6}/64`] },
      { ns: client, ifname: 'c0', addresses: ['10.97.0.2/24', `${CLIENT_V6}/64`] },
    );
    const listen = (port: number) => ['python3', '-c', `import socket\ns=socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(('::', ${port})); s.listen(16)\nwhile True: s.accept()[0].close()`];
    lab.spawn(host, listen(OPEN_PORT));
    lab.spawn(client, listen(OUTBOUND_PORT));
    lab.sh(host, `for i in $(seq 50); do ss -ltn | grep -q ":${OPEN_PORT}" && exit 0; sleep 0.1; done; exit 1`);
    lab.sh(client, `for i in $(seq 50); do ss -ltn | grep -q ":${OUTBOUND_PORT}" && exit 0; sleep 0.1; done; exit 1`);
  });

  afterAll(() => lab.destroy());

  test.each(MATRIX)('%s: %s denied, %s: ND works both ways, the denial still drops', (variant, kind, _name, features) => {
    const ruleset = CompiledRuleset.compile(denyPolicy(kind, features));
    loadRuleset(lab, host, ruleset, variant);
    // the port is open: IPv4 (not denied) connects
    expect(lab.tcpProbe(client, HOST_V4, OPEN_PORT)).toBe('open');

    // both directions are observed before any is judged, so a failure shows all of them
    const resolved = (ns: string, dev: string, address: string) => {
      const entry = neighbour(ns, dev, address);
      return RESOLVED.test(entry) ? 'resolved' : entry;
    };
    // the denied client connects to the host: it resolves the host, then its SYN is dropped
    flushNeighbours();
    const clientProbe = lab.tcpProbe(client, HOST_V6, OPEN_PORT);
    const clientNeighbour = resolved(client, 'c0', HOST_V6);
    // the host connects to the denied client: it resolves the client, the connection opens
    flushNeighbours();
    const hostProbe = lab.tcpProbe(host, CLIENT_V6, OUTBOUND_PORT);
    const hostNeighbour = resolved(host, 'h0', CLIENT_V6);
    // and pings it (outbound filtering lets only the declared port out)
    let hostPing = 'not tried';
    if (!features.outbound) {
      flushNeighbours();
      const ping = lab.run(host, ['ping', '-6', '-n', '-c', '1', '-W', '2', CLIENT_V6], { timeoutMs: 10_000 });
      hostPing = ping.status === 0 ? resolved(host, 'h0', CLIENT_V6) : `ping exit ${ping.status}`;
    }
    expect({ clientProbe, clientNeighbour, hostProbe, hostNeighbour, hostPing }).toEqual({
      clientProbe: 'timeout',
      clientNeighbour: 'resolved',
      hostProbe: 'open',
      hostNeighbour: 'resolved',
      hostPing: features.outbound ? 'not tried' : 'resolved',
    });

    // the simulator agrees
    expect(ruleset.simulate(Packet.icmp({ from: CLIENT_V6, type: 135 })).verdict).toBe(Verdict.ACCEPT);
    expect(ruleset.simulate(Packet.tcp({ from: CLIENT_V6, port: OPEN_PORT })).verdict).toBe(Verdict.DROP);
  });
});
