/**
 * Records the package's current jsii API as the baseline `npx projen api-compat` compares
 * against (jsii-diff, stable API only): copies the `.jsii` assembly the last compile wrote
 * to api/baseline/.jsii and writes api/baseline/package.json, the minimum jsii-diff needs
 * to load a directory (a `jsii` section, and the dependencies whose types the assembly
 * references: cdktf, constructs). Run by `npx projen api-baseline` (which compiles
 * first) when a release is cut; commit both files.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'api', 'baseline');

const assembly = JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf8'));
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

fs.mkdirSync(OUT, { recursive: true });
fs.copyFileSync(path.join(ROOT, '.jsii'), path.join(OUT, '.jsii'));
const baseline = {
  // not the package's name: jest's module map would see two packages of the same name
  name: `${pkg.name}-api-baseline`,
  version: assembly.version,
  private: true,
  description: `The jsii API of ${pkg.name} ${assembly.version} (written by scripts/api-baseline.ts; read by jsii-diff in \`npx projen api-compat\`).`,
  jsii: { outdir: 'dist', targets: {} },
  peerDependencies: pkg.peerDependencies,
};
fs.writeFileSync(path.join(OUT, 'package.json'), `${JSON.stringify(baseline, null, 2)}\n`);
console.log(`api/baseline: ${Object.keys(assembly.types).length} types of ${assembly.name} ${assembly.version}`);
