import { cdktf, javascript } from 'projen';
import { UpdateSnapshot } from 'projen/lib/javascript';

const project = new cdktf.ConstructLibraryCdktf({
  author: 'Seed e103ded8 maintainers',
  authorAddress: 'maintainers@users.noreply.r-seed-e103ded8.example',
  cdktfVersion: '0.21.0',
  constructsVersion: '^10.4.2',
  jsiiVersion: '~6.0.0',
  name: 'cdktf-stateful-firewall',
  description:
    'Stateful Linux host firewalls (iptables, ip6tables, nftables) as typed CDK for Terraform constructs: compiled, tested with a packet simulator, and deployed safely.',
  keywords: ['cdktf', 'firewall', 'iptables', 'nftables', 'netfilter', 'conntrack'],
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  defaultReleaseBranch: 'main',
  repositoryUrl: 'https://github.com/maintainers/main.git',
  github: false,
  release: false,

  // the library declares hashicorp/null itself (src/deploy/provisioning-resources.ts);
  // @cdktf/provider-null stays for the benchmark's cdktf-only baseline
  devDeps: ['@cdktf/provider-null@^11.0.0', '@types/node@^20', 'typescript@~6.0.3', 'cdktf-cli@0.21.0'],

  npmIgnoreOptions: { ignorePatterns: ['/examples/', '/bench/', '/lab/', '/.ci/', '/test-tmp/', '/scripts/'] },
  gitignore: ['/node_modules', '/test-tmp/', 'cdktf.out/', '.gen/', '.terraform/', '*.tfstate*', '/bench/tmp/'],

  jestOptions: {
    updateSnapshot: UpdateSnapshot.NEVER,
    jestConfig: {
      // cdktf's Testing helpers leave cdktf.outdir.* folders in os.tmpdir():
      // every run points TMPDIR at test-tmp/run-<pid>/, which globalTeardown removes.
      globalSetup: '<rootDir>/test/support/jest-global-setup.ts',
      setupFiles: ['<rootDir>/test/support/jest-setup-env.ts'],
      globalTeardown: '<rootDir>/test/support/jest-global-teardown.ts',
      testTimeout: 120_000,
      // kernel tests share network namespaces and netfilter state: run files one by one.
      maxWorkers: 1,
      // test/cdktn and test/package run in their own jest projects (tasks test:cdktn, test:package)
      testPathIgnorePatterns: ['/node_modules/', '/test-tmp/', '/cdktf.out/', '/test/cdktn/', '/test/package/'],
      coveragePathIgnorePatterns: ['/node_modules/', '/test/'],
    },
  },
  eslintOptions: { dirs: ['src'], devdirs: ['test', 'examples', 'bench', 'lab', 'scripts', 'projenrc'] },
  // bindings for the other jsii languages (`npx projen package-all`; CI generates their code
  // with `jsii-pacmak --code-only`, task test:package)
  publishToPypi: { distName: 'cdktf-stateful-firewall', module: 'cdktf_stateful_firewall' },
  publishToMaven: {
    javaPackage: 'io.github.maintainers.cdktf.statefulfirewall',
    mavenGroupId: 'io.github.maintainers',
    mavenArtifactId: 'cdktf-stateful-firewall',
  },
  publishToNuget: { dotNetNamespace: 'Maintainers.Cdktf.StatefulFirewall', packageId: 'Maintainers.Cdktf.StatefulFirewall' },
  publishToGo: { moduleName: 'github.com/maintainers/cdktf-stateful-firewall-go', packageName: 'statefulfirewall' },
  tsconfigDev: {
    include: ['../examples/**/*.ts', '../bench/**/*.ts', '../lab/**/*.ts', '../scripts/**/*.ts'],
    compilerOptions: {},
  },
});

// The larger simulator-vs-kernel differential run (root; see test/support/differential-lab.ts).
project.addTask('differential', {
  description: 'Differential run of the packet simulator against the kernel (e.g. -- --policies 200 --probes 100 --seed 7)',
  exec: 'ts-node --project test/tsconfig.json scripts/differential.ts',
  receiveArgs: true,
});

// `npm run bench` (root): the library against the naive ruleset, ferm and ufw, in network
// namespaces; writes bench/RESULTS.md, bench/results.svg and bench/results.json (see bench/run.ts).
project.addTask('bench', {
  description: 'Benchmark against the naive ruleset, ferm and ufw (root; bench/setup.sh installs them); writes bench/RESULTS.md and bench/results.svg',
  steps: [
    { exec: 'sh bench/setup.sh' },
    { exec: 'ts-node --project test/tsconfig.json bench/run.ts', receiveArgs: true },
  ],
});

