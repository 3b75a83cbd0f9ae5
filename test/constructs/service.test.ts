import { TerraformStack, Testing } from 'cdktf';
import { ConntrackHelper, IpFamily, Packet, Peer, Port, Service, StatefulHost } from '../../src';

function host(): StatefulHost {
  return new StatefulHost(new TerraformStack(Testing.app(), 'stack'), 'web', { address: '192.0.2.1' });
}

describe('Service', () => {
  test('is open to anyone, both families, by default', () => {
    const svc = new Service(host(), 'Web', { ports: [Port.HTTPS] });
    expect(svc.peers.map((p) => p.toString())).toEqual(['any']);
    expect(svc.description).toBe('Web');
    expect(svc.allowances).toEqual([{ origin: 'stack/web/Web', ports: [Port.HTTPS], peers: svc.peers }]);
  });

  test('notrack: the service is exempt from conntrack and accepted untracked', () => {
    const h = host();
    const dns = h.addService('Dns', { ports: [Port.udp(53)], peers: [Peer.ipv4('198.51.100.0/24')], notrack: true });
    expect(dns.notrack).toBe(true);
    const v4 = h.ruleset.toIptablesRestore(IpFamily.IPV4);
    expect(v4).toContain('-A SFW-PREROUTING -s 198.51.100.0/24 -p udp -m addrtype --dst-type LOCAL -m udp --dport 53 -m comment --comment "stack/web/Dns: untracked service" -j CT --notrack');
    expect(v4).toContain('--ctstate UNTRACKED -m udp --dport 53');
    expect(h.ruleset.simulate(Packet.udp({ from: '198.51.100.4', port: 53 })).rule?.origins).toEqual(['stack/web/Dns']);
  });

  test('restricted peers only open their own family', () => {
    const h = host();
    h.addService('Metrics', { ports: [Port.tcp(9100)], peers: [Peer.ipv6('2001:db8::/64')], description: 'node exporter' });
    expect(h.ruleset.toIptablesRestore(IpFamily.IPV4)).not.toContain('9100');
    expect(h.ruleset.toIptablesRestore(IpFamily.IPV6)).toContain('-s 2001:db8::/64 -p tcp -m conntrack --ctstate NEW -m tcp --dport 9100');
  });

  test.each([
    [{ ports: [] }, 'stack/web/Bad: ports must not be empty: e.g. ports: [Port.HTTPS]'],
    [{ ports: [Port.HTTP], peers: [] }, "stack/web/Bad: peers must not be empty: omit peers to allow anyone, or list e.g. Peer.ipv4('192.0.2.0/24')"],
  ])('refuses %j', (props, message) => {
    expect(() => new Service(host(), 'Bad', props)).toThrow(message);
  });
});

describe('Service with a conntrack helper', () => {
  test('attaches the helper to its control connections, from its peers, in the raw table / a prerouting chain', () => {
    const h = host();
    h.addService('Ftp', { ports: [Port.tcp(21)], peers: [Peer.ipv4('192.0.2.0/24')], helper: ConntrackHelper.FTP });
    expect(h.ruleset.toIptablesRestore(IpFamily.IPV4)).toContain('*raw\n');
    expect(h.ruleset.toIptablesRestore(IpFamily.IPV4)).toContain('-A SFW-PREROUTING -s 192.0.2.0/24 -p tcp -m tcp --dport 21 -m comment --comment "stack/web/Ftp: ftp helper" -j CT --helper ftp');
    expect(h.ruleset.toIptablesRestore(IpFamily.IPV6)).not.toContain('CT --helper');
    expect(h.ruleset.toNftables()).toContain('ct helper ftp-standard {\n\t\ttype "ftp" protocol tcp\n\t\tl3proto inet\n\t}');
  });

  test('a helper needs a port of its protocol', () => {
    expect(() => new Service(host(), 'Bad', { ports: [Port.udp(21)], helper: ConntrackHelper.FTP })).toThrow(
      'stack/web/Bad: the ftp helper reads tcp, but the service has no tcp port: add e.g. Port.tcp(21)',
    );
  });
});
