import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { Peer, StatefulHost, StatefulHostProps } from '../../src';
import { synthErrors } from '../support/synth';

// Two StatefulHosts for one machine get two rulesets, and the last deploy wins: hosts of
// one app whose addresses overlap (after normalizing) are one error at synth, naming
// every host and the address, reported by the host in the first stack.

const OPS = [Peer.ipv4('198.51.100.7')];
const FIX = 'one machine would get two rulesets and the last deploy would win; declare each machine once '
  + '(one StatefulHost, in several HostGroups for several roles), or correct the address';

type Build = (app: App) => void;

function host(s: TerraformStack, id: string, props: Partial<StatefulHostProps>): StatefulHost {
  const h = new StatefulHost(s, id, { address: '192.0.2.99', ...props });
  h.addAdminAccess('Ops', { peers: OPS });
  return h;
}

/** Two hosts in one stack 'stack' with the props given. */
const pair = (a: Partial<StatefulHostProps>, b: Partial<StatefulHostProps>): Build => (app) => {
  const s = new TerraformStack(app, 'stack');
  host(s, 'a', a);
  host(s, 'b', b);
};


const CONFLICTS: [string, Build, string[]][] = [
  ['one address, one stack', pair({ address: '192.0.2.10' }, { address: '192.0.2.10' }),
    [`[stack/a] address '192.0.2.10' of stack/a is also used by stack/b: ${FIX}`]],
  ['IPv6 written two ways', pair({ address: '2001:db8::1' }, { address: '2001:DB8:0::1' }),
    [`[stack/a] address '2001:db8::1' of stack/a is also used by stack/b: ${FIX}`]],
  ['one host\'s address in the other\'s addresses', pair(
    { address: '192.0.2.10' },
    { address: 'b.example.net', addresses: ['192.0.2.20', '192.0.2.10'] }),
  [`[stack/a] address '192.0.2.10' of stack/a is also used by stack/b: ${FIX}`]],
  ['one DNS name in two spellings', pair({ address: 'Web.Example.net' }, { address: 'web.example.net.' }),
    [`[stack/a] address 'web.example.net' of stack/a is also used by stack/b: ${FIX}`]],
  ['deployment disabled on one of them (still two rulesets for one machine)',
    pair({ address: '192.0.2.10' }, { address: '192.0.2.10', deployment: { enabled: false } }),
    [`[stack/a] address '192.0.2.10' of stack/a is also used by stack/b: ${FIX}`]],
  ['one machine declared twice, both families: one message', pair(
    { address: '192.0.2.10', addresses: ['192.0.2.10', '2001:db8::10'] },
    { address: '192.0.2.10', addresses: ['192.0.2.10', '2001:db8::10'] }),
  [`[stack/a] addresses '192.0.2.10', '2001:db8::10' of stack/a are also used by stack/b: ${FIX}`]],
  ['three hosts, one address: one message', (app) => {
    const s = new TerraformStack(app, 'stack');
    for (const id of ['a', 'b', 'c']) host(s, id, { address: '192.0.2.10' });
  }, [`[stack/a] address '192.0.2.10' of stack/a is also used by stack/b, stack/c: ${FIX}`]],
  ['two stacks: reported by the host in the first stack', (app) => {
    const one = new TerraformStack(app, 'one');
    const two = new TerraformStack(app, 'two');
    host(two, 'web', { address: '192.0.2.10' });
    host(one, 'web', { address: '192.0.2.10' });
  }, [`[one/web] address '192.0.2.10' of one/web is also used by two/web: ${FIX}`]],
  ['two pairs: one message each', (app) => {
    const s = new TerraformStack(app, 'stack');
    host(s, 'a', { address: '192.0.2.10' });
    host(s, 'b', { address: '192.0.2.11' });
    host(s, 'c', { address: '192.0.2.11' });
    host(s, 'd', { address: '192.0.2.10' });
  }, [
    `[stack/a] address '192.0.2.10' of stack/a is also used by stack/d: ${FIX}`,
    `[stack/b] address '192.0.2.11' of stack/b is also used by stack/c: ${FIX}`,
  ]],
];

const NO_CONFLICT: [string, Build][] = [
  ['different addresses', pair({ address: '192.0.2.10' }, { address: '192.0.2.11' })],
  ['a host listing its own address in addresses', pair({ address: '192.0.2.10', addresses: ['192.0.2.10', '2001:db8::10'] }, { address: '192.0.2.11' })],
  ['addresses that are tokens (known at apply)', (app) => {
    const s = new TerraformStack(app, 'stack');
    const ip = new TerraformVariable(s, 'ip', { type: 'string' });
    host(s, 'a', { address: ip.stringValue });
    host(s, 'b', { address: ip.stringValue });
  }],
];

describe('hosts that share an address', () => {
  test.each(CONFLICTS)('%s: an error at synth', (_name, build, errors) => {
    const app = new App({ outdir: Testing.app().outdir });
    build(app);
    expect(synthErrors(app)).toEqual(errors);
  });

  test.each(NO_CONFLICT)('%s: no error', (_name, build) => {
    const app = new App({ outdir: Testing.app().outdir });
    build(app);
    expect(synthErrors(app)).toEqual([]);
  });

  test('the same address in two apps is no conflict', () => {
    for (let i = 0; i < 2; i++) {
      const app = new App({ outdir: Testing.app().outdir });
      host(new TerraformStack(app, 'stack'), 'web', { address: '192.0.2.10' });
      expect(synthErrors(app)).toEqual([]);
    }
  });

  test('a conflict across stacks fails the synth before it writes anything', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-synth-'));
    const app = new App({ outdir });
    host(new TerraformStack(app, 'one'), 'web', { address: '192.0.2.10' });
    host(new TerraformStack(app, 'two'), 'web', { address: '192.0.2.10' });
    expect(() => app.synth()).toThrow("address '192.0.2.10' of one/web is also used by two/web");
    // cdktf's app makes the empty stacks folder up front; nothing goes into it
    expect(fs.readdirSync(outdir)).toEqual(['stacks']);
    expect(fs.readdirSync(path.join(outdir, 'stacks'))).toEqual([]);
  });

  test('a fleet of 1000 hosts with one duplicate: one message', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const s = new TerraformStack(app, 'stack');
    const hosts = Array.from({ length: 1000 }, (_, i) => new StatefulHost(s, `h${i}`, {
      address: `10.0.${i >> 8}.${i & 255}`, deployment: { enabled: false },
    }));
    new StatefulHost(s, 'twin', { address: '10.0.3.231', deployment: { enabled: false } });
    const errors = [...hosts, s.node.findChild('twin')].flatMap((h) => h.node.validate()).filter((e) => e.includes('also used by'));
    expect(errors).toEqual([`address '10.0.3.231' of stack/h999 is also used by stack/twin: ${FIX}`]);
  });
});
