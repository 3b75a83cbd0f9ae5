import { CompiledRuleset, IpFamily, Packet, Peer, Port, RateUnit, TcpFlag, Verdict } from '../../../src/core';

const base = { name: 'web', origin: 'app/web', allowances: [{ origin: 'app/web/Https', ports: [Port.HTTPS], peers: [Peer.any()] }] };

describe('ping rate limit', () => {
  test('default: 20 per second, bursts of 50, both families', () => {
    const r = CompiledRuleset.compile(base);
    expect(r.toIptablesRestore(IpFamily.IPV4)).toContain('-p icmp -m conntrack --ctstate NEW -m icmp --icmp-type 8 -m limit --limit 20/sec --limit-burst 50 -m comment --comment "app/web: ping" -j ACCEPT');
    expect(r.toIptablesRestore(IpFamily.IPV6)).toContain('-m icmp6 --icmpv6-type 128 -m limit --limit 20/sec --limit-burst 50');
    // (in the verdict-map layout the state is decided by the dispatch, so the rule does not repeat it)
    expect(r.toNftables()).toMatch(/icmp type echo-request (ct state new )?limit rate 20\/second burst 50 packets accept/);
  });

  test('a custom rate; the default burst of 5 is not printed (neither tool prints it)', () => {
    const r = CompiledRuleset.compile({ ...base, pingRateLimit: { rate: 2, unit: RateUnit.MINUTE } });
    expect(r.toIptablesRestore(IpFamily.IPV4)).toContain('-m limit --limit 2/min -m comment');
    expect(r.toNftables()).toContain('limit rate 2/minute accept');
  });

  test('the simulator: under the limit accepted, over it the default action', () => {
    const r = CompiledRuleset.compile(base);
    expect(r.simulate(Packet.icmp({ from: '198.51.100.1' })).verdict).toBe(Verdict.ACCEPT);
    expect(r.simulate(Packet.icmp({ from: '198.51.100.1', overRateLimit: true })).verdict).toBe(Verdict.REJECT);
  });

  test.each([
    [{ rate: 0, unit: RateUnit.SECOND }, 'app/web: pingRateLimit: rate 0 is out of range: use a whole number of packets from 1 to 10000 per second'],
    [{ rate: 5, unit: RateUnit.SECOND, burst: 0 }, 'app/web: pingRateLimit: burst 0 is out of range: use a whole number from 1 to 10000'],
  ])('refuses %j', (pingRateLimit, message) => {
    expect(() => CompiledRuleset.compile({ ...base, pingRateLimit })).toThrow(message);
  });
});

describe('drop logging', () => {
  const r = CompiledRuleset.compile({ ...base, logDropped: {} });

  test('a rate-limited LOG rule with the host in its prefix, just before the default action', () => {
    const v4 = r.toIptablesRestore(IpFamily.IPV4).split('\n');
    const at = v4.findIndex((l) => l.includes('-j LOG'));
    expect(v4[at]).toBe('-A SFW-INPUT -m limit --limit 10/min -m comment --comment "app/web: log what the default action refuses" -j LOG --log-prefix "sfw web: "');
    expect(v4[at + 1]).toContain('-j REJECT --reject-with tcp-reset');
    expect(r.toNftables()).toContain('\t\tlimit rate 10/minute log prefix "sfw web: " comment "app/web: log what the default action refuses"\n');
  });

  test('LOG does not decide: the default action still does, and the trace shows the log', () => {
    const result = r.simulate(Packet.tcp({ from: '198.51.100.1', port: 22 }));
    expect(result.verdict).toBe(Verdict.REJECT);
    expect(result.trace.some((l) => l.includes("logged with prefix 'sfw web: '"))).toBe(true);
    expect(r.simulate(Packet.tcp({ from: '198.51.100.1', port: 443, flags: [TcpFlag.SYN] })).trace.some((l) => l.includes('logged'))).toBe(false);
  });

  test('prefixes: long host names are cut to fit 29 characters; bad ones are refused', () => {
    const long = CompiledRuleset.compile({ ...base, name: 'a-very-long-host-name-for-logging', logDropped: {} });
    expect(long.toNftables()).toContain('log prefix "sfw a-very-long-host-name-f: "');
    expect(() => CompiledRuleset.compile({ ...base, logDropped: { prefix: 'x'.repeat(30) } })).toThrow(
      `app/web: log prefix '${'x'.repeat(30)}' is not usable: use at most 29 printable characters without quotes or backslashes`,
    );
  });
});
