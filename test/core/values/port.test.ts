import { IpFamily, Port, Protocol } from '../../../src/core';

describe('Port', () => {
  test('factories', () => {
    expect(Port.tcp(22).toString()).toBe('tcp/22');
    expect(Port.udp(53).toString()).toBe('udp/53');
    expect(Port.tcpRange(6000, 6010).toString()).toBe('tcp/6000-6010');
    expect(Port.udpRange(60000, 61000)).toMatchObject({ protocol: Protocol.UDP, fromPort: 60000, toPort: 61000 });
    expect(Port.allTcp()).toMatchObject({ fromPort: 1, toPort: 65535 });
    expect(Port.allUdp()).toMatchObject({ protocol: Protocol.UDP, fromPort: 1, toPort: 65535 });
    expect(Port.icmpPing().toString()).toBe('icmp/8');
    expect(Port.icmpTypeAndCode(3, 4).toString()).toBe('icmp/3/4');
    expect(Port.icmpv6Ping().toString()).toBe('icmpv6/128');
    expect(Port.icmpv6TypeAndCode(1, 4).toString()).toBe('icmpv6/1/4');
  });

  test('constants', () => {
    expect(Port.SSH.toString()).toBe('tcp/22');
    expect(Port.HTTP.toString()).toBe('tcp/80');
    expect(Port.HTTPS.toString()).toBe('tcp/443');
    expect(Port.DNS_UDP.toString()).toBe('udp/53');
    expect(Port.NTP.toString()).toBe('udp/123');
    expect(Port.POSTGRES.toString()).toBe('tcp/5432');
  });

  test('families', () => {
    expect(Port.tcp(1).family).toBeUndefined();
    expect(Port.icmpPing().family).toBe(IpFamily.IPV4);
    expect(Port.icmpv6Ping().family).toBe(IpFamily.IPV6);
    expect(Port.icmpPing().isIcmp).toBe(true);
    expect(Port.tcp(1).isIcmp).toBe(false);
  });

  test.each([
    [() => Port.tcp(0), 'tcp port 0 is out of range: use a port between 1 and 65535'],
    [() => Port.udp(65536), 'udp port 65536 is out of range: use a port between 1 and 65535'],
    [() => Port.tcp(22.5), 'tcp port 22.5 is not an integer: use a whole port number between 1 and 65535'],
    [() => Port.tcpRange(6010, 6000), 'tcp port range 6010-6000 is inverted: write it as 6000-6010'],
    [() => Port.udpRange(1, 70000), 'udp port 70000 is out of range: use a port between 1 and 65535'],
    [() => Port.icmpType(256), 'icmp type 256 does not exist: use an assigned type, e.g. 8 (echo request) or 3 (destination unreachable)'],
    [() => Port.icmpType(7), 'icmp type 7 does not exist: use an assigned type, e.g. 8 (echo request) or 3 (destination unreachable)'],
    [() => Port.icmpv6TypeAndCode(1, -1), 'icmpv6 code -1 does not exist: codes are whole numbers between 0 and 255'],
    [() => Port.icmpv6Type(5), 'icmpv6 type 5 does not exist: use an assigned type, e.g. 128 (echo request) or 1 (destination unreachable)'],
  ])('bad input is reported as a problem, not thrown %#', (make, message) => {
    expect(make().problem).toBe(message);
  });

  test('good input has no problem', () => {
    const good = [Port.SSH, Port.tcpRange(1, 65535), Port.icmpTypeAndCode(3, 4), Port.icmpv6Type(135)];
    expect(good.map((p) => p.problem)).toEqual([undefined, undefined, undefined, undefined]);
  });
});
