import { CompiledRuleset, DefaultAction, Peer, Port } from '../../../src/core';
import { formatOpenings, reachability } from '../../../src/core/diff/reachability';
import { HostPolicy } from '../../../src/core/policy/host-policy';

const A = { v4: '192.0.2.1', v6: '2001:db8::1' };
const B = { v4: '192.0.2.2', v6: '2001:db8::2' };

function fleetHost(policy: HostPolicy, addresses: string[], backend = 'iptables') {
  return { name: policy.name, addresses, backend, model: CompiledRuleset.compile(policy).model };
}

describe('fleet reachability from compiled rulesets', () => {
  test('the target\'s INPUT and the source\'s OUTPUT both count, per family', () => {
    // b takes 5432 from a (both families) and 22 from a's IPv4 address only
    const b: HostPolicy = {
      name: 'b',
      allowances: [
        { origin: 'b/Db', ports: [Port.tcp(5432)], peers: [Peer.ipv4(`${A.v4}/32`), Peer.ipv6(`${A.v6}/128`)] },
        { origin: 'b/Ssh', ports: [Port.tcp(22)], peers: [Peer.ipv4(`${A.v4}/32`)] },
      ],
      allowPing: false,
    };
    // a filters outbound: only 5432 and 22 to b's IPv4 address, 5432 to b's IPv6
    const a: HostPolicy = {
      name: 'a',
      allowances: [],
      allowPing: false,
      outbound: {
        allowances: [
          { origin: 'a/Out', ports: [Port.tcp(5432)], peers: [Peer.ipv4(`${B.v4}/32`), Peer.ipv6(`${B.v6}/128`)] },
          { origin: 'a/Out22', ports: [Port.tcp(22)], peers: [Peer.ipv6(`${B.v6}/128`)] },
        ],
        defaultAction: DefaultAction.REJECT,
      },
    };
    const m = reachability([fleetHost(a, [A.v4, A.v6]), fleetHost(b, [B.v4, B.v6], 'nftables')], [{ name: 'both', members: ['a', 'b'] }]);
    const cell = (from: string, to: string) => formatOpenings(m.cells.find((c) => c.from === from && c.to === to)!.openings);
    // 22: b accepts it from a over IPv4 only, a sends it over IPv6 only: no family opens it
    expect(cell('a', 'b')).toBe('tcp/5432');
    // b does not filter outbound; a accepts nothing
    expect(cell('b', 'a')).toBe('');
    expect(m.groupCells.map((c) => [c.from, c.to, formatOpenings(c.openings), c.varies])).toEqual([['both', 'both', '', true]]);
    // without a's outbound filter, 22 opens over IPv4
    const open = reachability([fleetHost({ ...a, outbound: undefined }, [A.v4, A.v6]), fleetHost(b, [B.v4, B.v6])]);
    expect(formatOpenings(open.cells.find((c) => c.from === 'a')!.openings)).toBe('tcp/22,5432 (IPv4); tcp/5432 (IPv6)');
    expect(open.openToAny.b).toEqual([]);
  });
});
