import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildApp as buildResolver } from '../../examples/resolver/main';
import { buildApp } from '../../examples/webserver/main';
import { explainOutput, USAGE } from '../../src/cli/explain';

describe('sfw-explain', () => {
  const outdir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'sfw-explain-'));
  beforeAll(() => buildApp(outdir).synth());

  test('explains every host of a synthesized output', () => {
    const text = explainOutput(outdir);
    expect(text.split('\n')[0]).toBe('# stack webserver, webserver/web, backend iptables');
    expect(text).toContain('10.9.8.7-10.9.8.10');
    expect(explainOutput(outdir, { markdown: true })).toBe(`<!-- stack webserver, webserver/web, backend iptables -->\n${fs.readFileSync(path.join(outdir, 'stacks/webserver/firewall/web/explain.md'), 'utf8')}`);
  });

  test('every chain and the conntrack sizing: outbound, before conntrack, limits, logging (the resolver example)', () => {
    const resolverOut = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'sfw-explain-resolver-'));
    buildResolver(resolverOut).synth();
    const text = explainOutput(resolverOut);
    const lines = text.split('\n');
    expect(lines.filter((l) => /^(\w+|conntrack sizing): /.test(l))).toEqual([
      'input: inbound: what reaches the host [iptables filter INPUT -> SFW-INPUT]',
      'output: outbound: what the host sends [iptables filter OUTPUT -> SFW-OUTPUT]',
      'raw_prerouting: received, before connection tracking (untracked services) [iptables raw PREROUTING -> SFW-PREROUTING]',
      'raw_output: sent, before connection tracking (untracked services) [iptables raw OUTPUT -> SFW-OUTPUT]',
      'conntrack sizing: 21000 expected connections: nf_conntrack_max 42496, 42496 hash buckets, about 13.3 MiB of kernel memory; the deploy raises the host\'s values to these where they are lower.',
    ]);
    expect(text).toMatch(/udp from port 53 +untracked +accept +resolver\/ns1\/DnsUdp/);
    expect(text).toMatch(/tcp 22 \(SYN\) over 10\/minute burst 5 per source +new +drop/);
    expect(text).toContain("log (prefix 'sfw ns1: ')");
    // the Markdown form is explain.md, sizing included
    expect(explainOutput(resolverOut, { markdown: true })).toBe(`<!-- stack resolver, resolver/ns1, backend iptables -->\n${fs.readFileSync(path.join(resolverOut, 'stacks/resolver/firewall/ns1/explain.md'), 'utf8')}`);
  });

  const root = path.join(__dirname, '..', '..');
  /** A clone that was never built (no lib/): the launcher, with src and node_modules linked. */
  const clone = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'sfw-clone-'));
  beforeAll(() => {
    fs.mkdirSync(path.join(clone, 'bin'));
    fs.copyFileSync(path.join(root, 'bin', 'sfw-explain'), path.join(clone, 'bin', 'sfw-explain'));
    for (const d of ['src', 'node_modules', 'assets', 'tsconfig.json']) fs.symlinkSync(path.join(root, d), path.join(clone, d));
    fs.mkdirSync(path.join(clone, 'test'));
    fs.copyFileSync(path.join(root, 'test', 'tsconfig.json'), path.join(clone, 'test', 'tsconfig.json'));
  });

  test.each([
    ['the repository\'s bin', path.join(root, 'bin', 'sfw-explain')],
    ['the bin in a clone without lib/', path.join(clone, 'bin', 'sfw-explain')],
  ])('runs as a command (%s), and fails clearly', (_name, bin) => {
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(root, 'node_modules') } });
    const ok = run(outdir, '--host', 'web');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('tcp 22 (SYN)');
    const missing = run(outdir, '--host', 'nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`sfw-explain: no host named 'nope' in ${outdir}\n`);
    expect(run(path.join(outdir, 'nothing')).stderr).toContain('no synthesized stacks in');
    // --help, and usage errors (exit 2) say what is expected
    for (const help of ['-h', '--help']) {
      const h = run(help);
      expect(h.status).toBe(0);
      expect(h.stdout).toBe(USAGE);
    }
    const unknown = run(outdir, '--colour');
    expect([unknown.status, unknown.stderr]).toEqual([2, `sfw-explain: unknown option --colour\n${USAGE}`]);
    expect(run(outdir, '--host').stderr).toBe(`sfw-explain: --host needs a host name\n${USAGE}`);
    expect(run(outdir, outdir).status).toBe(2);
    expect(run(outdir, '--host=web').stdout).toBe(ok.stdout);
  });
});
