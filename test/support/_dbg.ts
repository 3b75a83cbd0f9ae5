import { CompiledRuleset } from '../../src/core';
import { randomPolicyWithFeatures } from './random-policy';
const r = CompiledRuleset.compile(randomPolicyWithFeatures(Number(process.argv[2]), 12, 0));
for (const t of r.model.tables) for (const c of t.chains) { console.log(t.name, c.name, c.policy); for (const x of c.rules) console.log('  ', JSON.stringify(x.match), x.verdict, x.helper ?? '', x.origins.join(','), x.comment); }
