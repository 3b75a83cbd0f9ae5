// The core's internal barrel: everything below src/core, for the tests and benchmarks.
// It is NOT the package's API: src/index.ts names the public types one by one, and the
// ruleset model is the experimental `model` submodule (src/core/model).
// No cdktf import and no fs anywhere below this folder (test/core/no-cdktf.test.ts enforces it).
export * from './values/family';
export * from './values/protocol';
export * from './values/port';
export * from './values/peer';
export * from './ir/connection-state';
export * from './ir/verdict';
export * from './ir/rate-limit';
export * from './ir/connection-limits';
export * from './ir/rate-matches';
export * from './ir/conntrack-helper';
export * from './ir/reject-with';
export * from './ir/chain-hook';
export * from './ir/rule-match';
export * from './ir/rule';
export * from './ir/set-definition';
export * from './ir/verdict-map';
export * from './ir/chain';
export * from './ir/ruleset-model';
export * from './backends/backend';
export * from './policy/default-action';
export * from './policy/host-policy';
export * from './compiled-ruleset';
export * from './policy/conntrack-sizing';
export * from './simulate/tcp-flag';
export * from './simulate/direction';
export * from './simulate/packet';
export * from './simulate/simulator';
export * from './explain/explain';
export * from './explain/plan-summary';
export * from './host-model-file';
