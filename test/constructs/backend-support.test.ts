import { App, TerraformStack, Testing } from 'cdktf';
import { Backend, HostGroup, OverLimitAction, Peer, Port, StatefulHost } from '../../src';
import { synthErrors } from '../support/synth';

// What the host's backend cannot express fails the synth, naming the declaration, never a
// silently weaker ruleset.

const PORTS = Array.from({ length: 16 }, (_, i) => Port.tcp(7000 + i * 2));
const LIMITS = { concurrentPerSource: 4, overLimitAction: OverLimitAction.REJECT };
const PROBLEM = 'concurrentPerSource is counted per iptables rule, and its 16 tcp ports need 2 rules (multiport holds 15 ports, a range counting two), '
  + 'so each rule would allow 4 connections of its own: lower the host\'s setThreshold below 16 (the ports then go into one port set), '
  + 'declare fewer ports or ranges, or use Backend.NFTABLES';

function app(): App {
  return Testing.app();
}

function host(stack: TerraformStack, id: string, props: { backend?: Backend; setThreshold?: number; address?: string } = {}): StatefulHost {
  return new StatefulHost(stack, id, { address: '192.0.2.10', deployment: { enabled: false }, ...props });
}

describe('backend support at synth', () => {
  test('iptables: a connection limit split over several multiport rules fails the synth, naming the service', () => {
    const a = app();
    const web = host(new TerraformStack(a, 'stack'), 'web', { setThreshold: Infinity });
    web.addService('Game', { ports: PORTS, limits: LIMITS });
    expect(synthErrors(a)).toEqual([`[stack/web] stack/web/Game: ${PROBLEM}`]);
  });

  test('nftables expresses the same limit (one named set counts): the synth succeeds', () => {
    const a = app();
    const web = host(new TerraformStack(a, 'stack'), 'web', { setThreshold: Infinity, backend: Backend.NFTABLES });
    web.addService('Game', { ports: PORTS, limits: LIMITS });
    expect(synthErrors(a)).toEqual([]);
    // one rule under every limit: the connection count is one statement of it
    expect(web.renderedFiles['ruleset.nft']).toContain('ct count 4 }');
  });

  test('iptables with the default threshold: the ports go into one port set, one rule', () => {
    const a = app();
    const web = host(new TerraformStack(a, 'stack'), 'web');
    web.addService('Game', { ports: PORTS, limits: LIMITS });
    expect(synthErrors(a)).toEqual([]);
    expect(web.renderedFiles['sets.ipset']).toContain('bitmap:port');
  });

  test('a group\'s declaration is reported once, by its first host', () => {
    const a = app();
    const stack = new TerraformStack(a, 'stack');
    const group = new HostGroup(stack, 'game');
    for (const [id, address] of [['g1', '192.0.2.11'], ['g2', '192.0.2.12']]) group.addHost(host(stack, id, { setThreshold: Infinity, address }));
    group.addService('Game', { ports: PORTS, peers: [Peer.ipv4('198.51.100.0/24')], limits: LIMITS });
    expect(synthErrors(a)).toEqual([`[stack/g1] stack/game/Game: ${PROBLEM}`]);
  });

  test('the table name: nftTableName on iptables still fails where the host is created', () => {
    expect(() => host(new TerraformStack(app(), 'stack'), 'web', { nftTableName: 'fw' } as never))
      .toThrow("stack/web: nftTableName 'fw' needs backend: Backend.NFTABLES (iptables keeps its rules in SFW-* chains)");
  });
});
