import { ConntrackSizing } from '../../../src/core';

describe('ConntrackSizing', () => {
  test.each([
    [1, 512, 512 * 328],
    [256, 512, 512 * 328],
    [257, 1024, 1024 * 328],
    [100_000, 200_192, 200_192 * 328],
    [1_000_000, 2_000_384, 2_000_384 * 328],
  ])('%d expected connections: twice as many entries, in whole pages of buckets', (expected, entries, bytes) => {
    const s = ConntrackSizing.forConnections(expected);
    expect(s.maxEntries).toBe(entries);
    expect(s.hashBuckets).toBe(entries);
    expect(s.maxEntries % 512).toBe(0);
    expect(s.maxEntries).toBeGreaterThanOrEqual(2 * expected);
    expect(s.memoryBytes).toBe(bytes);
  });

  test('describe() reports the numbers and the memory', () => {
    expect(ConntrackSizing.forConnections(100_000).describe())
      .toBe('100000 expected connections: nf_conntrack_max 200192, 200192 hash buckets, about 62.6 MiB of kernel memory');
  });

  test.each([0, -1, 1.5, NaN, 200_000_000])('refuses %p', (n) => {
    expect(() => ConntrackSizing.forConnections(n)).toThrow(`expected connections ${n} is not usable: use a whole number from 1 to 100000000`);
  });
});
