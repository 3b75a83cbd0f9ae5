import { spawnSync } from 'child_process';
import { CompiledRuleset, OverLimitAction, Packet, Peer, Port, RateUnit, Verdict } from '../../src/core';
import { loadRuleset, Variant, VARIANTS } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// The syn-flood cap against the kernel: a burst of SYNs from several client addresses to
// a listener in a host namespace, for iptables-nft, iptables-legacy and nftables. The cap
// counts all sources together (hashlimit without a mode, nft `limit rate over`), so
// spreading the flood over addresses does not get around it: about `burst` SYNs get a
// SYN-ACK, the rest nothing (DROP) or a reset (REJECT); once the tokens refill, a normal
// connection succeeds again.

const HOST = '10.90.0.1';
const SOURCES = ['10.90.0.2', '10.90.0.3', '10.90.0.4', '10.90.0.5'];
const PORT = 8080;
/** A second port of the same declaration (see the two-port test). */
const PORT2 = 8443;
const SYNS = 60;
const CAP = { rate: 5, unit: RateUnit.SECOND, burst: 10 };
const SYN_FLOOD_RULE = 'lab/syn/Web: over the syn-flood cap';
const PYTHON = '/usr/bin/python3';

function ruleset(overLimitAction?: OverLimitAction): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'syn',
    origin: 'lab/syn',
    allowances: [{
      origin: 'lab/syn/Web',
      ports: [Port.tcp(PORT)],
      peers: [Peer.ipv4('10.90.0.0/24')],
      limits: { synFloodLimit: CAP, ...(overLimitAction ? { overLimitAction } : {}) },
    }],
  });
}

/**
 * Sends `count` SYNs (round robin over the source addresses, source ports 30000 + i) as
 * fast as a raw socket allows, then listens 1.5 s for the answers (a raw TCP socket sees
 * every segment the client receives, before the client's own TCP, whose resets for the
 * unexpected SYN-ACKs go to the host afterwards and do not matter). Prints one JSON object:
 * the first answer's flags per SYN ('SA' SYN-ACK, 'RA' reset, '' nothing) and the time
 * the sending took.
 */
const FLOOD = `
import json, select, socket, sys, time
from scapy.layers.inet import IP, TCP
host, ports, count, sources = sys.argv[1], [int(p) for p in sys.argv[2].split(',')], int(sys.argv[3]), sys.argv[4].split(',')
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
syns = [(sources[i % len(sources)], bytes(IP(src=sources[i % len(sources)], dst=host) / TCP(sport=30000 + i, dport=ports[i % len(ports)], flags='S', seq=1000 + i)))
        for i in range(count)]
start = time.monotonic()
for _, syn in syns:
    tx.sendto(syn, (host, 0))
elapsed = time.monotonic() - start
answers = {}
deadline = time.monotonic() + 1.5
while True:
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([rx], [], [], left)[0]:
        break
    p = IP(rx.recv(65535))
    if TCP not in p or p.src != host or p[TCP].sport not in ports:
        continue
    i = p[TCP].dport - 30000
    if 0 <= i < count and i not in answers:
        answers[i] = str(p[TCP].flags)
print(json.dumps({'elapsedMs': elapsed * 1000, 'answers': [answers.get(i, '') for i in range(count)], 'sources': [s for s, _ in syns]}))
`;

interface Flood {
  readonly elapsedMs: number;
  /** Per SYN: the flags of the host's first answer ('SA', 'RA'), '' for none. */
  readonly answers: string[];
  /** Per SYN: its source address. */
  readonly sources: string[];
}

const describeKernel = netnsSupported() ? describe : describe.skip;

