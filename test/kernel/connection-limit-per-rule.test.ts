import { Backend, CompiledRuleset, OverLimitAction, Peer, Port } from '../../src/core';
import { backendFor } from '../../src/core/backends/registry';
import { HOLD_CONNECTIONS } from '../support/hold-connections';
import { loadRuleset, Variant } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// Why the iptables backend refuses a connection limit whose ports need several multiport
// rules: connlimit counts the connections each rule saw, so the kernel lets a source hold
// the limit once per rule. With the ports in one set (one rule), and in nftables (one named
// set counts whatever the rule), the limit holds for the declaration.

const PORTS = Array.from({ length: 16 }, (_, i) => 7000 + i * 2);
const FIRST = PORTS[0];
const LAST = PORTS[PORTS.length - 1];

function ruleset(setThreshold?: number): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'lab',
    origin: 'lab/host',
    setThreshold,
    allowances: [{
      origin: 'lab/host/Game',
      ports: PORTS.map((p) => Port.tcp(p)),
      peers: [Peer.any()],
      limits: { concurrentPerSource: 2, overLimitAction: OverLimitAction.REJECT },
    }],
  });
}


const describeKernel = netnsSupported() ? describe : describe.skip;

describeKernel('a connection limit over several iptables rules, in the kernel', () => {
  let lab: Lab;
  let host: string;
  let client: string;

  beforeAll(() => {
    lab = new Lab('connrule');
    host = lab.addNamespace('host');
    client = lab.addNamespace('client');
    lab.connect({ ns: host, ifname: 'h0', addresses: ['10.96.0.1/24'] }, { ns: client, ifname: 'c0', addresses: ['10.96.0.2/24'] });
    // listeners on a port of the first multiport rule and one of the second, holding every connection
    lab.spawn(host, ['python3', '-c', [
      'import socket, threading',
      'held = []',
      'def serve(port):',
      '    s = socket.socket(socket.AF_INET); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      '    s.bind(("10.96.0.1", port)); s.listen(64)',
      '    while True:',
      '        c, _ = s.accept(); held.append(c)',
      `threading.Thread(target=serve, args=(${FIRST},), daemon=True).start()`,
      `serve(${LAST})`,
    ].join('\n')]);
    lab.sh(host, `for i in $(seq 50); do ss -ltn | grep -q ":${FIRST}" && ss -ltn | grep -q ":${LAST}" && exit 0; sleep 0.1; done; exit 1`);
  });

  afterAll(() => lab.destroy());

  /** Two connections to the first rule's port, then two to the second's. */
  const connectBoth = () =>
    lab.exec(client, ['python3', '-c', HOLD_CONNECTIONS, '10.96.0.1', String(FIRST), String(FIRST), String(LAST), String(LAST)], { timeoutMs: 60_000 }).trim().split('\n');

  test.each<Variant>(['iptables-nft', 'iptables-legacy'])('%s: without a port set, each multiport rule lets a source hold the limit (what supports() refuses)', (variant) => {
    const r = ruleset(Infinity);
    expect(backendFor(Backend.IPTABLES).supports({ model: r.model })).toHaveLength(1);
    loadRuleset(lab, host, r, variant);
    expect(connectBoth()).toEqual(['open', 'open', 'open', 'open']);
  });

  test.each<Variant>(['iptables-nft', 'iptables-legacy'])('%s: with the ports in one set, one rule counts: the limit holds', (variant) => {
    const r = ruleset();
    expect(backendFor(Backend.IPTABLES).supports({ model: r.model })).toEqual([]);
    loadRuleset(lab, host, r, variant);
    expect(connectBoth()).toEqual(['open', 'open', 'refused', 'refused']);
  });

  test('nftables: one named set counts, whatever the rules: the limit holds without a port set', () => {
    const r = ruleset(Infinity);
    expect(backendFor(Backend.NFTABLES).supports({ model: r.model })).toEqual([]);
    loadRuleset(lab, host, r, 'nftables');
    expect(connectBoth()).toEqual(['open', 'open', 'refused', 'refused']);
  });
});
