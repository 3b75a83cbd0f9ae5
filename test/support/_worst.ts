import { Backend, CompiledRuleset, Protocol, Packet, Simulator } from '../../src/core';
import { generateProbes, probePacket } from './differential-lab';
import { randomPolicy, randomPolicyWithFeatures, randomPolicyWithSets } from './random-policy';
const kind = process.argv[2];
const hist: Record<number, number> = {};
let worst = { n: 0, t: [] as string[], p: '' };
let bad = 0;
const pat: Record<string, number> = {};
const n = Number(process.argv[3] ?? 60);
for (let seed = 1; seed <= n; seed++) {
  const pol = kind === 'f' ? randomPolicyWithFeatures(seed, 12, 0) : kind === 's' ? randomPolicyWithSets(seed) : randomPolicy(seed);
  const r = CompiledRuleset.compile(pol);
  const inbound = generateProbes(r, seed * 31, 120).map(probePacket);
  const over = inbound.slice(0, 20).map((p) => (p.protocol === Protocol.TCP ? Packet.tcp({ from: p.source, port: p.destinationPort!, overRateLimit: true, overConnectionLimit: true }) : p));
  for (const p of [...inbound, ...over]) {
    const l = r.simulate(p, Backend.NFTABLES);
    const dropDefault = r.model.tables[0].chains[0].rules.slice(-1)[0].verdict === 'drop';
    if (process.argv[4] === 'drop' && !dropDefault) continue;
    if (process.argv[4] === 'syn' && (!dropDefault || (p.protocol === Protocol.TCP && !p.tcpFlags.includes('SYN' as any)))) continue;
    const lin = Simulator.evaluateModel(r.model, p);
    if (l.verdict !== lin.verdict || JSON.stringify(l.origins) !== JSON.stringify(lin.origins)) { bad++; if (bad < 3) console.log('MISMATCH', seed, p.toString(), l.verdict, lin.verdict, l.origins, lin.origins); }
    if (l.rulesEvaluated > 6) pat[l.trace.filter((x) => !x.includes('logged')).map((x) => x.replace(/#\d+.*?: /, ' ').replace(/\(.*\)/, '').replace(/_p\d+.*? /, '_pN ').replace(/_t\d+.*? /, '_tN ').replace(/[0-9a-f]{6}/g, '')).join(' | ')] = (pat[l.rulesEvaluated > 6 ? l.trace.filter((x) => !x.includes('logged')).map((x) => x.replace(/#\d+.*?: /, ' ').replace(/\(.*\)/, '').replace(/_p\d+.*? /, '_pN ').replace(/_t\d+.*? /, '_tN ').replace(/[0-9a-f]{6}/g, '')).join(' | ') : ''] ?? 0) + 1;
    hist[l.rulesEvaluated] = (hist[l.rulesEvaluated] ?? 0) + 1;
    if (l.rulesEvaluated > worst.n) worst = { n: l.rulesEvaluated, t: l.trace, p: `seed ${seed} ${p}` };
  }
}
for (const [k, v] of Object.entries(pat).sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(v, k);
console.log('bad', bad, JSON.stringify(hist), worst.p, '\n' + worst.t.join('\n'));
