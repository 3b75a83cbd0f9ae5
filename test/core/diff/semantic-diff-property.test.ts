// Property: for random policies mixing the features and a random edit of each, a random
// packet's verdict (simulator, old vs new ruleset, as deployed by each side's backend)
// changes if and only if the packet falls in a row of the semantic diff, and then with the
// row's verdicts. Packets are drawn at the edges of every rule element and anywhere in the
// space, in both directions, all protocols, and all four limit cases.
import { randomEdit, randomFeaturePolicy } from './random-pair';
import { Backend, CompiledRuleset, IpFamily, Packet } from '../../../src/core';
import { allSlices, DiffHost, DiffRow, deployedModel, packetAt, semanticDiff, simulatedVerdict } from '../../../src/core/diff/semantic-diff';
import { cutsOf, hasPorts, portAxisMax } from '../../../src/core/diff/traffic-space';
import { familyMax, parseIp } from '../../../src/core/net/ip';
import { rng } from '../../support/random-policy';

const PAIRS = Number(process.env.SFW_DIFF_PAIRS ?? 60);
const PACKETS = Number(process.env.SFW_DIFF_PACKETS ?? 400);

function inRow(row: DiffRow, packet: Packet): boolean {
  if (row.family !== packet.family || row.direction !== packet.direction) return false;
  if (row.protocol !== packet.protocol || row.state !== packet.state) return false;
  const peer = parseIp(packet.direction === 'inbound' ? packet.source : packet.destination!)!.value;
  const port = hasPorts(packet.protocol) ? packet.destinationPort! : packet.icmpType!;
  return row.peers.some((r) => r.first <= peer && peer <= r.last) && row.ports.some((p) => p.from <= port && port <= p.to);
}

test(`diff rows are exactly the packets whose simulated verdict changes (${PAIRS} random pairs x ${PACKETS} packets)`, () => {
  let packets = 0;
  let changed = 0;
  let agree = 0;
  let refactors = 0;
  let skipped = 0;
  const failures: string[] = [];
  for (let seed = 1; seed <= PAIRS; seed++) {
    const oldPolicy = randomFeaturePolicy(seed);
    const edit = randomEdit(oldPolicy, seed);
    const r = rng(seed * 7919);
    const backends = [r() < 0.5 ? Backend.IPTABLES : Backend.NFTABLES, r() < 0.5 ? Backend.IPTABLES : Backend.NFTABLES];
    let oldRuleset: CompiledRuleset;
    let newRuleset: CompiledRuleset;
    try {
      oldRuleset = CompiledRuleset.compile(oldPolicy);
      newRuleset = CompiledRuleset.compile(edit.policy);
    } catch {
      skipped++; // a random combination the policy validation refuses
      continue;
    }
    const hosts: DiffHost[] = [oldRuleset, newRuleset].map((rs, i) => ({ stack: 's', hostName: 'host', path: 's/host', backend: backends[i], model: rs.model }));
    const diff = semanticDiff([hosts[0]], [hosts[1]]);
    const rows = diff.changed.flatMap((h) => h.rows);
    if (edit.refactor) {
      refactors++;
      if (rows.length > 0) failures.push(`seed ${seed}: refactor '${edit.what}' reports ${rows.length} rows`);
    }
    const slices = allSlices();
    for (let n = 0; n < PACKETS; n++) {
      const slice = slices[Math.floor(r() * slices.length)];
      const cuts = cutsOf([deployedModel(hosts[0], slice.family), deployedModel(hosts[1], slice.family)], slice);
      const amax = familyMax(slice.family);
      let peer: bigint;
      if (r() < 0.6) {
        const c = cuts.addressCuts[Math.floor(r() * cuts.addressCuts.length)];
        peer = r() < 0.5 || c === 0n ? c : c - 1n;
      } else {
        peer = slice.family === IpFamily.IPV4
          ? BigInt(Math.floor(r() * 2 ** 32))
          : (BigInt(Math.floor(r() * 2 ** 48)) << 80n) | BigInt(Math.floor(r() * 2 ** 40));
      }
      if (peer > amax) peer = amax;
      const pmax = portAxisMax(slice.protocol);
      let port: number;
      if (r() < 0.6) {
        const c = cuts.portCuts[Math.floor(r() * cuts.portCuts.length)];
        port = r() < 0.5 || c === 0 ? c : c - 1;
      } else {
        port = Math.floor(r() * (pmax + 1));
      }
      const limitCase = Math.floor(r() * 4);
      const packet = packetAt(slice, peer, port, limitCase);
      const before = simulatedVerdict(oldRuleset, backends[0], packet);
      const after = simulatedVerdict(newRuleset, backends[1], packet);
      const hit = rows.filter((row) => inRow(row, packet) && row.beforeByLimits[limitCase] !== row.afterByLimits[limitCase]);
      packets++;
      const differs = before !== after;
      if (differs) changed++;
      const ok = differs
        ? hit.length === 1 && hit[0].beforeByLimits[limitCase] === before && hit[0].afterByLimits[limitCase] === after
        : hit.length === 0;
      if (ok) agree++;
      else if (failures.length < 10) failures.push(`seed ${seed} (${edit.what}; ${backends.join(' -> ')}): ${packet} limit case ${limitCase}: simulator ${before} -> ${after}, rows ${hit.length}`);
    }
  }
  // the agreement, for the report
  console.log(`semantic diff vs simulator: ${agree}/${packets} random packets agree (${changed} changed verdict); ${refactors} refactors; ${skipped} invalid random policies skipped`);
  expect(failures).toEqual([]);
  expect(agree).toBe(packets);
  expect(changed).toBeGreaterThan(packets / 50); // the edits do change traffic the packets reach
  expect(refactors).toBeGreaterThan(0);
});
