/**
 * A test that runs a CLI of cdktf 0.21 (`cdktf synth`, `npx projen example`) in a child
 * process. The cdktn run (test/cdktn/jest.config.js) leaves these out: a child process
 * loads the cdktf installed at the top of node_modules, not the cdktn of that run, and
 * cdktn's own CLI (cdktn-cli 0.24) needs Node 22.19 or later. The examples themselves are
 * synthesized in-process (their `buildApp`) in both runs.
 */
export const cdktfCliTest: jest.It = process.env.SFW_TEST_CDK === 'cdktn' ? test.skip : test;
