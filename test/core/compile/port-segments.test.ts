import { groupPorts, PortDeclaration, PortGroup } from '../../../src/core/compile/port-segments';
import { AddressRange, rangesKey, unionRanges } from '../../../src/core/net/address-range';
import { parseIpv4 } from '../../../src/core/net/ip';
import { IpFamily } from '../../../src/core/values/family';
import { rng } from '../../support/random-policy';

const a: AddressRange = { family: IpFamily.IPV4, first: parseIpv4('192.0.2.1')!, last: parseIpv4('192.0.2.1')! };
const b: AddressRange = { family: IpFamily.IPV4, first: parseIpv4('192.0.2.2')!, last: parseIpv4('192.0.2.2')! };

describe('groupPorts', () => {
  test('ports with the same peers share one group', () => {
    const groups = groupPorts([
      { ports: { from: 443, to: 443 }, ranges: [a], origin: 'x' },
      { ports: { from: 80, to: 80 }, ranges: [a], origin: 'y' },
    ]);
    expect(groups).toEqual([{ ports: [{ from: 80, to: 80 }, { from: 443, to: 443 }], ranges: [a], origins: ['x', 'y'] }]);
  });

  test('adjacent and overlapping ranges join', () => {
    const groups = groupPorts([
      { ports: { from: 6000, to: 6005 }, ranges: [a], origin: 'x' },
      { ports: { from: 6006, to: 6010 }, ranges: [a], origin: 'x' },
      { ports: { from: 6003, to: 6008 }, ranges: [a], origin: 'x' },
    ]);
    expect(groups.map((g) => g.ports)).toEqual([[{ from: 6000, to: 6010 }]]);
  });

  test('a port inside a range opened to more peers is split out', () => {
    const groups = groupPorts([
      { ports: { from: 6000, to: 6010 }, ranges: [a], origin: 'x' },
      { ports: { from: 6005, to: 6005 }, ranges: [b], origin: 'y' },
    ]);
    expect(groups).toEqual([
      { ports: [{ from: 6000, to: 6004 }, { from: 6006, to: 6010 }], ranges: [a], origins: ['x'] },
      { ports: [{ from: 6005, to: 6005 }], ranges: [{ family: IpFamily.IPV4, first: a.first, last: b.last }], origins: ['x', 'y'] },
    ]);
  });

  test('repeated declarations never add groups', () => {
    const decl = { ports: { from: 22, to: 22 }, ranges: [a], origin: 'x' };
    expect(groupPorts([decl, decl, decl])).toHaveLength(1);
  });

  test('65,535 single ports to the same peers are one range, from every origin', () => {
    const declarations = Array.from({ length: 65535 }, (_, i) => ({ ports: { from: 65535 - i, to: 65535 - i }, ranges: [a], origin: `s${i % 3}` }));
    expect(groupPorts(declarations)).toEqual([{ ports: [{ from: 1, to: 65535 }], ranges: [a], origins: ['s0', 's1', 's2'] }]);
  });

  test('every other port of 65,535 stays its own range, in order', () => {
    const declarations = Array.from({ length: 32768 }, (_, i) => ({ ports: { from: 2 * i + 1, to: 2 * i + 1 }, ranges: [b], origin: 'x' }));
    const [group, ...rest] = groupPorts(declarations);
    expect(rest).toEqual([]);
    expect(group.ports).toHaveLength(32768);
    expect(group.ports.every((p, i) => p.from === 2 * i + 1 && p.to === p.from)).toBe(true);
  });

  // the specification, port by port: each port gets the union of the peers of the declarations
  // covering it; ports with the same peers form a group (runs joined), first port first
  function portByPort(declarations: readonly PortDeclaration[]): PortGroup[] {
    const groups = new Map<string, PortGroup>();
    for (let port = 1; port <= 64; port++) {
      const covering = declarations.filter((d) => d.ports.from <= port && port <= d.ports.to);
      if (covering.length === 0) continue;
      const ranges = unionRanges(covering.flatMap((d) => d.ranges));
      const key = rangesKey(ranges);
      const group = groups.get(key) ?? { ports: [], ranges, origins: [] as string[] };
      groups.set(key, group);
      const last = group.ports[group.ports.length - 1];
      if (last && last.to + 1 === port) group.ports[group.ports.length - 1] = { from: last.from, to: port };
      else group.ports.push({ from: port, to: port });
      group.origins.push(...covering.map((d) => d.origin));
    }
    return [...groups.values()].map((g) => ({ ...g, origins: [...new Set(g.origins)].sort() }));
  }

  const peerLists: AddressRange[][] = [[a], [b], [a, b], [{ family: IpFamily.IPV4, first: a.first, last: a.first + 9n }]];
  test.each(Array.from({ length: 200 }, (_, seed) => [seed]))('random declarations (seed %i) group as port by port', (seed) => {
    const r = rng(seed);
    const declarations = Array.from({ length: 1 + Math.floor(r() * 12) }, (_, i) => {
      const from = 1 + Math.floor(r() * 60);
      const to = Math.min(64, from + (r() < 0.5 ? 0 : Math.floor(r() * 10)));
      return { ports: { from, to }, ranges: peerLists[Math.floor(r() * peerLists.length)], origin: `d${i % 5}` };
    });
    expect(groupPorts(declarations)).toEqual(portByPort(declarations));
  });
});
