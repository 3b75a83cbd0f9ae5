import { IpFamily, Peer } from '../../../src/core';

describe('Peer', () => {
  test('single addresses and CIDRs', () => {
    expect(Peer.ipv4('10.9.8.7').elements).toEqual(['10.9.8.7/32']);
    expect(Peer.ipv4('10.0.0.0/8').elements).toEqual(['10.0.0.0/8']);
    expect(Peer.ipv6('2001:db8::/32').elements).toEqual(['2001:db8::/32']);
    expect(Peer.ipv6('2001:DB8::1').elements).toEqual(['2001:db8::1/128']);
  });

  test('ranges print as CIDR when they are one', () => {
    expect(Peer.ipv4Range('10.9.8.7', '10.9.8.10').elements).toEqual(['10.9.8.7-10.9.8.10']);
    expect(Peer.ipv4Range('192.0.2.0', '192.0.2.255').elements).toEqual(['192.0.2.0/24']);
    expect(Peer.ipv6Range('2001:db8::1', '2001:db8::9').elements).toEqual(['2001:db8::1-2001:db8::9']);
  });

  test('any', () => {
    expect(Peer.anyIpv4().families).toEqual([IpFamily.IPV4]);
    expect(Peer.anyIpv6().families).toEqual([IpFamily.IPV6]);
    expect(Peer.any().families).toEqual([IpFamily.IPV4, IpFamily.IPV6]);
    expect(Peer.any().elements).toEqual(['0.0.0.0/0', '::/0']);
    expect(Peer.any().toString()).toBe('any');
  });

  test('anyOf', () => {
    const p = Peer.anyOf(Peer.ipv4('192.0.2.1'), Peer.ipv6('2001:db8::1'));
    expect(p.families).toEqual([IpFamily.IPV4, IpFamily.IPV6]);
    expect(p.toString()).toBe('192.0.2.1, 2001:db8::1');
    expect(Peer.anyOf().problem).toBe('Peer.anyOf() needs at least one peer');
    expect(Peer.anyOf(Peer.ipv4('10.0.0.1/8')).problem).toBe("'10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?");
  });

  test.each([
    [() => Peer.ipv4('10.0.0.1/8'), "'10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"],
    [() => Peer.ipv6('2001:db8::1/32'), "'2001:db8::1/32' has host bits set: did you mean 2001:db8::/32?"],
    [() => Peer.ipv4('10.0.0.0/33'), "'10.0.0.0/33' has an invalid prefix length: use /0 to /32"],
    [() => Peer.ipv4('10.0.0.256'), "'10.0.0.256' is not a valid ipv4 address or cidr: write e.g. '10.9.8.7' or '10.0.0.0/8'"],
    [() => Peer.ipv4('2001:db8::1'), "'2001:db8::1' is an ipv6 address: use Peer.ipv6('2001:db8::1')"],
    [() => Peer.ipv6('192.0.2.1'), "'192.0.2.1' is an ipv4 address: use Peer.ipv4('192.0.2.1')"],
    [() => Peer.ipv4Range('10.9.8.10', '10.9.8.7'), 'address range 10.9.8.10-10.9.8.7 is inverted: write it as 10.9.8.7-10.9.8.10'],
    [() => Peer.ipv4Range('10.9.8.1', '2001:db8::1'), "'2001:db8::1' is an ipv6 address: use Peer.ipv6Range(...)"],
    [() => Peer.ipv6Range('2001:db8::1', 'x'), "'x' is not a valid ipv6 address"],
    [() => Peer.ipv4('10.0.0.0/8/8'), "'10.0.0.0/8/8' is not a valid ipv4 address or cidr: write e.g. '10.9.8.7' or '10.0.0.0/8'"],
  ])('reports bad input as a problem %#', (make, message) => {
    const peer = make();
    expect(peer.problem).toBe(message);
    expect(peer.families).toEqual([]);
  });
});
