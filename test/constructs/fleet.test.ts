import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, TerraformStack, Testing } from 'cdktf';
import { FleetBaseline, FleetDiagram, HostGroup, Packet, Peer, Port, StatefulHost } from '../../src';
import '../../src/testing/jest';

function small() {
  const app = new App({ outdir: Testing.app().outdir });
  const stack = new TerraformStack(app, 'fleet');
  const bastions = new HostGroup(stack, 'bastions');
  const web = new HostGroup(stack, 'web');
  const b1 = new StatefulHost(stack, 'b1', { address: '203.0.113.2' });
  bastions.addHost(b1);
  b1.addAdminAccess('Office', { peers: [Peer.ipv4('198.51.100.0/24')] });
  const w1 = new StatefulHost(stack, 'w1', { address: '192.0.2.11', addresses: ['192.0.2.11', '2001:db8::11'] });
  const w2 = new StatefulHost(stack, 'w2', { address: '192.0.2.12' });
  web.addHost(w1);
  web.addHost(w2);
  web.addService('Https', { ports: [Port.HTTPS] });
  return { app, stack, bastions, web, b1, w1, w2 };
}

describe('FleetBaseline (an Aspect)', () => {
  test('every host takes SSH from the bastions; excluded hosts are left alone; applying twice adds nothing', () => {
    const { app, stack, bastions, b1, w1 } = small();
    Aspects.of(stack).add(new FleetBaseline({ adminFrom: [bastions], exclude: [b1] }));
    app.synth();
    app.synth();
    expect(w1).toAllow(Packet.tcp({ from: '203.0.113.2', port: 22 }));
    expect(w1).toReject(Packet.tcp({ from: '198.51.100.9', port: 22 }));
    expect(w1.connections.ingressRules).toHaveLength(1);
    expect(b1.connections.ingressRules).toHaveLength(0);
    expect(b1).toAllow(Packet.tcp({ from: '198.51.100.9', port: 22 }));
  });

  test('admin peers for everyone', () => {
    const { app, stack, w2 } = small();
    Aspects.of(stack).add(new FleetBaseline({ adminPeers: [Peer.ipv4('10.0.0.0/8')], adminPorts: [Port.SSH, Port.tcp(9100)] }));
    app.synth();
    expect(w2).toAllow(Packet.tcp({ from: '10.1.2.3', port: 9100 }));
    expect(() => new FleetBaseline({})).toThrow('FleetBaseline needs adminFrom or adminPeers: say who may manage every host');
  });
});

describe('FleetDiagram', () => {
  test('mermaid: groups, hosts, outside peers and flows', () => {
    const { stack, bastions, web } = small();
    web.connections.allowFrom(bastions, Port.SSH);
    expect(FleetDiagram.mermaid(stack)).toBe([
      'flowchart LR',
      '  subgraph g_fleet_bastions["bastions (1 hosts)"]',
      '    h_fleet_b1["b1<br/>203.0.113.2"]',
      '  end',
      '  subgraph g_fleet_web["web (2 hosts)"]',
      '    h_fleet_w1["w1<br/>192.0.2.11, 2001:db8::11"]',
      '    h_fleet_w2["w2<br/>192.0.2.12"]',
      '  end',
      '  p_any(("any"))',
      '  p_198_51_100_0_24(("198.51.100.0/24"))',
      '  p_any -- "tcp/443" --> g_fleet_web',
      '  g_fleet_bastions -- "tcp/22" --> g_fleet_web',
      // a flow every member of a group has is drawn to the group
      '  p_198_51_100_0_24 -. "tcp/22" .-> g_fleet_bastions',
      '',
    ].join('\n'));
  });

  test('large groups collapse to one node', () => {
    const { stack } = small();
    expect(FleetDiagram.mermaid(stack, { maxHostsPerGroup: 1 })).toContain('  g_fleet_web[["web (2 hosts)"]]');
    expect(FleetDiagram.dot(stack, { maxHostsPerGroup: 1 })).toContain('g_fleet_web [label="web (2 hosts)", shape=box3d];');
  });

  test('written with the synth output (SVG when Graphviz is installed)', () => {
    const { app, stack, web, bastions } = small();
    web.connections.allowFrom(bastions, Port.SSH);
    new FleetDiagram(stack, 'Diagram');
    app.synth();
    const dir = path.join(app.outdir, 'stacks', 'fleet', 'firewall');
    expect(fs.readFileSync(path.join(dir, 'fleet.mmd'), 'utf8')).toBe(FleetDiagram.mermaid(stack));
    expect(fs.readFileSync(path.join(dir, 'fleet.dot'), 'utf8')).toContain('digraph fleet {');
    const hasDot = spawnSync('dot', ['-V']).status === 0;
    expect(fs.existsSync(path.join(dir, 'fleet.svg'))).toBe(hasDot);
  });
});
