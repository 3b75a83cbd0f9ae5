import { BASE, host, rowLine, ssh, web } from './pairs';
import { Peer, Port } from '../../../src/core';
import { formatDiffMarkdown, formatDiffText, hasChanges, semanticDiff } from '../../../src/core/diff/semantic-diff';
import { HostPolicy } from '../../../src/core/policy/host-policy';

function rows(oldPolicy: HostPolicy, newPolicy: HostPolicy, oldBackend = 'iptables', newBackend = 'iptables'): string[] {
  const diff = semanticDiff([host(oldPolicy, oldBackend)], [host(newPolicy, newBackend)]);
  return diff.changed.flatMap((h) => h.rows.map(rowLine));
}

describe('semantic diff on policy pairs', () => {
  test('a widened CIDR: the new sources, on the opening\'s port only', () => {
    const wider = { ...BASE, allowances: [ssh([Peer.ipv4('10.0.0.0/8'), Peer.ipv6('2001:db8:1::/48')]), BASE.allowances[1]] };
    expect(rows(BASE, wider)).toEqual([
      'newly allowed ipv4 inbound 10.1.0.0-10.255.255.255 tcp/22 new: reject:tcp-reset -> accept',
    ]);
    // and narrowing it back is the mirror image
    expect(rows(wider, BASE)).toEqual([
      'newly refused ipv4 inbound 10.1.0.0-10.255.255.255 tcp/22 new: accept -> reject:tcp-reset',
    ]);
  });

  test('a removed port: refused from everyone but loopback, in both families', () => {
    expect(rows(BASE, { ...BASE, allowances: [BASE.allowances[0], web([Port.tcp(443)])] })).toEqual([
      'newly refused ipv4 inbound any except 127.0.0.0/8 tcp/80 new: accept -> reject:tcp-reset',
      'newly refused ipv6 inbound any except ::1/128 tcp/80 new: accept -> reject:tcp-reset',
    ]);
  });

  test('a moved deny: the old block is reachable again, the new one is dropped (drop, not the default reject)', () => {
    const deny = (cidr: string): HostPolicy => ({ ...BASE, denials: [{ origin: 'app/web/Block', peers: [Peer.ipv4(cidr)] }] });
    expect(rows(deny('10.0.1.0/24'), deny('10.0.2.0/24'))).toEqual([
      'newly allowed ipv4 inbound 10.0.1.0/24 tcp/22,80,443 new: drop -> accept',
      'newly refused ipv4 inbound 10.0.2.0/24 tcp/22,80,443 new: accept -> drop',
      'refused differently ipv4 inbound 10.0.1.0/24 tcp/0-21,23-79,81-442,444-65535 new: drop -> reject:tcp-reset',
      'refused differently ipv4 inbound 10.0.2.0/24 tcp/0-21,23-79,81-442,444-65535 new: reject:tcp-reset -> drop',
      'refused differently ipv4 inbound 10.0.1.0/24 udp any port new: drop -> reject:port-unreachable',
      'refused differently ipv4 inbound 10.0.2.0/24 udp any port new: reject:port-unreachable -> drop',
      'newly allowed ipv4 inbound 10.0.1.0/24 icmp type 8 new: drop -> accept (over a rate limit: reject:port-unreachable)',
      'newly refused ipv4 inbound 10.0.2.0/24 icmp type 8 new: accept (over a rate limit: reject:port-unreachable) -> drop',
      'refused differently ipv4 inbound 10.0.1.0/24 icmp type 13,15,17 new: drop -> reject:port-unreachable',
      'refused differently ipv4 inbound 10.0.2.0/24 icmp type 13,15,17 new: reject:port-unreachable -> drop',
    ]);
  });

  test('a pure refactor (split, reordered and merged declarations, another backend) reports no change', () => {
    const refactored: HostPolicy = {
      ...BASE,
      allowances: [
        web([Port.tcp(80)]),
        ssh([Peer.ipv4('10.0.128.0/17'), Peer.ipv6('2001:db8:1::/48')]),
        ssh([Peer.ipv4('10.0.0.0/17')]),
        { ...web([Port.tcp(443)]), origin: 'app/web/Tls' },
      ],
    };
    for (const backend of ['iptables', 'nftables']) {
      const diff = semanticDiff([host(BASE)], [host(refactored, backend)]);
      expect(diff.changed).toEqual([]);
      expect(hasChanges(diff)).toBe(false);
      expect(diff.unchanged).toBe(1);
    }
  });

  test('IPv6: a widened prefix', () => {
    const wider = { ...BASE, allowances: [ssh([Peer.ipv4('10.0.0.0/16'), Peer.ipv6('2001:db8::/32')]), BASE.allowances[1]] };
    expect(rows(BASE, wider, 'nftables', 'nftables')).toEqual([
      'newly allowed ipv6 inbound 2001:db8::/48, 2001:db8:2::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff tcp/22 new: reject:tcp-reset -> accept',
    ]);
  });

  test('outbound rules: a new outbound allowance, and outbound filtering turned off', () => {
    const api = { origin: 'app/web/Api', ports: [Port.tcp(443)], peers: [Peer.ipv6('2001:db8:443::/48')] };
    expect(rows(BASE, { ...BASE, outbound: { ...BASE.outbound!, allowances: [...BASE.outbound!.allowances, api] } })).toEqual([
      'newly allowed ipv6 outbound 2001:db8:443::/48 tcp/443 new: reject:tcp-reset -> accept',
    ]);
    expect(rows(BASE, { ...BASE, outbound: undefined })).toEqual([
      'newly allowed ipv4 outbound any except 127.0.0.0/8, 192.0.2.53/32 tcp any port new: reject:tcp-reset -> accept',
      'newly allowed ipv4 outbound 192.0.2.53/32 tcp/0-52,54-65535 new: reject:tcp-reset -> accept',
      'newly allowed ipv4 outbound any except 127.0.0.0/8, 192.0.2.53/32 udp any port new: reject:port-unreachable -> accept',
      'newly allowed ipv4 outbound 192.0.2.53/32 udp/0-52,54-65535 new: reject:port-unreachable -> accept',
      // ICMP errors without a connection are INVALID: dropped before, accepted with no outbound filter
      'newly allowed ipv4 outbound any except 127.0.0.0/8 icmp type 0-7,9-12,14,16,18-255 invalid: drop -> accept',
      'newly allowed ipv4 outbound any except 127.0.0.0/8 icmp type 8,13,15,17 new: reject:port-unreachable -> accept',
      'newly allowed ipv6 outbound any except ::1/128 tcp any port new: reject:tcp-reset -> accept',
      'newly allowed ipv6 outbound any except ::1/128 udp any port new: reject:port-unreachable -> accept',
      // neighbour discovery and MLD (130-136, 143) were allowed out before as well
      'newly allowed ipv6 outbound any except ::1/128 icmpv6 type 0-127,129,137-138,140-142,144-255 invalid: drop -> accept',
      'newly allowed ipv6 outbound any except ::1/128 icmpv6 type 128,139 new: reject:port-unreachable -> accept',
    ]);
  });

  test('hosts added and removed, by stack and name', () => {
    const diff = semanticDiff([host(BASE), host({ ...BASE, name: 'db' })], [host(BASE), host({ ...BASE, name: 'cache' })]);
    expect(diff.added.map((h) => h.hostName)).toEqual(['cache']);
    expect(diff.removed.map((h) => h.hostName)).toEqual(['db']);
    expect(diff.changed).toEqual([]);
    expect(hasChanges(diff)).toBe(true);
    expect(formatDiffText(diff)).toContain('host added: cache (stack app, app/cache), iptables');
    expect(formatDiffText(diff)).toContain('host removed: db (stack app, app/db), iptables');
  });

  test('every row carries an example the simulator confirms, in text and markdown', () => {
    const diff = semanticDiff([host(BASE)], [host({ ...BASE, allowances: [ssh([Peer.ipv4('10.0.0.0/8')]), BASE.allowances[1]] })]);
    const text = formatDiffText(diff);
    expect(text).toContain('newly allowed:\n    inbound from 10.1.0.0-10.255.255.255: tcp/22, state new: reject:tcp-reset -> accept\n'
      + '      e.g. tcp 10.1.0.1:40000 -> :22 [SYN] state new (inbound): reject:tcp-reset -> accept');
    expect(text).toContain('newly refused:\n    inbound from 2001:db8:1::/48: tcp/22');
    const md = formatDiffMarkdown(diff);
    expect(md).toContain('| change | family | direction | peers | protocol and ports | state | before | after | example |');
    expect(md).toContain('| newly allowed | IPv4 | inbound | 10.1.0.0-10.255.255.255 | tcp/22 | new | reject:tcp-reset | accept | `tcp 10.1.0.1:40000 -> :22 [SYN] state new` |');
  });
});
