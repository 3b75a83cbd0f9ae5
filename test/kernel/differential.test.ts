import { DifferentialLab, differentialLabSupported, formatOutcome, LOAD_BACKENDS, runPolicy } from '../support/differential-lab';

// Differential test against the kernel: random policies, each loaded into a network
// namespace (iptables-nft, nftables and iptables-legacy in turn), and random probes sent
// as real packets from a second namespace. Whether each probe reached the host's stack
// and what came back must be what the simulator predicts, for every probe: the probe's
// verdict, and the verdict on the host's answer (the stack's or a REJECT's) on its OUTPUT path.
// Reproduce or widen a run with SFW_DIFF_SEED=<base seed>, or with
// `npx ts-node --project test/tsconfig.json scripts/differential.ts --seed <seed> --policies 1 --probes 50`.

const POLICIES = 30;
/** Policies with long peer and port lists (`randomPolicyWithSets`): ipsets for iptables, named sets for nftables. */
const SET_POLICIES = 15;
/**
 * Policies with random combinations of every host feature (`randomPolicyWithFeatures`:
 * drop logging, outbound filtering, notrack, conntrack helpers, limits, denials, ping
 * limits, late-bound peers, single-family hosts), so the kernel checks the verdict-map
 * layout of every nftables chain, not only the input chain, and the host's answers on its
 * OUTPUT path. 30 x 50 probes add about 45 s on a 2-core machine (43.5 s measured: 1.4 s
 * a policy, loading included; 150 of them took 214 s with scripts/differential.ts).
 */
const FEATURE_POLICIES = 30;
const PROBES = 50;
const BASE_SEED = process.env.SFW_DIFF_SEED !== undefined ? Number(process.env.SFW_DIFF_SEED) : 1;

if (!Number.isInteger(BASE_SEED) || BASE_SEED < 0) throw new Error(`SFW_DIFF_SEED must be a non-negative integer, not '${process.env.SFW_DIFF_SEED}'`);

jest.setTimeout(300_000);

const describeKernel = differentialLabSupported() ? describe : describe.skip;

describeKernel(`kernel and simulator agree (${POLICIES} + ${SET_POLICIES} policies with sets + ${FEATURE_POLICIES} with features x ${PROBES} probes, base seed ${BASE_SEED})`, () => {
  let lab: DifferentialLab | undefined;
  let compared = 0;
  let agreed = 0;

  beforeAll(async () => {
    lab = await DifferentialLab.start({ tag: 'difftest' });
  });

  afterAll(() => lab?.destroy());

  const cases = [
    ...Array.from({ length: POLICIES }, (_, index) => ({
      index,
      seed: BASE_SEED + index,
      backend: LOAD_BACKENDS[index % LOAD_BACKENDS.length],
      sets: false,
      features: false,
    })),
    ...Array.from({ length: SET_POLICIES }, (_, i) => ({
      index: POLICIES + i,
      seed: BASE_SEED + i,
      backend: LOAD_BACKENDS[i % LOAD_BACKENDS.length],
      sets: true,
      features: false,
    })),
    ...Array.from({ length: FEATURE_POLICIES }, (_, i) => ({
      index: POLICIES + SET_POLICIES + i,
      seed: BASE_SEED + i,
      backend: LOAD_BACKENDS[i % LOAD_BACKENDS.length],
      sets: false,
      features: true,
    })),
  ];

  test.each(cases)('policy $index: seed $seed on $backend (long lists: $sets, features: $features)', async ({ seed, backend, sets, features }) => {
    if (!lab) throw new Error('the lab did not start');
    const outcome = await runPolicy(lab, { seed, probes: PROBES, backend, sets, features });
    compared += outcome.compared;
    agreed += outcome.agreed;
    if (outcome.mismatches.length > 0) throw new Error(formatOutcome(outcome));
    expect(outcome.compared).toBe(PROBES);
    expect(outcome.agreed).toBe(PROBES);
  });

  test('every probe of every policy was compared, and all agreed', () => {
    expect(compared).toBe((POLICIES + SET_POLICIES + FEATURE_POLICIES) * PROBES);
    expect(agreed).toBe((POLICIES + SET_POLICIES + FEATURE_POLICIES) * PROBES);
  });
});
