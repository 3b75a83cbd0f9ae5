/**
 * Differential run against the kernel, larger than the CI test (run as root):
 *
 *   npx ts-node --project test/tsconfig.json scripts/differential.ts --policies 200 --probes 100 --seed N
 *
 * Policy i uses seed N + i and is loaded with iptables-nft, nftables and iptables-legacy
 * in turn (or always with --backend). Prints every disagreement between the simulator and
 * the kernel, then policies x probes, agreement and duration; exits 1 unless all agree.
 * Options: --policies (default 200), --probes (default 100), --seed (default $SFW_DIFF_SEED
 * or 1), --backend iptables-nft|iptables-legacy|nftables, --max-allowances (default 12),
 * --sets (policies with long peer and port lists that compile to ipsets / nftables sets),
 * --features (random combinations of every host feature: drop logging, outbound filtering,
 * notrack, conntrack helpers, limits, denials, ping limits, late-bound peers, single-family
 * hosts: `randomPolicyWithFeatures`).
 */
import {
  DifferentialLab,
  differentialLabSupported,
  formatOutcome,
  LOAD_BACKENDS,
  LoadBackend,
  PolicyOutcome,
  runPolicy,
} from '../test/support/differential-lab';

interface Args {
  policies: number;
  probes: number;
  seed: number;
  backend?: LoadBackend;
  maxAllowances: number;
  sets: boolean;
  features: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { policies: 200, probes: 100, seed: Number(process.env.SFW_DIFF_SEED ?? 1), maxAllowances: 12, sets: false, features: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const num = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got '${value}'`);
      i++;
      return n;
    };
    switch (flag) {
      case '--policies':
        args.policies = num();
        break;
      case '--probes':
        args.probes = num();
        break;
      case '--seed':
        args.seed = num();
        break;
      case '--max-allowances':
        args.maxAllowances = num();
        break;
      case '--sets':
        args.sets = true;
        break;
      case '--features':
        args.features = true;
        break;
      case '--backend':
        if (!LOAD_BACKENDS.includes(value as LoadBackend)) throw new Error(`--backend must be one of ${LOAD_BACKENDS.join(', ')}`);
        args.backend = value as LoadBackend;
        i++;
        break;
      default:
        throw new Error(`unknown argument '${flag}'`);
    }
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!differentialLabSupported()) {
    console.error('differential: needs root, network namespaces and /usr/bin/python3 with scapy');
    return 2;
  }
  const started = Date.now();
  const outcomes: PolicyOutcome[] = [];
  const lab = await DifferentialLab.start({ tag: 'diffrun' });
  const stop = () => {
    lab.destroy();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for (let i = 0; i < args.policies; i++) {
      const seed = args.seed + i;
      const backend = args.backend ?? LOAD_BACKENDS[i % LOAD_BACKENDS.length];
      const { probes, maxAllowances, sets, features } = args;
      const outcome = await runPolicy(lab, { seed, probes, backend, maxAllowances, sets, features });
      outcomes.push(outcome);
      if (outcome.mismatches.length > 0) console.log(`${formatOutcome(outcome)}\n`);
      if ((i + 1) % 20 === 0) console.error(`... ${i + 1}/${args.policies} policies`);
    }
  } finally {
    lab.destroy();
  }
  const seconds = (Date.now() - started) / 1000;
  const sent = outcomes.reduce((n, o) => n + o.probes, 0);
  const compared = outcomes.reduce((n, o) => n + o.compared, 0);
  const agreed = outcomes.reduce((n, o) => n + o.agreed, 0);
  const failed = outcomes.filter((o) => o.mismatches.length > 0);
  const byBackend = LOAD_BACKENDS.map((b) => {
    const of = outcomes.filter((o) => o.backend === b);
    return `${b} ${of.length} policies ${of.reduce((n, o) => n + o.agreed, 0)}/${of.reduce((n, o) => n + o.compared, 0)}`;
  });
  const pct = compared === 0 ? 0 : (100 * agreed) / compared;
  console.log(`policies x probes: ${args.policies} x ${args.probes} = ${sent} probes sent, ${compared} compared (seeds ${args.seed}..${args.seed + args.policies - 1})`);
  console.log(`agreement: ${agreed}/${compared} = ${pct.toFixed(3)} %; policies with mismatches: ${failed.map((o) => o.seed).join(', ') || 'none'}`);
  console.log(`by backend: ${byBackend.join('; ')}`);
  console.log(`duration: ${seconds.toFixed(1)} s (${((1000 * seconds) / Math.max(1, sent)).toFixed(2)} ms per probe incl. loading)`);
  return failed.length === 0 && compared === sent ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(2);
  },
);
