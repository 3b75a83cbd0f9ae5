import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildApp } from '../../examples/webserver/main';
import { explainOutput } from '../../src/cli/explain';

describe('sfw-explain', () => {
  const outdir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'sfw-explain-'));
  beforeAll(() => buildApp(outdir).synth());

  test('explains every host of a synthesized output', () => {
    const text = explainOutput(outdir);
    expect(text.split('\n')[0]).toBe('# stack webserver, webserver/web, backend iptables');
    expect(text).toContain('10.9.8.7-10.9.8.10');
    expect(explainOutput(outdir, { markdown: true })).toBe(`<!-- stack webserver, webserver/web, backend iptables -->\n${fs.readFileSync(path.join(outdir, 'stacks/webserver/firewall/web/explain.md'), 'utf8')}`);
  });

  test('runs as a command, and fails clearly', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../../src/cli/explain.ts'), ...args], { encoding: 'utf8' });
    const ok = run(outdir, '--host', 'web');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('tcp 22 (SYN)');
    const missing = run(outdir, '--host', 'nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`sfw-explain: no host named 'nope' in ${outdir}\n`);
    expect(run(path.join(outdir, 'nothing')).stderr).toContain('no synthesized stacks in');
  });
});
