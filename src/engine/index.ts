// The engine: value types, ruleset model, compiler and renderers. No cdktf import
// anywhere below this folder (test/engine/no-cdktf.test.ts enforces it).
export * from './family';
export * from './protocol';
export * from './port';
export * from './peer';
export * from './model/connection-state';
export * from './model/verdict';
export * from './model/rate-limit';
export * from './model/connection-limits';
export * from './model/reject-with';
export * from './model/chain-hook';
export * from './model/rule-match';
export * from './model/rule';
export * from './model/set-definition';
export * from './model/verdict-map';
export * from './model/chain';
export * from './model/ruleset-model';
export * from './compiler/backend';
export * from './compiler/default-action';
export * from './compiler/host-policy';
export * from './compiled-ruleset';
export * from './simulator/tcp-flag';
export * from './simulator/direction';
export * from './simulator/packet';
export * from './simulator/simulator';
export * from './explain/explain';
export * from './host-model-file';
