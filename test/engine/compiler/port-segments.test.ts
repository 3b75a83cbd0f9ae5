import { AddressRange } from '../../../src/engine/address/address-range';
import { parseIpv4 } from '../../../src/engine/address/ip';
import { groupPorts } from '../../../src/engine/compiler/port-segments';
import { IpFamily } from '../../../src/engine/family';

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
});
