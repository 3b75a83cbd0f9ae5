import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { buildApp, FleetStack } from '../../examples/fleet/main';
import { FleetDiagram, IpFamily, Packet, PolicyChecks, StatefulHost } from '../../src';
import '../../src/testing/jest';
import { cdktfCliTest } from '../support/cdk-cli';
import { allWarnings } from '../support/synth';

describe('examples/fleet', () => {
  test('52 hosts in four roles synthesize, each with its own ruleset and provisioning resource', () => {
    const outdir = path.join(process.env.TMPDIR!, 'fleet-example');
    const started = Date.now();
    const app = buildApp(outdir);
    app.synth();
    const ms = Date.now() - started;
    process.stdout.write(`fleet example: 52 hosts synthesized in ${ms} ms\n`);
    const hosts = app.node.findAll().filter(StatefulHost.isStatefulHost);
    expect(hosts).toHaveLength(52);
    expect(fs.readdirSync(path.join(outdir, 'stacks', 'fleet', 'firewall')).filter((f) => !f.startsWith('fleet.') && !f.startsWith('reachability.') && f !== '_deploy')).toHaveLength(52);
    const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'fleet', 'cdk.tf.json'), 'utf8'));
    expect(Object.keys(tf.resource.null_resource).filter((k) => k.includes('_Deployment_Apply_'))).toHaveLength(52);
    // no policy check warns: SFW6 (host keys not pinned) is acknowledged, with its reason, for the example's documentation addresses
    expect(allWarnings(app)).toEqual([]);
    expect(PolicyChecks.of(app.node.findChild('fleet')).reasonFor('SFW6')).toContain('documentation addresses');
    // the reachability matrix, from the compiled rulesets: each group's openings to the others
    const matrix = fs.readFileSync(path.join(outdir, 'stacks', 'fleet', 'firewall', 'reachability.md'), 'utf8');
    expect(matrix).toContain([
      '| from \\ to | web | app | db | bastion |',
      '|---|---|---|---|---|',
      '| **web** | tcp/80,443; icmp 8; icmpv6 128 | tcp/8080; icmp 8; icmpv6 128 | icmp 8; icmpv6 128 | icmp 8; icmpv6 128 |',
      '| **app** | tcp/80,443; icmp 8; icmpv6 128 | icmp 8; icmpv6 128 | tcp/5432; icmp 8; icmpv6 128 | icmp 8; icmpv6 128 |',
      '| **db** | tcp/80,443; icmp 8; icmpv6 128 | icmp 8; icmpv6 128 | icmp 8; icmpv6 128 | icmp 8; icmpv6 128 |',
      '| **bastion** | tcp/22,80,443; icmp 8; icmpv6 128 | tcp/22; icmp 8; icmpv6 128 | tcp/22; icmp 8; icmpv6 128 | icmp 8; icmpv6 128 |',
    ].join('\n'));
    const cells = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'fleet', 'firewall', 'reachability.json'), 'utf8')).cells;
    expect(cells).toHaveLength(52 * 51);
    expect(cells).toContainEqual({ from: 'app-7', to: 'db-3', open: 'tcp/5432; icmp 8; icmpv6 128', specific: 'tcp/5432' });
    expect(cells).toContainEqual({ from: 'web-1', to: 'db-3', open: 'icmp 8; icmpv6 128', specific: '-' });
  });

  test('roles: web for everyone, app from web, db from app, SSH from the bastions', () => {
    const app = Testing.app();
    const stack = new FleetStack(app, 'fleet');
    app.synth(); // runs the FleetBaseline aspect
    const [web1] = stack.web.hosts;
    const [app1] = stack.app.hosts;
    const [db1] = stack.db.hosts;
    const [bastion1] = stack.bastion.hosts;
    expect(web1).toAllow(Packet.tcp({ from: '198.51.100.77', port: 443 }));
    expect(app1).toAllow(Packet.tcp({ from: '192.0.2.15', port: 8080 }));
    expect(app1).toReject(Packet.tcp({ from: '198.51.100.77', port: 8080 }));
    expect(db1).toAllow(Packet.tcp({ from: '2001:db8:2::6e', port: 5432 }));
    expect(db1).toReject(Packet.tcp({ from: '192.0.2.15', port: 5432 }));
    expect(db1).toAllow(Packet.tcp({ from: '203.0.113.201', port: 22 }));
    expect(db1).toReject(Packet.tcp({ from: '198.51.100.77', port: 22 }));
    expect(bastion1).toAllow(Packet.tcp({ from: '198.51.100.77', port: 22 }));
    // the 20 app servers are one contiguous range per family: one rule each
    expect(db1.ruleset.toIptablesRestore(IpFamily.IPV4)).toContain('--src-range 192.0.2.101-192.0.2.120 -m conntrack --ctstate NEW -m tcp --dport 5432');
  });

  test('fleet diagram', () => {
    const app = Testing.app();
    const stack = new FleetStack(app, 'fleet');
    app.synth();
    expect(FleetDiagram.mermaid(stack)).toMatchSnapshot();
  });

  cdktfCliTest('`cdktf synth` works in the example folder', () => {
    const out = path.join(process.env.TMPDIR!, 'fleet-cdktf-synth');
    const r = spawnSync(path.join(__dirname, '..', '..', 'node_modules', '.bin', 'cdktf'), ['synth', '--output', out], {
      cwd: path.join(__dirname, '..', '..', 'examples', 'fleet'),
      encoding: 'utf8',
      env: { ...process.env, CHECKPOINT_DISABLE: '1', CDKTF_DISABLE_TELEMETRY: 'true', DISABLE_VERSION_CHECK: 'true', CI: '1' },
      timeout: 300_000, // ts-node type-checks the library first: minutes on a busy machine
    });
    expect(r.status).toBe(0);
    expect(fs.existsSync(path.join(out, 'stacks', 'fleet', 'firewall', 'fleet.mmd'))).toBe(true);
  });
});
