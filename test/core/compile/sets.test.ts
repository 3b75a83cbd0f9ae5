import { CompiledRuleset, IpFamily, Peer, Port, RulesetModel, SetKind } from '../../../src/core';
import {
  addressIpsetType, DEFAULT_SET_THRESHOLD, ipsetElements, ipsetSizing, IPSET_NAME_MAX, setLabel, setName, splitRangeToCidrs,
} from '../../../src/core/compile/sets';

/** `n` IPv4 addresses that never merge (every other address). */
function admins(n: number, base = 10 << 24): Peer[] {
  return Array.from({ length: n }, (_, i) => {
    const v = base + 2 * i;
    return Peer.ipv4([24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.'));
  });
}

function compile(peers: Peer[], setThreshold?: number, ports = [Port.SSH]): RulesetModel {
  return CompiledRuleset.compile({ name: 'h', origin: 'app/h', setThreshold, allowances: [{ origin: 'app/h/Admins', ports, peers }] }).model;
}

function opening(model: RulesetModel) {
  return model.tables[0].chains[0].rules.find((r) => r.origins.includes('app/h/Admins'))!;
}

describe('set threshold', () => {
  test(`up to ${DEFAULT_SET_THRESHOLD} elements stay in the rule, more become a set`, () => {
    const at = compile(admins(DEFAULT_SET_THRESHOLD));
    expect(opening(at).match.source!.elements).toHaveLength(DEFAULT_SET_THRESHOLD);
    expect(at.sets).toBeUndefined();
    const above = compile(admins(DEFAULT_SET_THRESHOLD + 1));
    expect(opening(above).match.source).toEqual({ set: above.sets![0].name });
    expect(above.sets![0]).toMatchObject({ kind: SetKind.ADDRESS, family: IpFamily.IPV4, ipsetType: 'hash:ip', origins: ['app/h/Admins'] });
    expect(above.sets![0].elements).toHaveLength(DEFAULT_SET_THRESHOLD + 1);
  });

  test('counts elements after merging: adjacent addresses are one range', () => {
    const adjacent = Array.from({ length: 20 }, (_, i) => Peer.ipv4(`192.0.2.${i + 1}`));
    expect(opening(compile(adjacent)).match.source!.elements).toEqual(['192.0.2.1-192.0.2.20']);
  });

  test('0 puts every restricted list in a set; Infinity never uses sets; open-to-all needs none', () => {
    expect(opening(compile(admins(1), 0)).match.source!.set).toBeDefined();
    expect(compile(admins(100), Infinity).sets).toBeUndefined();
    expect(compile([Peer.any()], 0).sets).toBeUndefined();
  });

  test('a threshold that is not a whole number is refused with the host\'s origin', () => {
    expect(() => compile(admins(1), -1)).toThrow('app/h: setThreshold -1 is not usable');
    expect(() => compile(admins(1), 2.5)).toThrow('app/h: setThreshold 2.5 is not usable');
  });

  test('each family gets its own set; rules with the same peers share one', () => {
    const model = CompiledRuleset.compile({
      name: 'h',
      allowances: [
        { origin: 'a/Ssh', ports: [Port.SSH], peers: [...admins(10), Peer.ipv6('2001:db8::/64')] },
        { origin: 'a/Dns', ports: [Port.DNS_UDP], peers: [...admins(10), Peer.ipv6('2001:db8::/64')] },
      ],
      setThreshold: 0,
    }).model;
    expect(model.sets!.map((s) => [s.family, s.ipsetType, s.origins])).toEqual(expect.arrayContaining([
      [IpFamily.IPV4, 'hash:ip', ['a/Dns', 'a/Ssh']],
      [IpFamily.IPV6, 'hash:net', ['a/Dns', 'a/Ssh']],
    ]));
    expect(model.sets).toHaveLength(2);
  });

  test('long port lists that multiport cannot hold in one rule become a port set', () => {
    const many = Array.from({ length: 100 }, (_, i) => Port.tcp(8000 + i * 2));
    const model = compile(admins(2), undefined, many);
    const rule = opening(model);
    expect(rule.match.destinationPorts).toBeUndefined();
    expect(model.sets!.find((s) => s.name === rule.match.destinationPortSet)).toMatchObject({ kind: SetKind.PORT, ipsetType: 'bitmap:port' });
    // 15 ports fit one multiport rule: no set
    expect(opening(compile(admins(2), undefined, many.slice(0, 15))).match.destinationPortSet).toBeUndefined();
  });
});

describe('set names', () => {
  test('sfw-, family and type, a label, a hash; at most 31 characters', () => {
    const name = setName(SetKind.ADDRESS, IpFamily.IPV4, 'hash:ip', ['stack/web/Webmasters']);
    expect(name).toMatch(/^sfw-4i-Webmasters-[0-9a-f]{6}$/);
    expect(setName(SetKind.ADDRESS, IpFamily.IPV6, 'hash:net', ['x'])).toMatch(/^sfw-6n-x-/);
    expect(setName(SetKind.PORT, undefined, 'bitmap:port', ['x'])).toMatch(/^sfw-p-x-/);
    const long = setName(SetKind.ADDRESS, IpFamily.IPV6, 'hash:net', ['stack/a-very-long-construct-id-with-dashes.and.dots']);
    expect(long.length).toBeLessThanOrEqual(IPSET_NAME_MAX);
    expect(long).toMatch(/^sfw-6n-a_very_long_cons-[0-9a-f]{6}$/);
    expect(setLabel('stack/web/')).toBe('web');
  });

  test('deterministic, and stable when a declaration gains an address', () => {
    const a = compile(admins(20)).sets![0].name;
    expect(compile(admins(20)).sets![0].name).toBe(a);
    expect(compile(admins(21)).sets![0].name).toBe(a);
  });

  test('a new type is a new name (an ipset cannot change type in place)', () => {
    const ips = compile(admins(20)).sets![0];
    const nets = compile([...admins(20), Peer.ipv4('198.51.100.0/24')]).sets![0];
    expect(ips.ipsetType).toBe('hash:ip');
    expect(nets.ipsetType).toBe('hash:net');
    expect(nets.name).not.toBe(ips.name);
  });

  test('different declarations give different names; a clash of hashes is resolved deterministically', () => {
    const model = CompiledRuleset.compile({
      name: 'h',
      setThreshold: 0,
      allowances: [
        { origin: 'a/One', ports: [Port.SSH], peers: admins(3) },
        { origin: 'a/Two', ports: [Port.HTTP], peers: admins(3, 11 << 24) },
      ],
    }).model;
    const names = model.sets!.map((s) => s.name);
    expect(new Set(names).size).toBe(2);
    expect(setName(SetKind.ADDRESS, IpFamily.IPV4, 'hash:ip', ['a'], 1)).not.toBe(setName(SetKind.ADDRESS, IpFamily.IPV4, 'hash:ip', ['a']));
  });
});

describe('ipset sizing and elements', () => {
  test('hashsize: a power of two, at least 64, about two elements per bucket; maxelem: room to grow', () => {
    expect(ipsetSizing(1)).toEqual({ hashSize: 64, maxElements: 65536 });
    expect(ipsetSizing(200)).toEqual({ hashSize: 128, maxElements: 65536 });
    expect(ipsetSizing(10000)).toEqual({ hashSize: 8192, maxElements: 65536 });
    expect(ipsetSizing(100000)).toEqual({ hashSize: 65536, maxElements: 262144 });
  });

  test('hash:ip for single addresses, hash:net as soon as a block or range is in the list', () => {
    const one = (first: bigint, last: bigint) => ({ family: IpFamily.IPV4, first, last });
    expect(addressIpsetType([one(1n, 1n), one(5n, 5n)])).toBe('hash:ip');
    expect(addressIpsetType([one(1n, 1n), one(4n, 7n)])).toBe('hash:net');
  });

  test('ranges that are not CIDRs are split into the fewest CIDRs; single addresses print bare', () => {
    expect(splitRangeToCidrs('10.9.8.7-10.9.8.10', IpFamily.IPV4)).toEqual(['10.9.8.7/32', '10.9.8.8/31', '10.9.8.10/32']);
    expect(splitRangeToCidrs('2001:db8::5-2001:db8::9', IpFamily.IPV6)).toEqual(['2001:db8::5/128', '2001:db8::6/127', '2001:db8::8/127']);
    expect(() => splitRangeToCidrs('10.0.0.1-2001:db8::1', IpFamily.IPV4)).toThrow();
    expect(ipsetElements({ kind: SetKind.ADDRESS, family: IpFamily.IPV4, ipsetType: 'hash:net', elements: ['10.0.0.0/8', '10.9.8.7-10.9.8.10', '192.0.2.1/32'] }))
      .toEqual(['10.0.0.0/8', '10.9.8.7', '10.9.8.8/31', '10.9.8.10', '192.0.2.1']);
    expect(ipsetElements({ kind: SetKind.ADDRESS, family: IpFamily.IPV6, ipsetType: 'hash:ip', elements: ['2001:db8::1/128'] })).toEqual(['2001:db8::1']);
    expect(ipsetElements({ kind: SetKind.PORT, ipsetType: 'bitmap:port', elements: ['22', '6000-6002'] })).toEqual(['22', '6000', '6001', '6002']);
  });
});
