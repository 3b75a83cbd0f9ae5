import {
  CompiledRuleset, ConntrackHelper, DefaultAction, HostPolicy, OverLimitAction, Peer, planSummary, PLAN_SUMMARY_VALUE_LENGTH, Port, RateUnit,
} from '../../../src/core';

const web: HostPolicy = {
  name: 'web',
  origin: 'webserver/web',
  defaultAction: DefaultAction.REJECT_HOST_PROHIBITED,
  allowPing: false,
  allowances: [
    { origin: 'webserver/web/Website', ports: [Port.HTTP, Port.HTTPS], peers: [Peer.any()] },
    { origin: 'webserver/web/Webmasters', ports: [Port.SSH], peers: [Peer.ipv4Range('10.9.8.7', '10.9.8.10')] },
  ],
};

const summary = (policy: HostPolicy, maxRows?: number) => planSummary(CompiledRuleset.compile(policy).model, { hostPath: policy.origin, maxRows });

describe('planSummary', () => {
  test('one row per declaration, keyed by kind and construct path; the fixed rules left out', () => {
    expect(summary(web)).toEqual({
      'default: in': 'reject (host-prohibited)',
      'in: Webmasters': 'tcp 22 from 10.9.8.7-10.9.8.10',
      'in: Website': 'tcp 80,443 from any',
    });
  });

  test('a changed port changes exactly its row; a new declaration adds one row and renumbers nothing', () => {
    const before = summary(web);
    const moved = summary({ ...web, allowances: [web.allowances[0], { ...web.allowances[1], ports: [Port.tcp(2222)] }] });
    const changed = Object.keys(moved).filter((k) => moved[k] !== before[k]);
    expect(changed).toEqual(['in: Webmasters']);
    expect(moved['in: Webmasters']).toBe('tcp 2222 from 10.9.8.7-10.9.8.10');
    const added = summary({ ...web, allowances: [{ origin: 'webserver/web/Metrics', ports: [Port.tcp(9100)], peers: [Peer.ipv4('192.0.2.0/24')] }, ...web.allowances] });
    expect(Object.keys(added).filter((k) => added[k] !== before[k])).toEqual(['in: Metrics']);
    expect(Object.keys(before).every((k) => added[k] === before[k])).toBe(true);
  });

  test('inbound and outbound, denials, limits, untracked, helpers, logging and ping', () => {
    const s = summary({
      name: 'edge',
      origin: 'lab/edge',
      logDropped: { prefix: 'sfw edge: ' },
      allowances: [
        { origin: 'lab/edge/Ftp', ports: [Port.tcp(21)], peers: [Peer.ipv4('198.51.100.0/24')], helper: ConntrackHelper.FTP },
        { origin: 'lab/edge/Dns', ports: [Port.udp(53)], peers: [Peer.ipv4('203.0.113.0/24'), Peer.ipv6('2001:db8:53::/48')], notrack: true },
        { origin: 'lab/edge/Ssh', ports: [Port.tcp(22)], peers: [Peer.ipv4('192.0.2.10')], limits: { newConnectionsPerSource: { rate: 6, unit: RateUnit.MINUTE }, overLimitAction: OverLimitAction.REJECT } },
        // a group's declaration: shown by its path from the stack
        { origin: 'lab/web-tier/Https', ports: [Port.tcp(443)], peers: [Peer.any()] },
      ],
      denials: [{ origin: 'lab/edge/Blocked', peers: [Peer.ipv4('198.51.100.66')] }],
      outbound: { allowances: [{ origin: 'lab/edge/Upstream', ports: [Port.udp(53)], peers: [Peer.ipv4('192.0.2.53')] }] },
    });
    expect(s).toEqual({
      'default: in': 'tcp: reject (tcp-reset); reject (port-unreachable)',
      'default: out': 'tcp: reject (tcp-reset); reject (port-unreachable)',
      'deny: Blocked': 'all traffic from 198.51.100.66/32',
      'limit: Ssh': 'tcp 22 over 6/minute burst 5 per source: reject (tcp-reset), from 192.0.2.10/32',
      'in: Dns': 'udp 53 untracked from 203.0.113.0/24, 2001:db8:53::/48',
      'in: Ftp': 'tcp 21 from 198.51.100.0/24',
      'in: Ssh': 'tcp 22 from 192.0.2.10/32',
      'in: web-tier/Https': 'tcp 443 from any',
      'in: ping': 'icmp type 8 up to 20/second burst 50 from any; icmpv6 type 128 up to 20/second burst 50 from any',
      'out: Upstream': 'udp 53 to 192.0.2.53/32',
      'helper: Ftp': 'ftp on tcp 21 from 198.51.100.0/24',
      'log: in': "refused packets up to 10/minute, prefix 'sfw edge: '",
    });
    // deterministic order: by kind, then key
    expect(Object.keys(s)[0]).toBe('default: in');
    expect(Object.keys(s).pop()).toBe('log: in');
  });

  test('bounded: at most maxRows rows (then the rest counted), values cut with a digest of the whole', () => {
    const many: HostPolicy = {
      name: 'big',
      origin: 'app/big',
      allowances: Array.from({ length: 40 }, (_, i) => ({ origin: `app/big/Svc${String(i).padStart(2, '0')}`, ports: [Port.tcp(1000 + i)], peers: [Peer.ipv4(`10.0.${i}.0/24`)] })),
    };
    const s = summary(many, 10);
    expect(Object.keys(s)).toHaveLength(10);
    expect(s.more).toBe('33 more rows (33 in): see ruleset_sha256, explain.md or sfw-explain');
    expect(Object.keys(summary(many))).toHaveLength(24);
    // a long peer list: cut, and any change to it still changes the value
    const wide = (last: string): HostPolicy => ({
      name: 'wide',
      origin: 'app/wide',
      setThreshold: Infinity,
      allowances: [{ origin: 'app/wide/Admins', ports: [Port.SSH], peers: [...Array.from({ length: 30 }, (_, i) => Peer.ipv4(`10.1.${i}.1`)), Peer.ipv4(last)] }],
    });
    const a = summary(wide('192.0.2.1'))['in: Admins'];
    const b = summary(wide('192.0.2.3'))['in: Admins'];
    expect(a.length).toBe(PLAN_SUMMARY_VALUE_LENGTH);
    expect(a).toMatch(/ \.\.\. \(\d+ chars, sha256 [0-9a-f]{8}\)$/);
    expect(a).not.toBe(b);
    // a large set: its first elements and its size
    const set = summary({ ...wide('192.0.2.1'), setThreshold: 8 })['in: Admins'];
    expect(set).toMatch(/^tcp 22 from 10\.1\.0\.1\/32, 10\.1\.1\.1\/32, 10\.1\.2\.1\/32, \.\.\. \(31 in set sfw-/);
  });

  test('rules merged from many declarations get a short stable key', () => {
    const s = summary({
      name: 'm',
      origin: 's/m',
      allowances: ['A', 'B', 'C', 'D'].map((id, i) => ({ origin: `s/m/${id}`, ports: [Port.tcp(80 + i)], peers: [Peer.any()] })),
    });
    const key = Object.keys(s).find((k) => k.startsWith('in: A'))!;
    expect(key).toMatch(/^in: A \+ 3 more \([0-9a-f]{8}\)$/);
    expect(s[key]).toBe('tcp 80-83 from any');
  });

  test('rejects an unusable row limit', () => {
    expect(() => summary(web, 0)).toThrow('plan summary: maxRows 0 is not usable: use a whole number of rows from 1');
  });
});