// The on-host apply script is built from its parts (assets/sfw-apply/: shell parts and awk
// programs) before every compile; the generated assets/sfw-apply.sh stays committed.
const buildApplyScript = project.addTask('build-apply-script', {
  description: 'Concatenate assets/sfw-apply/ (shell parts, awk programs) into assets/sfw-apply.sh',
  exec: 'ts-node -T --project test/tsconfig.json scripts/build-apply-script.ts',
});
project.preCompileTask.spawn(buildApplyScript);
project.addPackageIgnore('/assets/sfw-apply/');

// `npm test` sets up the machine first: as root it installs the Debian tools the kernel and
// deploy labs need (without root it lists the lab suites jest will skip).
project.testTask.prependExec('bash scripts/test-setup.sh');

// Address arithmetic (CIDRs, ranges) is bitwise by nature.
project.eslint?.addRules({ 'no-bitwise': 'off' });

// Stable API guard: jsii-diff compares the compiled assembly with the committed baseline
// (api/baseline: the API of the last release). Stable API only: the experimental `model`
// submodule and @experimental members may change. `npm test` runs it, so CI does.
// On a release: `npx projen api-baseline` and commit api/baseline (README, "API stability").
project.removeTask('compat'); // compared with npm:cdktf-stateful-firewall, never published
const apiCompat = project.addTask('api-compat', {
  description: 'Fail on a breaking change of the stable API against api/baseline (jsii-diff)',
  steps: [
    { spawn: project.compileTask.name },
    { exec: 'jsii-diff api/baseline . --keys' },
  ],
});
project.testTask.spawn(apiCompat);
project.addTask('api-baseline', {
  description: 'Record the current jsii API as api/baseline (on a release; commit it)',
  steps: [
    { spawn: project.compileTask.name },
    { exec: 'ts-node -T --project test/tsconfig.json scripts/api-baseline.ts' },
  ],
});
project.gitignore.include('/api/baseline/.jsii');
project.addPackageIgnore('/api/');

// `npm run example`: synthesize the web server example and print its rulesets.
project.addTask('example', {
  description: 'Synthesize examples/webserver and print each host\'s compiled ruleset',
  exec: 'ts-node --project examples/tsconfig.json examples/print-example.ts webserver',
});

// CDK Terrain: cdktf and cdktn apps both use the library (src/synth/terraform-lib.ts
// loads whichever the app's stacks are built with), so neither peer is required.
project.package.addField('peerDependenciesMeta', { cdktf: { optional: true } });
// The construct, check and example tests again on the real cdktn 0.24 (test/cdktn, its
// own package.json and lockfile; scripts/test-setup.sh installs it).
const testCdktn = project.addTask('test:cdktn', {
  description: 'The construct, check and example tests on CDK Terrain (cdktn 0.24, test/cdktn)',
  exec: 'jest --config test/cdktn/jest.config.js --ci --passWithNoTests',
  receiveArgs: true,
});
project.testTask.spawn(testCdktn);

// Release hygiene: the version of this release (CHANGELOG.md), the subpaths the README
// documents as an exports map (ESM and CommonJS), and a test of the packed package.
project.package.addVersion('0.1.0');
project.package.addField('exports', {
  '.': { types: './lib/index.d.ts', default: './lib/index.js' },
  './lib/testing/jest': { types: './lib/testing/jest.d.ts', default: './lib/testing/jest.js' },
  './package.json': './package.json',
  './.jsii': './.jsii',
});
// test:package needs the compiled lib/ and .jsii: in `npm test` api-compat (just before)
// compiled them; run on its own, `npx projen package-check` compiles first.
const pacmakCodeOnly = 'jsii-pacmak --code-only --outdir dist/code-only --target python --target java --target dotnet --target go';
const testPackage = project.addTask('test:package', {
  description: 'Generate the Python, Java, .NET and Go bindings\' code (jsii-pacmak --code-only), then test the packed package (contents, exports from ESM and CommonJS, CLIs)',
  steps: [
    { exec: pacmakCodeOnly },
    { exec: 'jest --config test/package/jest.config.js --ci' },
  ],
});
project.testTask.spawn(testPackage);
project.addTask('package-check', {
  description: 'Compile, then run test:package',
  steps: [{ spawn: project.compileTask.name }, { spawn: testPackage.name }],
});
// `npx projen build` packages the npm tarball only: building the other languages' packages
// needs their toolchains (.NET SDK, Go, Maven, Python build tools), which a release machine has
// (`npx projen package-all`); every build still generates their code (test:package above).
const packageTask = project.tasks.tryFind('package')!;
packageTask.reset();
packageTask.spawn(project.tasks.tryFind('package:js')!);

project.synth();
