import { AddressRange, formatRange, isWholeFamily, rangePrefixLength, rangeToCidrs, unionRanges } from '../../../src/core/net/address-range';
import { parseIpv4, parseIpv6 } from '../../../src/core/net/ip';
import { IpFamily } from '../../../src/core/values/family';

const v4 = (a: string, b: string = a): AddressRange => ({ family: IpFamily.IPV4, first: parseIpv4(a)!, last: parseIpv4(b)! });
const v6 = (a: string, b: string = a): AddressRange => ({ family: IpFamily.IPV6, first: parseIpv6(a)!, last: parseIpv6(b)! });

describe('unionRanges', () => {
  test('removes duplicates', () => {
    expect(unionRanges([v4('10.0.0.1'), v4('10.0.0.1')]).map(formatRange)).toEqual(['10.0.0.1/32']);
  });
  test('drops contained blocks', () => {
    expect(unionRanges([v4('10.1.2.0', '10.1.2.255'), v4('10.0.0.0', '10.255.255.255')]).map(formatRange)).toEqual(['10.0.0.0/8']);
  });
  test('aggregates adjacent CIDRs', () => {
    expect(unionRanges([v4('192.0.2.128', '192.0.2.255'), v4('192.0.2.0', '192.0.2.127')]).map(formatRange)).toEqual(['192.0.2.0/24']);
  });
  test('joins contiguous addresses into a range', () => {
    expect(unionRanges([v4('10.9.8.7'), v4('10.9.8.8'), v4('10.9.8.9'), v4('10.9.8.10')]).map(formatRange)).toEqual(['10.9.8.7-10.9.8.10']);
  });
  test('keeps gaps and sorts', () => {
    expect(unionRanges([v4('10.0.0.9'), v4('10.0.0.1')]).map(formatRange)).toEqual(['10.0.0.1/32', '10.0.0.9/32']);
  });
  test('ipv6', () => {
    expect(unionRanges([v6('2001:db8::', '2001:db8::ffff'), v6('2001:db8::1:0', '2001:db8::1:ffff')]).map(formatRange)).toEqual(['2001:db8::/111']);
  });
});

describe('CIDR helpers', () => {
  test('rangePrefixLength', () => {
    expect(rangePrefixLength(v4('10.0.0.0', '10.255.255.255'))).toBe(8);
    expect(rangePrefixLength(v4('10.0.0.1', '10.0.0.2'))).toBeUndefined();
    expect(rangePrefixLength(v4('0.0.0.0', '255.255.255.255'))).toBe(0);
  });
  test('rangeToCidrs gives the minimal cover', () => {
    expect(rangeToCidrs(v4('10.9.8.7', '10.9.8.10'))).toEqual(['10.9.8.7/32', '10.9.8.8/31', '10.9.8.10/32']);
    expect(rangeToCidrs(v4('0.0.0.0', '255.255.255.255'))).toEqual(['0.0.0.0/0']);
  });
  test('isWholeFamily', () => {
    expect(isWholeFamily(v4('0.0.0.0', '255.255.255.255'))).toBe(true);
    expect(isWholeFamily(v6('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'))).toBe(true);
    expect(isWholeFamily(v4('0.0.0.0', '255.255.255.254'))).toBe(false);
  });
});
