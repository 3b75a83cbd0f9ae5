import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { WEB_HOST_KEY, WebServerStack } from '../../examples/webserver/main';
import { Peer, Port, StatefulHost } from '../../src';
import { diffOutputs, main, USAGE } from '../../src/cli/diff';

/** Synthesizes the webserver example into a fresh folder, after `change` edits it. */
function synth(change: (stack: WebServerStack) => void): string {
  const outdir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'sfw-diff-'));
  const app = new App({ outdir });
  change(new WebServerStack(app, 'webserver'));
  app.synth();
  return outdir;
}

describe('sfw-diff', () => {
  let base: string;
  let refactored: string;
  let changed: string;
  let twoStacks: string;
  beforeAll(() => {
    base = synth(() => undefined);
    // the webmasters' range written as single addresses, in another declaration: the same traffic
    refactored = synth((s) => s.web.addAdminAccess('Webmasters2', { peers: [Peer.ipv4('10.9.8.8'), Peer.ipv4('10.9.8.7')] }));
    changed = synth((s) => {
      s.web.addService('Metrics', { ports: [Port.tcp(9100)], peers: [Peer.ipv4('10.9.0.0/16'), Peer.ipv6('2001:db8:9::/48')] });
    });
    twoStacks = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'sfw-diff-'));
    const app = new App({ outdir: twoStacks });
    new WebServerStack(app, 'webserver');
    const staging = new TerraformStack(app, 'staging');
    new StatefulHost(staging, 'web', { address: '203.0.113.11', deployment: { connection: { hostKey: WEB_HOST_KEY } } })
      .addAdminAccess('Ops', { peers: [Peer.ipv4('10.9.8.7')] });
    app.synth();
  });

  test('a change of an example: the new opening per family, with examples; exit 1', () => {
    const lines: string[] = [];
    expect(main([base, changed], (t) => lines.push(t))).toBe(1);
    expect(lines.join('')).toBe([
      'semantic diff: 1 host changed, 0 added, 0 removed, 0 unchanged',
      '',
      'host web (stack webserver, webserver/web), iptables',
      '  IPv4 newly allowed:',
      '    inbound from 10.9.0.0/16: tcp/9100, state new: reject:host-prohibited -> accept',
      '      e.g. tcp 10.9.0.1:40000 -> :9100 [SYN] state new (inbound): reject:host-prohibited -> accept',
      '  IPv6 newly allowed:',
      '    inbound from 2001:db8:9::/48: tcp/9100, state new: reject:host-prohibited -> accept',
      '      e.g. tcp [2001:db8:9::1]:40000 -> :9100 [SYN] state new (inbound): reject:host-prohibited -> accept',
      '',
    ].join('\n'));
    const md: string[] = [];
    expect(main([base, changed, '--format', 'markdown'], (t) => md.push(t))).toBe(1);
    expect(md.join('')).toContain('| newly allowed | IPv4 | inbound | 10.9.0.0/16 | tcp/9100 | new | reject:host-prohibited | accept | `tcp 10.9.0.1:40000 -> :9100 [SYN] state new` |');
  });

  test('a refactor reports no change (exit 0); hosts added and removed (exit 1)', () => {
    const out: string[] = [];
    expect(main([base, refactored], (t) => out.push(t))).toBe(0);
    expect(out.join('')).toBe('semantic diff: 0 hosts changed, 0 added, 0 removed, 1 unchanged\nno change in the traffic any host accepts\n');
    const added = diffOutputs(base, twoStacks);
    expect(added.added.map((h) => `${h.stack}/${h.hostName}`)).toEqual(['staging/web']);
    expect(diffOutputs(twoStacks, base).removed.map((h) => `${h.stack}/${h.hostName}`)).toEqual(['staging/web']);
  });

  test('usage errors exit 2; --help exits 0; the bin runs from the clone', () => {
    const err: string[] = [];
    expect(main([base], () => undefined, (t) => err.push(t))).toBe(2);
    expect(err.join('')).toBe(`sfw-diff: two output directories expected (old and new), got 1\n${USAGE}`);
    expect(main([base, changed, '--format', 'html'], () => undefined, () => undefined)).toBe(2);
    expect(main([base, changed, '--colour'], () => undefined, () => undefined)).toBe(2);
    expect(main([base, path.join(base, 'nothing')], () => undefined, () => undefined)).toBe(2);
    const root = path.join(__dirname, '..', '..');
    const run = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin', 'sfw-diff'), ...args], { encoding: 'utf8' });
    const help = run('--help');
    expect([help.status, help.stdout]).toEqual([0, USAGE]);
    const r = run(base, changed, '--format=markdown');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('#### `web` (stack webserver, `webserver/web`)');
  });
});
