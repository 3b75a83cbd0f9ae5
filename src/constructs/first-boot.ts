/**
 * A host's first-boot baseline: the part of its policy that must hold from the machine's
 * first boot until its first deploy (established and related traffic, loopback, neighbour
 * discovery, the admin access with its peers, the denials, the default action), rendered
 * as user data.
 */
import { Construct } from 'constructs';
import { Backend } from '../core/backends/backend';
import { CompiledRuleset } from '../core/compiled-ruleset';
import { Allowance, Denial, HostPolicy } from '../core/policy/host-policy';
import { Peer } from '../core/values/peer';
import { EC2_USER_DATA_LIMIT, firstBootScript, firstBootUserData, UserDataFormat } from '../deploy/first-boot-script';
import { escapeTerraformTemplate } from '../deploy/terraform-escape';
import { addWarning, lazyString } from '../synth/lazy-token';

/** Options of `StatefulHost.userData()`. */
export interface UserDataOptions {
  /**
   * How the baseline is handed to the machine.
   *
   * @default UserDataFormat.CLOUD_CONFIG
   */
  readonly format?: UserDataFormat;
}

/** What the baseline is made from. */
export interface FirstBootSource {
  readonly scope: Construct;
  readonly backend: Backend;
  readonly nftTableName?: string;
  /** The host's whole policy, as compiled for the deploy. */
  policy(): HostPolicy;
  /** The paths of the host's (and its groups') `AdminAccess` declarations. */
  adminAccessPaths(): string[];
}

/**
 * The user data, as a token resolved at synth (after the host's validation froze its
 * policy, so declarations made after the call are in it).
 */
export function userDataFor(source: FirstBootSource, options: UserDataOptions): string {
  const format = options.format ?? UserDataFormat.CLOUD_CONFIG;
  if (!Object.values(UserDataFormat).includes(format)) {
    throw new Error(`${source.scope.node.path}: userData format '${String(format)}' is not one of ${Object.values(UserDataFormat).join(', ')}`);
  }
  let rendered: string | undefined;
  // read after validation froze the host's policy: computed once
  let cached: Baseline | undefined;
  const baseline = () => (cached ??= baselinePolicy(source));
  const render = () => (rendered ??= firstBootUserData(
    firstBootScript(source.scope.node.path, source.backend, baselineFiles(source, baseline())), format));
  source.scope.node.addValidation({
    validate: () => {
      if (source.adminAccessPaths().length === 0) {
        return [`userData() needs an AdminAccess on ${source.scope.node.path} or one of its groups: the first-boot baseline would refuse every new connection, the first deploy's too`];
      }
      const skipped = baseline().skipped;
      if (skipped.length > 0) {
        addWarning(source.scope, `the first-boot baseline leaves out peers known only at deploy time (${skipped.join(', ')}): they get their access with the first deploy`);
      }
      const size = Buffer.byteLength(render());
      if (size > EC2_USER_DATA_LIMIT) {
        addWarning(source.scope, `the first-boot user data is ${size} bytes: EC2 accepts at most ${EC2_USER_DATA_LIMIT} (gzip it, or fewer admin peers)`);
      }
      return [];
    },
  });
  // a Terraform string: the script's ${...} and %{...} are not Terraform's
  return lazyString(source.scope, () => escapeTerraformTemplate(render()));
}

/** The backend's files for the baseline policy. */
function baselineFiles(source: FirstBootSource, baseline: Baseline): Record<string, string> {
  return CompiledRuleset.compile(baseline.policy).files(source.backend, source.nftTableName);
}

/**
 * The baseline: the admin access and the denials (without peers known only at deploy time:
 * they would make machines' user data depend on each other), no services, no outbound
 * filtering, no logging.
 */
/** The baseline policy, and the declarations whose late-bound peers it leaves out. */
interface Baseline {
  readonly policy: HostPolicy;
  readonly skipped: string[];
}

function baselinePolicy(source: FirstBootSource): Baseline {
  const whole = source.policy();
  const admin = new Set(source.adminAccessPaths());
  const skipped: string[] = [];
  const literal = (origin: string, peers: Peer[]) => peers.filter((p) => {
    // a token address always makes a late-bound peer (Peer's factories, StatefulHost.peer)
    if (!p.isLateBound) return true;
    skipped.push(origin);
    return false;
  });
  const allowances: Allowance[] = whole.allowances
    .filter((a) => admin.has(a.origin))
    .map((a) => ({ ...a, peers: literal(a.origin, a.peers) }))
    .filter((a) => a.peers.length > 0);
  const denials: Denial[] = (whole.denials ?? [])
    .map((d) => ({ ...d, peers: literal(d.origin, d.peers) }))
    .filter((d) => d.peers.length > 0);
  return {
    policy: {
      ...whole,
      origin: `${whole.origin} (first-boot baseline)`,
      allowances,
      denials,
      outbound: undefined,
      logDropped: undefined,
    },
    skipped: [...new Set(skipped)],
  };
}
