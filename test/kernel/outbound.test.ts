import { CompiledRuleset, Direction, Packet, Peer, Port, Verdict } from '../../src/core';
import { loadRuleset, VARIANTS } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// Outbound filtering against the kernel: the host opens real connections to a second
// namespace; allowed destinations connect, the rest are refused at once (REJECT in
// OUTPUT), IPv6 keeps working (neighbour discovery goes out), for all three backends.


const ruleset = CompiledRuleset.compile({
  name: 'app',
  origin: 'lab/app',
  allowances: [],
  outbound: {
    allowances: [
      { origin: 'lab/app/Db', ports: [Port.POSTGRES], peers: [Peer.ipv4('10.94.0.2'), Peer.ipv6('fd00:94::2')] },
      { origin: 'lab/app/Mirror', ports: [Port.HTTPS], peers: [Peer.any()] },
    ],
  },
});

const describeKernel = netnsSupported() ? describe : describe.skip;

describeKernel('outbound filtering in the kernel', () => {
  let lab: Lab;
  let host: string;
  let peer: string;

  beforeAll(() => {
    lab = new Lab('outbound');
    host = lab.addNamespace('host');
    peer = lab.addNamespace('peer');
    lab.connect(
      { ns: host, ifname: 'h0', addresses: ['10.94.0.1/24', 'fd00:94::1/64'] },
      { ns: peer, ifname: 'p0', addresses: ['10.94.0.2/24', 'fd00:94::2/64'] },
    );
    // listeners on the peer for every port probed
    for (const port of [5432, 443, 5433]) {
      lab.spawn(peer, ['python3', '-c', `import socket\ns=socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(('::', ${port})); s.listen(16)\nwhile True: s.accept()`]);
    }
    lab.sh(peer, 'for i in $(seq 50); do [ "$(ss -ltn | grep -c ":54[34][23]\\|:443")" -ge 3 ] && exit 0; sleep 0.1; done; exit 1');
  });

  afterAll(() => lab.destroy());

  test.each(VARIANTS)('%s: only declared destinations connect; the rest is refused at once', (variant) => {
    lab.sh(host, 'ip neigh flush all');
    loadRuleset(lab, host, ruleset, variant);
    for (const target of ['10.94.0.2', 'fd00:94::2']) {
      expect([target, lab.tcpProbe(host, target, 5432)]).toEqual([target, 'open']);
      expect([target, lab.tcpProbe(host, target, 443)]).toEqual([target, 'open']);
      expect([target, lab.tcpProbe(host, target, 5433)]).toEqual([target, 'refused']);
    }
    // inbound is unaffected by the outbound chain's openings: the peer cannot reach the host's 5432
    expect(lab.tcpProbe(peer, '10.94.0.1', 5432)).toBe('refused');
  });

  test('the simulator agrees', () => {
    const out = (to: string, port: number) => ruleset.simulate(Packet.tcp({ from: to.includes(':') ? 'fd00:94::1' : '10.94.0.1', to, port, direction: Direction.OUTBOUND }));
    expect(out('10.94.0.2', 5432).verdict).toBe(Verdict.ACCEPT);
    expect(out('fd00:94::2', 443).verdict).toBe(Verdict.ACCEPT);
    expect(out('10.94.0.2', 5433).verdict).toBe(Verdict.REJECT);
    expect(out('10.94.0.3', 5432).verdict).toBe(Verdict.REJECT);
    expect(out('127.0.0.1', 5433).verdict).toBe(Verdict.ACCEPT);
    expect(() => Packet.tcp({ from: '10.94.0.1', port: 1, direction: Direction.OUTBOUND })).toThrow("outbound packet from '10.94.0.1' needs a destination: give 'to'");
  });
});
