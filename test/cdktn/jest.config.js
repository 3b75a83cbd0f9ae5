// The CDK Terrain run (`npx projen test:cdktn`): the construct, check, deployment and
// example tests of the main run, on the real cdktn 0.24 and constructs 10.7 installed in
// test/cdktn/node_modules (scripts/test-setup.sh: npm ci --prefix test/cdktn).
//
// The tests and examples import 'cdktf' (App, Testing, TerraformStack, ...) as a cdktf
// app does; here those imports load cdktn, as a cdktn app's would. No cdktf code is
// loaded at all (test/cdktn/cdktn.test.ts checks that), so the library meets exactly what
// it meets in a cdktn app: cdktn's classes, and no cdktf to fall back on.
const path = require('path');
const main = require('../../package.json').jest;

const root = path.join(__dirname, '..', '..');
// tests that run cdktf's CLI in a child process are left out (test/support/cdk-cli.ts)
process.env.SFW_TEST_CDK = 'cdktn';
const here = path.join(__dirname, 'node_modules');
for (const m of ['cdktn', 'constructs']) {
  try {
    require.resolve(`${m}/package.json`, { paths: [__dirname] });
  } catch {
    throw new Error(`test/cdktn: ${m} is not installed: run 'npm ci --prefix test/cdktn' (scripts/test-setup.sh does)`);
  }
}

/** @type {import('jest').Config} */
module.exports = {
  rootDir: root,
  displayName: 'cdktn',
  globalSetup: main.globalSetup,
  globalTeardown: main.globalTeardown,
  setupFiles: main.setupFiles,
  testTimeout: main.testTimeout,
  maxWorkers: 1,
  transform: main.transform,
  testPathIgnorePatterns: ['/node_modules/', '/test-tmp/', '/cdktf.out/'],
  testMatch: [
    '<rootDir>/test/cdktn/**/*.test.ts',
    '<rootDir>/test/constructs/**/*.test.ts',
    '<rootDir>/test/checks/**/*.test.ts',
    '<rootDir>/test/examples/**/*.test.ts',
    '<rootDir>/test/testing/**/*.test.ts',
    '<rootDir>/test/synth/**/*.test.ts',
    '<rootDir>/test/deploy/host-deployment.test.ts',
  ],
  moduleNameMapper: {
    '^cdktf$': path.join(here, 'cdktn'),
    '^cdktf/(.*)$': path.join(here, 'cdktn', '$1'),
    '^cdktn$': path.join(here, 'cdktn'),
    '^cdktn/(.*)$': path.join(here, 'cdktn', '$1'),
    '^constructs$': path.join(here, 'constructs'),
    // @cdktf/provider-* extend cdktf's classes: a cdktn app cannot use them
    '^@cdktf/(.*)$': path.join(__dirname, 'no-cdktf-packages.js'),
  },
};
