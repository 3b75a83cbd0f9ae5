// The `model` submodule (experimental: may change in any release): the backend-neutral
// ruleset model the compiler produces and the simulator, explain and renderers read.
// Stable members that expose it (CompiledRuleset.model, fromModel, iptablesModel,
// nftablesModel, Simulator.evaluateModel, SimulationResult.rule) are experimental too.
//
// `export *` on purpose: jsii places a type in a submodule only through `export *`
// (a named re-export stays in the root namespace), so each file listed here holds
// nothing but model types.
export * from '../ir/chain-hook';
export * from '../ir/chain';
export * from '../ir/rate-matches';
export * from '../ir/rule-match';
export * from '../ir/rule';
export * from '../ir/set-definition';
export * from '../ir/verdict-map';
export * from '../ir/ruleset-model';
export * from '../host-model-file';
