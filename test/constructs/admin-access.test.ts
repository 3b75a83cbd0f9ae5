import { TerraformStack, Testing } from 'cdktf';
import { AdminAccess, IpFamily, Peer, Port, StatefulHost } from '../../src';

function host(): StatefulHost {
  return new StatefulHost(new TerraformStack(Testing.app(), 'stack'), 'web', { address: '192.0.2.1' });
}

describe('AdminAccess', () => {
  test('opens SSH by default, to the listed peers only', () => {
    const h = host();
    const admin = h.addAdminAccess('Ops', { peers: [Peer.ipv4Range('10.9.8.7', '10.9.8.10')] });
    expect(admin.ports).toEqual([Port.SSH]);
    const v4 = h.ruleset.toIptablesRestore(IpFamily.IPV4);
    expect(v4).toContain('-m iprange --src-range 10.9.8.7-10.9.8.10 -m conntrack --ctstate NEW -m tcp --dport 22');
    expect(h.ruleset.toIptablesRestore(IpFamily.IPV6)).not.toContain('--dport 22');
  });

  test('other management ports', () => {
    const h = host();
    new AdminAccess(h, 'Ops', { peers: [Peer.ipv6('2001:db8::10')], ports: [Port.tcp(2222), Port.tcp(9090)] });
    expect(h.ruleset.toIptablesRestore(IpFamily.IPV6)).toContain('-s 2001:db8::10/128 -p tcp -m conntrack --ctstate NEW -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m multiport --dports 2222,9090');
  });

  test.each([
    [{ peers: [] }, "stack/web/Bad: peers must not be empty: admin access needs explicit peers, e.g. Peer.ipv4('192.0.2.10')"],
    [{ peers: [Peer.ipv4('192.0.2.10')], ports: [] }, 'stack/web/Bad: ports must not be empty: omit ports for SSH, or list e.g. Port.tcp(2222)'],
  ])('refuses %j', (props, message) => {
    expect(() => new AdminAccess(host(), 'Bad', props)).toThrow(message);
  });
});
