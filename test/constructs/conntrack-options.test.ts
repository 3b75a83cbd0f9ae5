import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { HostGroup, Peer, Port, StatefulHost } from '../../src';
import { renderStep } from '../support/deploy-steps';

/** A full synth: the stack's JSON, with the directory its deploy files were written to. */
function synth(configure: (stack: TerraformStack) => void): any {
  const stack = new TerraformStack(Testing.app(), 'stack');
  configure(stack);
  const stackDir = path.join(Testing.fullSynth(stack), 'stacks', 'stack');
  return { ...JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')), stackDir };
}

/** The apply script's arguments, as the host's apply step passes them (SFW_ARGS). */
function applyCommand(json: any): string {
  const apply = Object.entries(json.resource.null_resource).find(([k]) => k.includes('_Deployment_Apply_'))![1] as any;
  const step = renderStep(json.stackDir, apply.provisioner[0]['remote-exec'].inline[0]);
  return /^SFW_ARGS='(.*)'$/m.exec(step)![1];
}

function rulesetHash(json: any): string {
  const apply = Object.entries(json.resource.null_resource).find(([k]) => k.includes('_Deployment_Apply_'))![1] as any;
  return apply.triggers.ruleset_sha256;
}

describe('conntrack sizing', () => {
  test('services, admin access, groups and the host option add up; no declaration, no sizing', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    const web = new StatefulHost(stack, 'web', { address: '192.0.2.10', conntrack: { expectedConnections: 1000 } });
    expect(web.conntrackSizing?.expectedConnections).toBe(1000);
    web.addService('Https', { ports: [Port.HTTPS], expectedConnections: 50_000 });
    web.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')], expectedConnections: 20 });
    const group = new HostGroup(stack, 'Web', { hosts: [web] });
    group.addService('Metrics', { ports: [Port.tcp(9100)], peers: [Peer.ipv4('198.51.100.0/24')], expectedConnections: 5 });
    expect(web.conntrackSizing?.expectedConnections).toBe(51_025);
    expect(web.conntrackSizing?.maxEntries).toBe(102_400);
    const bare = new StatefulHost(stack, 'db', { address: '192.0.2.11' });
    bare.addService('Pg', { ports: [Port.tcp(5432)] });
    expect(bare.conntrackSizing).toBeUndefined();
  });

  test('the deploy raises the host to the sizing, and a changed sizing re-provisions the host', () => {
    const build = (expected?: number) => synth((s) => {
      const h = new StatefulHost(s, 'web', { address: '192.0.2.10' });
      h.addService('Https', { ports: [Port.HTTPS], expectedConnections: expected });
      h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    });
    const none = build();
    const sized = build(100_000);
    const bigger = build(200_000);
    expect(applyCommand(none)).not.toContain('conntrack');
    expect(applyCommand(sized)).toMatch(/ --rollback-timeout 60 --conntrack-max 200192 --conntrack-buckets 200192 --sha256 \S+ --sha256 \S+ --sha256 \S+$/);
    expect(applyCommand(bigger)).toContain('--conntrack-max 400384 --conntrack-buckets 400384');
    expect(new Set([rulesetHash(none), rulesetHash(sized), rulesetHash(bigger)]).size).toBe(3);
  });

  test('tuneKernel: false reports the sizing but leaves the host alone', () => {
    let host!: StatefulHost;
    const json = synth((s) => {
      host = new StatefulHost(s, 'web', { address: '192.0.2.10', conntrack: { expectedConnections: 10_000, tuneKernel: false } });
      host.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    });
    expect(host.conntrackSizing?.maxEntries).toBe(20_480);
    expect(host.kernelConntrackSizing).toBeUndefined();
    expect(applyCommand(json)).not.toContain('conntrack');
  });

  test('explain.md ends with the sizing', () => {
    const outdir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'ct-'));
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'stack');
    const h = new StatefulHost(stack, 'ns', { address: '192.0.2.53', deployment: { enabled: false } });
    h.addService('Dns', { ports: [Port.tcp(53)], expectedConnections: 4096 });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    app.synth();
    const md = fs.readFileSync(path.join(outdir, 'stacks', 'stack', 'firewall', 'ns', 'explain.md'), 'utf8');
    expect(md).toMatch(/\n#### Conntrack sizing\n\n4096 expected connections: nf_conntrack_max 8192, 8192 hash buckets, about 2\.6 MiB of kernel memory; the deploy raises the host's values to these where they are lower\.\n$/);
  });
});
