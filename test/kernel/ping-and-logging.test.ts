import { execFileSync } from 'child_process';
import { CompiledRuleset, DefaultAction, HostPolicy, Peer, Port, RateUnit } from '../../src/core';
import { loadRuleset, VARIANTS } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// ICMP policy and drop logging against the kernel: real pings over a veth, and the
// kernel log, for iptables-nft, iptables-legacy and nftables.


function policy(extra: Partial<HostPolicy>): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'lab',
    origin: 'lab/host',
    allowances: [{ origin: 'lab/host/Web', ports: [Port.tcp(8080)], peers: [Peer.any()] }],
    defaultAction: DefaultAction.REJECT,
    ...extra,
  });
}

const describeKernel = netnsSupported() ? describe : describe.skip;

describeKernel('ICMP policy and drop logging in the kernel', () => {
  let lab: Lab;
  let host: string;
  let client: string;

  beforeAll(() => {
    lab = new Lab('icmplog');
    host = lab.addNamespace('host');
    client = lab.addNamespace('client');
    lab.connect(
      { ns: host, ifname: 'h0', addresses: ['10.96.0.1/24', 'fd00:96::1/64'] },
      { ns: client, ifname: 'c0', addresses: ['10.96.0.2/24', 'fd00:96::2/64'] },
    );
    // the host's own ICMP rate limit would hide the firewall's
    lab.sh(host, 'sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0');
  });

  afterAll(() => lab.destroy());

  test.each(VARIANTS)('%s: echo requests beyond the rate limit are refused, the rest answered', (variant) => {
    loadRuleset(lab, host, policy({ pingRateLimit: { rate: 1, unit: RateUnit.SECOND, burst: 4 } }), variant);
    // each ping process uses its own ICMP id: a new conntrack flow, so each is state NEW
    // (the echo requests of one ping process after the first are ESTABLISHED, never limited)
    const pings = (target: string) => lab.sh(client, `for i in $(seq 12); do ping -n -c 1 -W 1 ${target} >/dev/null && echo ok; done; true`, {
      timeoutMs: 30_000,
    }).split('\n').filter((l) => l === 'ok').length;
    for (const target of ['10.96.0.1', 'fd00:96::1']) {
      // a burst of 4 passes; in the time 12 pings take the bucket refills by one or two
      const replies = pings(target);
      expect([target, replies >= 4 && replies <= 7]).toEqual([target, true]);
    }
    loadRuleset(lab, host, policy({ pingRateLimit: { rate: 1000, unit: RateUnit.SECOND, burst: 1000 } }), variant);
    expect(pings('10.96.0.1')).toBe(12);
  });

  describe('logging', () => {
    let previous = '0';
    beforeAll(() => {
      // LOG writes nothing for namespaces other than the first unless this is on
      previous = execFileSync('sysctl', ['-n', 'net.netfilter.nf_log_all_netns'], { encoding: 'utf8' }).trim();
      execFileSync('sysctl', ['-qw', 'net.netfilter.nf_log_all_netns=1']);
    });
    afterAll(() => execFileSync('sysctl', ['-qw', `net.netfilter.nf_log_all_netns=${previous}`]));

    test.each(VARIANTS)('%s: refused packets are logged with the host\'s prefix, before the default action', (variant) => {
      const prefix = `sfwt${process.pid % 100000}${variant.slice(-3)}: `;
      loadRuleset(lab, host, policy({ logDropped: { prefix } }), variant);
      expect(lab.tcpProbe(client, '10.96.0.1', 9999)).toBe('refused'); // the default action still runs after LOG
      expect(lab.tcpProbe(client, '10.96.0.1', 8080)).toBe('refused'); // allowed, but no listener: the stack's RST, not logged
      let log = '';
      for (let i = 0; i < 20 && !log.includes(prefix); i++) {
        log = execFileSync('dmesg', { encoding: 'utf8' });
        if (!log.includes(prefix)) execFileSync('sleep', ['0.1']);
      }
      const lines = log.split('\n').filter((l) => l.includes(prefix));
      expect(lines.some((l) => /SRC=10\.96\.0\.2 DST=10\.96\.0\.1 .*PROTO=TCP .*DPT=9999/.test(l))).toBe(true);
      expect(lines.some((l) => /DPT=8080/.test(l))).toBe(false);
    });
  });
});
