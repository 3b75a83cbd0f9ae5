// The package as npm publishes it: `npm pack` of the compiled repository (lib/ and .jsii
// from jsii: the task test:package runs after the compile), unpacked into an app folder
// outside the repository (so nothing resolves from the repository's node_modules by
// accident) whose only other modules are the peers, cdktf and constructs.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

let app: string;
let installed: string;
let files: string[];

beforeAll(() => {
  for (const f of ['lib/index.js', '.jsii']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: compile first (npx projen compile, or npx projen package-check)`);
  }
  app = fs.mkdtempSync('/tmp/sfw-package-');
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', app], { cwd: ROOT, encoding: 'utf8' });
  const packed = JSON.parse(out)[0];
  files = packed.files.map((f: { path: string }) => f.path).sort();
  installed = path.join(app, 'node_modules', PKG.name);
  fs.mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', path.join(app, packed.filename), '-C', installed, '--strip-components=1']);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'sfw-package-test-app', private: true }));
  for (const peer of ['cdktf', 'constructs']) fs.symlinkSync(path.join(ROOT, 'node_modules', peer), path.join(app, 'node_modules', peer));
});

afterAll(() => {
  if (app) fs.rmSync(app, { recursive: true, force: true });
});

function node(args: string[], input?: string) {
  const r = spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', input, timeout: 60_000 });
  return { ...r, out: `${r.stdout}${r.stderr}` };
}

describe('npm pack', () => {
  test('ships no tests, benchmarks, labs, examples, dev scripts, sources, coverage or build output of other languages', () => {
    const forbidden = /^(test|tests|bench|lab|examples|scripts|src|coverage|test-reports|test-tmp|dist|api|projenrc|\.projen|\.ci|\.github|assets\/sfw-apply)\//;
    expect(files.filter((f) => forbidden.test(f))).toEqual([]);
    expect(files.filter((f) => /\.test\.|\.spec\.|\.tsbuildinfo$|^\.projenrc|^tsconfig|\.snap$|^junit\.xml$/.test(f))).toEqual([]);
  });

  test('ships what runs: lib, the typings, the jsii assembly, the apply script, every bin, README, CHANGELOG, LICENSE', () => {
    const needed = ['lib/index.js', 'lib/index.d.ts', 'lib/testing/jest.js', 'lib/testing/jest.d.ts', 'lib/cli/explain.js', '.jsii',
      'assets/sfw-apply.sh', 'package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', ...Object.values<string>(PKG.bin)];
    expect(needed.filter((f) => !files.includes(f))).toEqual([]);
    // every compiled module comes with its typings
    const js = files.filter((f) => f.startsWith('lib/') && f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(50);
    expect(js.filter((f) => !files.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([]);
  });

  test('the version is the CHANGELOG\'s latest release', () => {
    const changelog = fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8');
    expect(PKG.version).not.toBe('0.0.0');
    expect(/^## \[?(\d+\.\d+\.\d+)/m.exec(changelog)?.[1]).toBe(PKG.version);
  });
});

describe('the exports map: the documented entry points, from CommonJS and ESM', () => {
  // the root (constructs, values, the compiled ruleset, the experimental `model` submodule)
  const rootUse = (get: string) => `
    const app = new cdktf.App({ outdir: ${JSON.stringify('OUT')} });
    const stack = new cdktf.TerraformStack(app, 'web');
    const web = new sfw.StatefulHost(stack, 'web', { address: '203.0.113.10', deployment: { connection: { hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf' } } });
    web.addService('Web', { ports: [sfw.Port.HTTPS] });
    web.addAdminAccess('Ops', { peers: [sfw.Peer.ipv4('198.51.100.7')] });
    app.synth();
    const verdict = web.ruleset.simulate(sfw.Packet.tcp({ from: '198.51.100.1', port: 443 })).verdict;
    const rules = web.ruleset.model.tables.flatMap((t) => t.chains.flatMap((c) => c.rules)).length;
    const script = fs.existsSync(OUTDIR + '/stacks/web/firewall/_deploy/sfw-apply.sh');
    const matchers = Object.keys(${get});
    console.log(JSON.stringify({ verdict, rules, script, hasModel: typeof sfw.model, matchers }));
  `;

  function check(r: { status: number | null; out: string }) {
    expect(r.out).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(result.verdict).toBe('accept');
    expect(result.rules).toBeGreaterThan(3);
    expect(result.script).toBe(true);
    expect(result.hasModel).toBe('object');
    expect(result.matchers.length).toBeGreaterThan(0);
  }

  test('require()', () => {
    const out = path.join(app, 'cjs.out');
    check(node(['-e', `
      const fs = require('fs'); const OUTDIR = ${JSON.stringify(out)};
      const cdktf = require('cdktf');
      const sfw = require('${PKG.name}');
      const jestMatchers = require('${PKG.name}/lib/testing/jest');
      ${rootUse('jestMatchers').replace("'OUT'", 'OUTDIR').replace('"OUT"', 'OUTDIR')}
    `]));
  });

  test('import', () => {
    const out = path.join(app, 'esm.out');
    check(node(['--input-type=module', '-e', `
      import * as fs from 'fs'; const OUTDIR = ${JSON.stringify(out)};
      import * as cdktf from 'cdktf';
      import * as sfw from '${PKG.name}';
      import { StatefulHost, Port, model } from '${PKG.name}';
      import * as jestMatchers from '${PKG.name}/lib/testing/jest';
      if (StatefulHost !== sfw.StatefulHost || Port !== sfw.Port || model !== sfw.model) throw new Error('named exports differ');
      ${rootUse('jestMatchers').replace('"OUT"', 'OUTDIR')}
    `]));
  });

  test('paths that are not API stay closed', () => {
    for (const flag of [[], ['--input-type=module']]) {
      const code = flag.length ? `import '${PKG.name}/lib/core/compile/compile.js';` : `require('${PKG.name}/lib/core/compile/compile');`;
      const r = node([...flag, '-e', code]);
      expect(r.status).not.toBe(0);
      expect(r.out).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    }
  });
});

describe('the CLIs of the installed package', () => {
  test.each(Object.entries<string>(PKG.bin))('%s --help and -h print the usage and exit 0', (name, file) => {
    for (const flag of ['--help', '-h']) {
      const r = node([path.join(installed, file), flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/usage/i);
      expect(r.stdout).toContain(name);
    }
  });
});

describe('without a CDK', () => {
  test('the root loads and compiles a ruleset with neither cdktf nor cdktn resolvable (README, "Using the engine without cdktf")', () => {
    const r = node(['-e', `
      const Module = require('module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (/^(cdktf|cdktn)(\\/|$)/.test(request)) { const e = new Error("Cannot find module '" + request + "'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
        return resolve.call(this, request, ...rest);
      };
      const { CompiledRuleset, Peer, Port } = require('${PKG.name}');
      const ruleset = CompiledRuleset.compile({ name: 'web', allowances: [{ origin: 'web/https', ports: [Port.HTTPS], peers: [Peer.any()] }] });
      console.log(ruleset.toNftables().includes('tcp . 0-65535 . 443 : goto ') ? 'compiled' : 'no https rule');
    `]);
    expect(r.out.trim()).toBe('compiled');
    expect(r.status).toBe(0);
  });
});

describe('the other jsii languages (jsii-pacmak --code-only, run by test:package before this file)', () => {
  const CODE = path.join(ROOT, 'dist', 'code-only');
  const python = () => fs.readFileSync(path.join(CODE, 'python', 'src', 'cdktf_stateful_firewall', '__init__.py'), 'utf8');

  test('Python, Java, .NET and Go code is generated for the stable API and the model submodule', () => {
    const expected = [
      'python/src/cdktf_stateful_firewall/__init__.py',
      'python/src/cdktf_stateful_firewall/model/__init__.py',
      'java/src/main/java/io/github/maintainers/cdktf/statefulfirewall/StatefulHost.java',
      'dotnet/Maintainers.Cdktf.StatefulFirewall/Maintainers/Cdktf/StatefulFirewall/StatefulHost.cs',
      'go/statefulfirewall/StatefulHost.go',
      'go/statefulfirewall/model',
    ];
    expect(expected.filter((f) => !fs.existsSync(path.join(CODE, f)))).toEqual([]);
  });

  test("every name in the README's Python snippet is in the generated Python", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const snippet = /```python\n([\s\S]*?)```/.exec(readme)![1];
    const generated = python();
    const imported = /from cdktf_stateful_firewall import \(([^)]*)\)/.exec(snippet)![1].split(',').map((n) => n.trim()).filter(Boolean);
    expect(imported.length).toBeGreaterThan(5);
    const missing: string[] = [];
    const classBody = (name: string) => {
      const start = generated.search(new RegExp(`^class ${name}\\b`, 'm'));
      if (start < 0) return undefined;
      const next = generated.slice(start + 1).search(/^class /m);
      return generated.slice(start, next < 0 ? undefined : start + 1 + next);
    };
    for (const name of imported) if (!classBody(name)) missing.push(`class ${name}`);
    // Class.member: a static method or property, or an enum member
    for (const [, cls, member] of snippet.matchAll(/\b([A-Z]\w+)\.(\w+)/g)) {
      if (!imported.includes(cls)) continue;
      const body = classBody(cls) ?? '';
      if (!new RegExp(`def ${member}\\(|^\\s+${member} = `, 'm').test(body)) missing.push(`${cls}.${member}`);
    }
    // instance members (web.add_service, ruleset.simulate(...).verdict) and keyword arguments
    for (const [, receiver, member] of snippet.matchAll(/(\w+|\))\.([a-z_]+)\b/g)) {
      if (receiver === 'app') continue; // cdktf's App
      if (!new RegExp(`def ${member}\\(`).test(generated)) missing.push(`.${member}`);
    }
    for (const [, kw] of snippet.matchAll(/\b([a-z_]+)=(?!=)/g)) {
      if (!new RegExp(`^\\s+${kw}: `, 'm').test(generated)) missing.push(`${kw}=`);
    }
    expect(missing).toEqual([]);
  });
});
