import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { AdminAccess, Deny, HostGroup, OutboundAccess, Peer, Port, Service, StatefulHost } from '../../src';
import { synthErrors } from '../support/synth';

// A declaration outside every StatefulHost and HostGroup is picked up by no ruleset: a
// Deny there would block nothing, a Service open nothing. Each is one error at synth,
// naming its path and where it belongs.

type Build = (stack: TerraformStack) => void;

const OPS = [Peer.ipv4('198.51.100.7')];
const host = (s: Construct, id = 'web', address = '192.0.2.10') => {
  const h = new StatefulHost(s, id, { address });
  h.addAdminAccess('Ops', { peers: OPS });
  return h;
};


const STRAY: [string, Build, string[]][] = [
  ['a Service in a stack', (s) => new Service(s, 'Web', { ports: [Port.HTTPS] }), [
    '[stack/Web] stack/Web: this Service is outside every StatefulHost and HostGroup, so no host picks it up and it opens nothing: create it inside a StatefulHost or HostGroup, or use host.addService(...)',
  ]],
  ['an AdminAccess in a stack', (s) => new AdminAccess(s, 'Ops', { peers: OPS }), [
    '[stack/Ops] stack/Ops: this AdminAccess is outside every StatefulHost and HostGroup, so no host picks it up and it opens nothing: create it inside a StatefulHost or HostGroup, or use host.addAdminAccess(...)',
  ]],
  ['a Deny in a stack (it would fail open)', (s) => new Deny(s, 'Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] }), [
    '[stack/Abusers] stack/Abusers: this Deny is outside every StatefulHost and HostGroup, so no host picks it up and it blocks nothing: create it inside a StatefulHost or HostGroup, or use host.addDeny(...)',
  ]],
  ['an OutboundAccess in a stack', (s) => new OutboundAccess(s, 'Dns', { ports: [Port.DNS_UDP] }), [
    '[stack/Dns] stack/Dns: this OutboundAccess is outside every StatefulHost and HostGroup, so no host picks it up and it allows nothing: create it inside a StatefulHost or HostGroup, or use host.addOutbound(...)',
  ]],
  ['a Deny in a plain construct of the stack, next to a host', (s) => {
    host(s);
    new Deny(new Construct(s, 'Rules'), 'Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
  }, [
    '[stack/Rules/Abusers] stack/Rules/Abusers: this Deny is outside every StatefulHost and HostGroup, so no host picks it up and it blocks nothing: create it inside a StatefulHost or HostGroup, or use host.addDeny(...)',
  ]],
  ['two stray declarations: one message each', (s) => {
    const rules = new Construct(s, 'Rules');
    new Service(rules, 'Web', { ports: [Port.HTTPS] });
    new Deny(rules, 'Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
  }, [
    '[stack/Rules/Web] stack/Rules/Web: this Service is outside every StatefulHost and HostGroup, so no host picks it up and it opens nothing: create it inside a StatefulHost or HostGroup, or use host.addService(...)',
    '[stack/Rules/Abusers] stack/Rules/Abusers: this Deny is outside every StatefulHost and HostGroup, so no host picks it up and it blocks nothing: create it inside a StatefulHost or HostGroup, or use host.addDeny(...)',
  ]],
];

const PLACED: [string, Build][] = [
  ['declarations on a host', (s) => {
    const h = host(s);
    h.addService('Web', { ports: [Port.HTTPS] });
    h.addDeny('Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
  }],
  ['declarations on a group', (s) => {
    const g = new HostGroup(s, 'web');
    g.addHost(host(s, 'web-1'));
    g.addService('Web', { ports: [Port.HTTPS] });
    new Deny(g, 'Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
  }],
  ['declarations in a plain construct inside a host', (s) => {
    const rules = new Construct(host(s), 'Rules');
    new Service(rules, 'Web', { ports: [Port.HTTPS] });
    new Deny(rules, 'Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
  }],
  ['a host and its declarations inside a plain construct', (s) => {
    new Service(host(new Construct(s, 'Site')), 'Web', { ports: [Port.HTTPS] });
  }],
];

describe('declarations outside every host and group', () => {
  test.each(STRAY)('%s: an error at synth', (_name, build, errors) => {
    const app = new App({ outdir: Testing.app().outdir });
    build(new TerraformStack(app, 'stack'));
    expect(synthErrors(app)).toEqual(errors);
  });

  test.each(PLACED)('%s: picked up, no error', (_name, build) => {
    const app = new App({ outdir: Testing.app().outdir });
    build(new TerraformStack(app, 'stack'));
    expect(synthErrors(app)).toEqual([]);
  });

  test('a synth with a stray Deny writes nothing, not even the hosts next to it', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-synth-'));
    const app = new App({ outdir });
    const s = new TerraformStack(app, 'fleet');
    host(s).addService('Web', { ports: [Port.HTTPS] });
    new Deny(s, 'Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
    expect(() => app.synth()).toThrow('fleet/Abusers: this Deny is outside every StatefulHost and HostGroup');
    // cdktf's app makes the empty stacks folder up front; nothing goes into it
    expect(fs.readdirSync(outdir)).toEqual(['stacks']);
    expect(fs.readdirSync(path.join(outdir, 'stacks'))).toEqual([]);
  });
});
