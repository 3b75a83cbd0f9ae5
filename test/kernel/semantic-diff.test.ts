// The semantic diff against the kernel: policy pairs (the fixed ones of
// test/core/diff/semantic-diff.test.ts and random policies with a random edit), each row's
// inbound traffic probed with a real packet (a source inside the row) through the old
// ruleset and then the new one, loaded into a network namespace on iptables-nft, nftables
// and iptables-legacy in turn: the kernel must treat the packet as the row says, before
// and after (delivered to the host's stack or not, and the reply).
import { CompiledRuleset, IpFamily, Peer, Port } from '../../src/core';
import { DiffRow, semanticDiff, simulatedVerdict } from '../../src/core/diff/semantic-diff';
import { formatIp } from '../../src/core/net/ip';
import { HostPolicy } from '../../src/core/policy/host-policy';
import { Direction } from '../../src/core/simulate/direction';
import { BASE, host, ssh, web } from '../core/diff/pairs';
import { randomEdit } from '../core/diff/random-pair';
import {
  DifferentialLab, differentialLabSupported, expectedObservation, LOAD_BACKENDS, LoadBackend, observed, Probe, probePacket,
  simulatorBackend, usableSource,
} from '../support/differential-lab';
import { randomPolicy, randomPolicyWithSets } from '../support/random-policy';

jest.setTimeout(600_000);
const describeKernel = differentialLabSupported() ? describe : describe.skip;

const RANDOM_PAIRS = 12;
const MAX_ROWS_PER_PAIR = 8;

function pairs(): { name: string; old: HostPolicy; new: HostPolicy }[] {
  const deny = (cidr: string): HostPolicy => ({ ...BASE, denials: [{ origin: 'app/web/Block', peers: [Peer.ipv4(cidr)] }] });
  const fixed = [
    { name: 'widened CIDR', old: BASE, new: { ...BASE, allowances: [ssh([Peer.ipv4('10.0.0.0/8'), Peer.ipv6('2001:db8:1::/48')]), BASE.allowances[1]] } },
    { name: 'removed port', old: BASE, new: { ...BASE, allowances: [BASE.allowances[0], web([Port.tcp(443)])] } },
    { name: 'moved deny', old: deny('10.0.1.0/24'), new: deny('10.0.2.0/24') },
    { name: 'IPv6 widened', old: BASE, new: { ...BASE, allowances: [ssh([Peer.ipv4('10.0.0.0/16'), Peer.ipv6('2001:db8::/32')]), BASE.allowances[1]] } },
  ];
  const random = Array.from({ length: RANDOM_PAIRS }, (_, i) => {
    const seed = 100 + i;
    const old = (i % 2 === 0 ? randomPolicy : randomPolicyWithSets)(seed, 8);
    const edit = randomEdit(old, seed);
    return { name: `random seed ${seed} (${edit.what})`, old, new: edit.policy };
  });
  return [...fixed, ...random];
}

/** A probe source inside the row: the example's, or another usable address of its ranges. */
function usablePeer(row: DiffRow): bigint | undefined {
  for (const r of row.peers) {
    for (const candidate of [r.first + 1n, r.first + 10n, r.first, r.last - 1n, (r.first + r.last) / 2n]) {
      if (candidate >= r.first && candidate <= r.last && usableSource(row.family, candidate)) return candidate;
    }
  }
  return undefined;
}

function probeFor(row: DiffRow, id: number): Probe | undefined {
  if (row.direction !== Direction.INBOUND) return undefined; // the lab sends to the host only
  if (row.beforeByLimits[0] === row.afterByLimits[0]) return undefined; // differs only over a limit
  const peer = usablePeer(row);
  if (peer === undefined) return undefined;
  const src = formatIp(row.family, peer);
  const port = row.ports[0].from === 0 && row.ports[0].to > 0 ? 1 : row.ports[0].from;
  if (row.protocol === 'tcp' || row.protocol === 'udp') return { id, proto: row.protocol, src, sport: 40000, dport: port, flags: row.protocol === 'tcp' ? 'S' : undefined };
  const echo = row.family === IpFamily.IPV4 ? 8 : 128;
  if (!row.ports.some((p) => p.from <= echo && echo <= p.to)) return undefined;
  return { id, proto: row.family === IpFamily.IPV4 ? 'icmp' : 'icmp6', src, type: echo, code: 0, icmpId: 0x5fd0 + id };
}

describeKernel('semantic diff rows agree with the kernel (old ruleset, then new)', () => {
  let lab: DifferentialLab | undefined;
  beforeAll(async () => {
    lab = await DifferentialLab.start({ tag: 'sdiff' });
  });
  afterAll(() => lab?.destroy());

  test('every probed row: the kernel sees the old and the new verdict the diff states', async () => {
    let rows = 0;
    let probed = 0;
    let agreed = 0;
    const failures: string[] = [];
    for (const [index, pair] of pairs().entries()) {
      const backends: LoadBackend[] = [LOAD_BACKENDS[index % 3], LOAD_BACKENDS[(index + 1) % 3]];
      const rulesets = [CompiledRuleset.compile(pair.old), CompiledRuleset.compile(pair.new)];
      const diff = semanticDiff(
        [{ ...host(pair.old), backend: simulatorBackend(backends[0]) }],
        [{ ...host(pair.new), backend: simulatorBackend(backends[1]) }],
      );
      const changed = diff.changed.flatMap((h) => h.rows);
      rows += changed.length;
      const probes = changed.map((row, i) => ({ row, probe: probeFor(row, index * 100 + i) }))
        .filter((p): p is { row: DiffRow; probe: Probe } => p.probe !== undefined)
        .slice(0, MAX_ROWS_PER_PAIR);
      if (probes.length === 0) continue;
      for (const side of [0, 1]) {
        lab!.load(rulesets[side], backends[side]);
        const results = await lab!.send(probes.map((p) => p.probe));
        probes.forEach(({ row, probe }, i) => {
          const packet = probePacket(probe);
          const sim = rulesets[side].simulate(packet, simulatorBackend(backends[side]));
          // the row's verdict for this packet is the simulator's (what the diff claims)...
          const claimed = side === 0 ? row.beforeByLimits[0] : row.afterByLimits[0];
          const simulated = simulatedVerdict(rulesets[side], simulatorBackend(backends[side]), packet);
          // ...and what the kernel does is what that verdict predicts
          const expected = expectedObservation(probe, sim);
          const seen = observed(results[i]);
          probed++;
          if (claimed === simulated && seen.delivered === expected.delivered && seen.reply === expected.reply) {
            agreed++;
          } else {
            failures.push(`${pair.name} on ${backends[side]}: ${packet} row says ${claimed}, simulator ${simulated}, kernel delivered=${seen.delivered} reply=${seen.reply}`);
          }
        });
      }
    }
    console.log(`semantic diff vs kernel: ${agreed}/${probed} probes agree (${probed / 2} rows probed of ${rows}, old and new ruleset each)`);
    expect(failures).toEqual([]);
    expect(probed).toBeGreaterThan(20);
  });
});
