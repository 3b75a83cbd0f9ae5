// The packed package (`npx projen test:package`, after jsii compiled lib/ and .jsii):
// what `npm pack` ships, and the documented entry points loaded from an unpacked copy.
const main = require('../../package.json').jest;
const path = require('path');

/** @type {import('jest').Config} */
module.exports = {
  rootDir: path.join(__dirname, '..', '..'),
  displayName: 'package',
  globalSetup: main.globalSetup,
  globalTeardown: main.globalTeardown,
  setupFiles: main.setupFiles,
  testTimeout: main.testTimeout,
  maxWorkers: 1,
  transform: main.transform,
  testMatch: ['<rootDir>/test/package/**/*.test.ts'],
};