describeKernel('the syn-flood cap in the kernel', () => {
  let lab: Lab;
  let host: string;
  let client: string;

  beforeAll(() => {
    lab = new Lab('syn');
    host = lab.addNamespace('host');
    client = lab.addNamespace('client');
    lab.connect({ ns: host, ifname: 'h0', addresses: [`${HOST}/24`] }, { ns: client, ifname: 'c0', addresses: [`${SOURCES[0]}/24`] });
    for (const source of SOURCES.slice(1)) lab.addAddress(client, 'c0', `${source}/24`);
    // a listener that accepts and closes; the flood's half-open connections never reach accept()
    for (const port of [PORT, PORT2]) {
      lab.spawn(host, ['python3', '-c', [
        'import socket',
        's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
        `s.bind(("${HOST}", ${port})); s.listen(128)`,
        'while True:',
        '    c, _ = s.accept(); c.close()',
      ].join('\n')]);
      lab.sh(host, `for i in $(seq 50); do ss -ltn | grep -q ":${port}" && exit 0; sleep 0.1; done; exit 1`);
    }
    // the host knows every source's MAC before the flood (no SYN-ACK waits for ARP)
    for (const source of SOURCES) lab.exec(client, ['ping', '-c', '1', '-W', '2', '-I', source, HOST]);
  });

  afterAll(() => lab?.destroy());

  /** The host namespace's TCP segments received (Tcp InSegs). */
  const inSegs = (): number => {
    const lines = lab.exec(host, ['cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Tcp:'));
    const [names, values] = lines.map((l) => l.trim().split(/\s+/));
    return Number(values[names.indexOf('InSegs')]);
  };

  /** Conntrack entries of connections to the listener (each SYN that got through made one). */
  const tracked = (): number =>
    lab.run(host, ['conntrack', '-L', '-p', 'tcp', '--dport', String(PORT)]).stdout.split('\n').filter((l) => l.includes(`dport=${PORT}`)).length;

  /** iptables variants: the packet counters of the cap rule and of the opening. */
  const ruleCounters = (variant: Variant): { cap: number; opening: number } | undefined => {
    if (variant === 'nftables') return undefined;
    const save = lab.exec(host, [variant === 'iptables-legacy' ? 'iptables-legacy-save' : 'iptables-save', '-c', '-t', 'filter']).split('\n');
    const packets = (text: string) => Number(/^\[(\d+):/.exec(save.find((l) => l.includes(text))!)![1]);
    return { cap: packets(SYN_FLOOD_RULE), opening: packets('"lab/syn/Web" -j ACCEPT') };
  };

  const flood = (): Flood =>
    JSON.parse(lab.exec(client, [PYTHON, '-c', FLOOD, HOST, String(PORT), String(SYNS), SOURCES.join(',')], { timeoutMs: 30_000 }));

  /** Floods, checks the kernel's own counts agree with what the client saw, and returns the answer counts. */
  function floodAndCount(variant: Variant): { synAck: number; reset: number; silent: number; elapsedMs: number } {
    const before = inSegs();
    const result = flood();
    const count = (flags: string) => result.answers.filter((a) => a === flags).length;
    const synAck = count('SA');
    const reset = count('RA');
    const silent = count('');
    expect(synAck + reset + silent).toBe(SYNS);
    // every SYN that got through made a conntrack entry, reached TCP, and the client's
    // reset to its SYN-ACK did too; the others never reached TCP
    expect(tracked()).toBe(synAck);
    expect(inSegs() - before).toBe(2 * synAck);
    const counters = ruleCounters(variant);
    if (counters) expect(counters).toEqual({ cap: SYNS - synAck, opening: synAck });
    // every source was capped: a per-source limit (burst 10 each, 15 SYNs each) would have let 40 through
    for (const source of SOURCES) {
      const mine = result.answers.filter((_, i) => result.sources[i] === source);
      expect([source, mine.length, mine.filter((a) => a !== 'SA').length > 0]).toEqual([source, SYNS / SOURCES.length, true]);
    }
    console.log(`${variant}: ${SYNS} SYNs from ${SOURCES.length} sources in ${result.elapsedMs.toFixed(1)} ms: ${synAck} SYN-ACK, ${reset} reset, ${silent} no answer`);
    return { synAck, reset, silent, elapsedMs: result.elapsedMs };
  }

  /** After the tokens refill, an ordinary connection succeeds. */
  function refills(): void {
    spawnSync('sleep', ['2']);
    expect(lab.tcpProbe(client, HOST, PORT)).toBe('open');
  }

  test.each(VARIANTS)('%s: SYNs from several sources beyond the cap get no answer, and the cap refills', (variant) => {
    loadRuleset(lab, host, ruleset(), variant);
    const r = floodAndCount(variant);
    expect(r.synAck).toBeGreaterThanOrEqual(8);
    expect(r.synAck).toBeLessThanOrEqual(20);
    expect(r.reset).toBe(0);
    expect(r.silent).toBeGreaterThanOrEqual(35);
    refills();
  });

  test.each(VARIANTS)('%s: with REJECT, SYNs beyond the cap get a reset', (variant) => {
    loadRuleset(lab, host, ruleset(OverLimitAction.REJECT), variant);
    const r = floodAndCount(variant);
    expect(r.synAck).toBeGreaterThanOrEqual(8);
    expect(r.synAck).toBeLessThanOrEqual(20);
    expect(r.reset).toBeGreaterThanOrEqual(35);
    expect(r.silent).toBe(0);
    refills();
  });

  test.each(VARIANTS)('%s: one cap for all the declaration\'s ports, even where nftables gives each port its own chain', (variant) => {
    // an admin opening on one of the ports makes the nftables layout split the ports into chains of their own
    const r = CompiledRuleset.compile({
      name: 'syn',
      origin: 'lab/syn',
      allowances: [
        { origin: 'lab/syn/Web', ports: [Port.tcp(PORT), Port.tcp(PORT2)], peers: [Peer.ipv4('10.90.0.0/24')], limits: { synFloodLimit: CAP } },
        { origin: 'lab/syn/Admin', ports: [Port.tcp(PORT2)], peers: [Peer.ipv4('10.91.0.0/24')] },
      ],
    });
    if (variant === 'nftables') expect(r.toNftables().match(/limit name "sfw-s4-/g)!.length).toBeGreaterThan(1);
    loadRuleset(lab, host, r, variant);
    const result: Flood = JSON.parse(lab.exec(client, [PYTHON, '-c', FLOOD, HOST, `${PORT},${PORT2}`, String(SYNS), SOURCES.join(',')], { timeoutMs: 30_000 }));
    const synAck = result.answers.filter((a) => a === 'SA').length;
    console.log(`${variant}: ${SYNS} SYNs to ports ${PORT} and ${PORT2}: ${synAck} SYN-ACK`);
    // one bucket of 10 (+5/s): two buckets would answer about 20
    expect(synAck).toBeGreaterThanOrEqual(8);
    expect(synAck).toBeLessThanOrEqual(15);
    spawnSync('sleep', ['2']);
  });

  test('the simulator agrees: under the cap accepted, over it the over-limit action of the cap rule', () => {
    for (const [action, verdict] of [[undefined, Verdict.DROP], [OverLimitAction.REJECT, Verdict.REJECT]] as const) {
      const r = ruleset(action);
      const under = r.simulate(Packet.tcp({ from: '10.90.0.3', port: PORT }));
      expect([under.verdict, under.origins]).toEqual([Verdict.ACCEPT, ['lab/syn/Web']]);
      const over = r.simulate(Packet.tcp({ from: '10.90.0.3', port: PORT, overRateLimit: true }));
      expect([over.verdict, over.rule?.comment, over.origins]).toEqual([verdict, 'over the syn-flood cap', ['lab/syn/Web']]);
    }
  });
});
