import { formatIpv4, formatIpv6, parseIp, parseIpv4, parseIpv6 } from '../../../src/core/net/ip';
import { IpFamily } from '../../../src/core/values/family';

describe('parseIpv4', () => {
  test.each([
    ['0.0.0.0', 0n],
    ['10.9.8.7', 0x0a090807n],
    ['255.255.255.255', 0xffffffffn],
  ])('%s', (text, value) => expect(parseIpv4(text)).toBe(value));

  test.each(['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.x', '', ' 1.2.3.4', '1..3.4'])('refuses %j', (text) => {
    expect(parseIpv4(text)).toBeUndefined();
  });
});

describe('parseIpv6', () => {
  test.each([
    ['::', 0n],
    ['::1', 1n],
    ['2001:db8::', 0x20010db8n << 96n],
    ['2001:DB8::1', (0x20010db8n << 96n) | 1n],
    ['fe80::1:2', (0xfe80n << 112n) | 0x10002n],
    ['1:2:3:4:5:6:7:8', 0x00010002000300040005000600070008n],
    ['::ffff:192.0.2.1', 0xffffc0000201n],
    ['64:ff9b::198.51.100.7', (0x64ff9bn << 96n) | 0xc6336407n],
  ])('%s', (text, value) => expect(parseIpv6(text)).toBe(value));

  test.each(['1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '::1%eth0', '', '1:2:3:4:5:6:7::8', '::ffff:300.1.1.1'])(
    'refuses %j',
    (text) => expect(parseIpv6(text)).toBeUndefined(),
  );
});

describe('parseIp', () => {
  test('detects the family', () => {
    expect(parseIp('192.0.2.1')?.family).toBe(IpFamily.IPV4);
    expect(parseIp('2001:db8::1')?.family).toBe(IpFamily.IPV6);
    expect(parseIp('example.com')).toBeUndefined();
  });
});

describe('formatting', () => {
  test('ipv4', () => expect(formatIpv4(0xc0000201n)).toBe('192.0.2.1'));

  test.each([
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8::', '2001:db8::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::', 'fe80::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::192.0.2.1', '::192.0.2.1'],
    ['2001:DB8::A', '2001:db8::a'],
  ])('ipv6 %s prints as %s (glibc inet_ntop)', (text, printed) => {
    expect(formatIpv6(parseIpv6(text)!)).toBe(printed);
  });

  test('round-trips random addresses', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 500; i++) {
      let v = 0n;
      for (let w = 0; w < 8; w++) v = (v << 16n) | BigInt(rand() % 4 === 0 ? 0 : rand() % 65536);
      expect(parseIpv6(formatIpv6(v))).toBe(v);
    }
  });
});
