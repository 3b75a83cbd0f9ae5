import { Allowance, HostFacts, IpFamily, Ipv6WiderThanIpv4, Port, RedundantDeclaration } from '../../src';
import { PortCoverIndex, portCovers } from '../../src/checks/port-cover-index';
import { familyRanges, opensToWorld, rangesContained } from '../../src/checks/port-coverage';
import { coveringOrigins } from '../../src/checks/rules/redundant-declaration';
import { ALL_FAMILIES } from '../../src/core/values/family';
import { randomPeer, rng } from '../support/random-policy';

// The sweep-based checks against the pairwise versions they replaced, on seeded random
// policies: small port spaces and few peers, so that covering, repeats and IPv6-wider
// cases occur often.

function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

function randomPort(r: () => number): Port {
  switch (int(r, 0, 9)) {
    case 0: return Port.icmpType(int(r, 0, 2));
    case 1: return Port.icmpTypeAndCode(int(r, 0, 2), int(r, 0, 1));
    case 2: return Port.icmpv6Type(int(r, 128, 129));
    case 3: return Port.allTcp();
    case 4: {
      const from = int(r, 1, 30);
      return Port.udpRange(from, from + int(r, 0, 8));
    }
    case 5: case 6: {
      const from = int(r, 1, 30);
      return Port.tcpRange(from, from + int(r, 0, 8));
    }
    default: return Port.tcp(int(r, 1, 40));
  }
}

function randomAllowances(r: () => number, count: number): Allowance[] {
  return Array.from({ length: count }, (_, i) => ({
    origin: `stack/host/D${i}`,
    ports: Array.from({ length: int(r, 1, 4) }, () => randomPort(r)),
    peers: Array.from({ length: int(r, 1, 2) }, () => randomPeer(r)),
    notrack: r() < 0.1 ? true : undefined,
  }));
}

function facts(allowances: Allowance[]): HostFacts {
  return { path: 'stack/host', allowances, adminAccessPaths: [], deploys: false, sshPort: 22, families: [...ALL_FAMILIES] };
}

/** The pairwise reference: every port of `a` against every port of every other. */
function referenceCoveringOrigins(a: Allowance, others: readonly Allowance[]): string[] | undefined {
  const by = new Set<string>();
  for (const port of a.ports) {
    const openers = others.filter((o) => o.ports.some((p) => portCovers(p, port)));
    for (const family of ALL_FAMILIES) {
      const mine = familyRanges([a], family);
      if (mine.length === 0) continue;
      if (!rangesContained(mine, familyRanges(openers, family))) return undefined;
    }
    openers.forEach((o) => by.add(o.origin));
  }
  return [...by].sort();
}

function referenceRedundant(allowances: Allowance[]): string[] {
  const treated = (a: Allowance) => a.limits !== undefined || a.helper !== undefined || a.notrack === true;
  const key = (a: Allowance) => `${a.ports.map(String).sort().join(',')}|${a.peers.flatMap((p) => p.elements).sort().join(',')}`;
  const found: string[] = [];
  const keys = allowances.map(key);
  allowances.forEach((a, i) => {
    if (treated(a) || keys.some((k, j) => j !== i && k === keys[i])) return;
    const by = referenceCoveringOrigins(a, allowances.filter((o, j) => j !== i && !treated(o)));
    if (by) found.push(`${a.origin} opens nothing that ${by.join(', ')} do not already open (${a.ports.join(', ')} from ${a.peers.join(', ')}): remove it, or narrow the wider declaration`);
  });
  return found;
}

function referenceIpv6Wider(allowances: Allowance[]): string[] {
  const found: string[] = [];
  const ports = new Map<string, { protocol: string; from: number; to: number }>();
  for (const a of allowances) {
    for (const p of a.ports) if (p.fromPort !== undefined) ports.set(p.toString(), { protocol: p.protocol, from: p.fromPort, to: p.toPort! });
  }
  for (const [label, port] of [...ports.entries()].sort()) {
    const openers = allowances.filter((a) => a.ports.some((p) => p.protocol === port.protocol && p.fromPort! <= port.from && port.to <= p.toPort!));
    const v4 = familyRanges(openers, IpFamily.IPV4);
    const v6 = familyRanges(openers, IpFamily.IPV6);
    if (opensToWorld(v6, IpFamily.IPV6) && v4.length > 0 && !opensToWorld(v4, IpFamily.IPV4)) {
      found.push(`${label} is restricted on IPv4 but open to any IPv6 address (${openers.map((a) => a.origin).join(', ')}): give IPv6 the same peers`);
    }
  }
  return found;
}

const SEEDS = Array.from({ length: 60 }, (_, i) => i + 1);

describe('PortCoverIndex', () => {
  test.each(SEEDS)('seed %i: the owners covering each port are those a pairwise comparison finds', (seed) => {
    const r = rng(seed);
    const owners = Array.from({ length: int(r, 0, 12) }, () => ({ ports: Array.from({ length: int(r, 0, 5) }, () => randomPort(r)) }));
    const queries = Array.from({ length: 40 }, () => randomPort(r));
    const expected = queries.map((q) => owners.flatMap((o, i) => (o.ports.some((p) => portCovers(p, q)) ? [i] : [])));
    expect(new PortCoverIndex(owners).coverers(queries)).toEqual(expected);
  });
});

describe('checks built on the index agree with their pairwise versions', () => {
  const totals = { redundant: 0, wider: 0, covered: 0 };
  afterAll(() => {
    // the random policies must exercise every finding, or the comparison proves little
    expect(totals.redundant).toBeGreaterThan(20);
    expect(totals.wider).toBeGreaterThan(5);
    expect(totals.covered).toBeGreaterThan(20);
  });

  test.each(SEEDS)('seed %i', (seed) => {
    const r = rng(seed * 7919);
    const allowances = randomAllowances(r, int(r, 2, 14));
    const redundant = new RedundantDeclaration().check(facts(allowances));
    expect(redundant).toEqual(referenceRedundant(allowances));
    const wider = new Ipv6WiderThanIpv4().check(facts(allowances));
    expect(wider).toEqual(referenceIpv6Wider(allowances));
    for (const a of allowances) {
      const others = allowances.filter((o) => o !== a);
      const by = coveringOrigins(a, others);
      expect(by).toEqual(referenceCoveringOrigins(a, others));
      if (by && by.length > 0) totals.covered++;
    }
    totals.redundant += redundant.length;
    totals.wider += wider.length;
  });
});
