import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ENGINE = path.join(__dirname, '..', '..', 'src', 'core');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('the core stands without cdktf', () => {
  test('no file under src/core imports cdktf, constructs, fs, child_process, or a layer above', () => {
    const offenders = files(ENGINE)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => {
        const text = fs.readFileSync(f, 'utf8');
        const imports = [...text.matchAll(/(?:from|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
        return imports
          .filter((i) => /^(cdktf|constructs|@cdktf\/|fs$|node:fs$|child_process$|node:child_process$)/.test(i) || /\.\.\/(constructs|deploy)\b/.test(i) || (i.startsWith('.') && !path.resolve(path.dirname(f), i).startsWith(ENGINE)))
          .map((i) => `${path.relative(ENGINE, f)} imports ${i}`);
      });
    expect(offenders).toEqual([]);
  });

  test('the core loads and compiles in a process where cdktf cannot be resolved', () => {
    const script = `
      const Module = require('module');
      const orig = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (/^(cdktf|constructs|@cdktf\\/)/.test(request)) throw new Error('cdktf was loaded: ' + request);
        return orig.call(this, request, ...rest);
      };
      require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(path.join(__dirname, '..', 'tsconfig.json'))} });
      const e = require(${JSON.stringify(ENGINE)});
      const r = e.CompiledRuleset.compile({ name: 'h', allowances: [{ origin: 'o', ports: [e.Port.SSH], peers: [e.Peer.ipv4('192.0.2.1')] }] });
      process.stdout.write(r.toNftables());
    `;
    const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.stdout).toContain('ip saddr 192.0.2.1 tcp flags syn / fin,syn,rst,ack accept');
  });
});
