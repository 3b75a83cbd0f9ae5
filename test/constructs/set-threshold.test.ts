import { TerraformStack, Testing } from 'cdktf';
import { Backend, IpFamily, Packet, Peer, StatefulHost } from '../../src';
import '../../src/testing/jest';

function host(setThreshold?: number, backend?: Backend): StatefulHost {
  const h = new StatefulHost(new TerraformStack(Testing.app(), 'stack'), 'h', { address: '192.0.2.1', setThreshold, backend });
  h.addAdminAccess('Ops', { peers: Array.from({ length: 5 }, (_, i) => Peer.ipv4(`198.51.100.${i * 2 + 1}`)) });
  return h;
}

describe('StatefulHost setThreshold', () => {
  test('passes through to the compiler: 5 admin addresses stay in rules by default, go to a set with 4', () => {
    expect(host().ruleset.model.sets).toBeUndefined();
    const small = host(4);
    expect(small.ruleset.model.sets!.map((s) => s.elements.length)).toEqual([5]);
    expect(Object.keys(small.renderedFiles)).toEqual(['rules.v4', 'rules.v6', 'sets.ipset']);
    expect(small.ruleset.toIptablesRestore(IpFamily.IPV4)).toContain('-m set --match-set sfw-4i-Ops-');
    expect(small).toAllow(Packet.tcp({ from: '198.51.100.9', port: 22 }));
    expect(small).not.toAllow(Packet.tcp({ from: '198.51.100.10', port: 22 }));
    const nft = host(0, Backend.NFTABLES);
    expect(nft.renderedFiles['ruleset.nft']).toContain('ip saddr @sfw-4i-Ops-');
    expect(nft).toAllow(Packet.tcp({ from: '198.51.100.1', port: 22 }));
  });

  test.each([-1, 1.5, NaN])('refuses %p with the host\'s path', (t) => {
    expect(() => host(t)).toThrow(`stack/h: setThreshold ${t} is not usable: use a whole number of elements, 0 to always use sets or Infinity to never`);
  });

  test('Infinity never uses sets', () => {
    const h = host(Infinity);
    expect(h.ruleset.model.sets).toBeUndefined();
  });
});
