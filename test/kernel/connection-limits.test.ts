import { CompiledRuleset, OverLimitAction, Packet, Peer, Port, RateUnit, Verdict } from '../../src/core';
import { HOLD_CONNECTIONS } from '../support/hold-connections';
import { loadRuleset, VARIANTS } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// Per-source limits against the kernel: real TCP connections from a client namespace to
// listeners in a host namespace, for iptables-nft, iptables-legacy and nftables.


function ruleset(limits: object): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'lab',
    origin: 'lab/host',
    allowances: [{ origin: 'lab/host/Ssh', ports: [Port.tcp(2222)], peers: [Peer.any()], limits: { overLimitAction: OverLimitAction.REJECT, ...limits } }],
  });
}


const describeKernel = netnsSupported() ? describe : describe.skip;

describeKernel('per-source connection limits in the kernel', () => {
  let lab: Lab;
  let host: string;
  let client: string;

  beforeAll(() => {
    lab = new Lab('limits');
    host = lab.addNamespace('host');
    client = lab.addNamespace('client');
    lab.connect(
      { ns: host, ifname: 'h0', addresses: ['10.95.0.1/24', 'fd00:95::1/64'] },
      { ns: client, ifname: 'c0', addresses: ['10.95.0.2/24', 'fd00:95::2/64'] },
    );
    // a listener that accepts and holds every connection
    lab.spawn(host, ['python3', '-c', [
      'import socket, threading',
      'held = []',
      'def serve(fam, addr):',
      '    s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      '    s.bind((addr, 2222)); s.listen(64)',
      '    while True:',
      '        c, _ = s.accept(); held.append(c)',
      'threading.Thread(target=serve, args=(socket.AF_INET6, "fd00:95::1"), daemon=True).start()',
      'serve(socket.AF_INET, "10.95.0.1")',
    ].join('\n')]);
    lab.sh(host, 'for i in $(seq 50); do ss -ltn | grep -q ":2222" && exit 0; sleep 0.1; done; exit 1');
  });

  afterAll(() => lab.destroy());

  const connect = (target: string, count: number) =>
    lab.exec(client, ['python3', '-c', HOLD_CONNECTIONS, target, ...Array<string>(count).fill('2222')], { timeoutMs: 60_000 }).trim().split('\n');

  test.each(VARIANTS)('%s: new connections per source over the rate are refused', (variant) => {
    loadRuleset(lab, host, ruleset({ newConnectionsPerSource: { rate: 1, unit: RateUnit.MINUTE, burst: 3 } }), variant);
    for (const target of ['10.95.0.1', 'fd00:95::1']) {
      expect([target, connect(target, 6)]).toEqual([target, ['open', 'open', 'open', 'refused', 'refused', 'refused']]);
    }
  });

  test.each(VARIANTS)('%s: connections a source holds beyond the limit are refused', (variant) => {
    loadRuleset(lab, host, ruleset({ concurrentPerSource: 2 }), variant);
    for (const target of ['10.95.0.1', 'fd00:95::1']) {
      expect([target, connect(target, 4)]).toEqual([target, ['open', 'open', 'refused', 'refused']]);
    }
  });

  test('the simulator agrees: under the limits accepted, over them the over-limit action', () => {
    const r = ruleset({ newConnectionsPerSource: { rate: 1, unit: RateUnit.MINUTE }, concurrentPerSource: 2 });
    expect(r.simulate(Packet.tcp({ from: '10.95.0.2', port: 2222 })).verdict).toBe(Verdict.ACCEPT);
    expect(r.simulate(Packet.tcp({ from: '10.95.0.2', port: 2222, overRateLimit: true })).origins).toEqual(['lab/host/Ssh']);
    expect(r.simulate(Packet.tcp({ from: '10.95.0.2', port: 2222, overConnectionLimit: true })).verdict).toBe(Verdict.REJECT);
  });
});
