import { RulesetModel } from './ir/ruleset-model';

/** The file synth writes next to each host's rendered rulesets: the compiled model as JSON. */
export const MODEL_FILE = 'model.json';

/**
 * What `model.json` holds: enough to explain or simulate a host's ruleset later without
 * running the cdktf app again.
 *
 * @experimental
 */
export interface HostModelFile {
  /** The host's name. */
  readonly hostName: string;
  /** The host's construct path. */
  readonly path: string;
  /** The backend the host deploys with. */
  readonly backend: string;
  /** The compiled, backend-neutral model. */
  readonly model: RulesetModel;
  /**
   * The connections the host's conntrack table is sized for, and whether the deploy sets
   * that sizing on the host (`conntrack.tuneKernel`).
   *
   * @default - no sizing declared
   */
  readonly conntrack?: HostModelConntrack;
}

/**
 * The conntrack sizing recorded in `model.json`.
 *
 * @experimental
 */
export interface HostModelConntrack {
  /** The connections expected to be tracked at once (`ConntrackSizing.forConnections`). */
  readonly expectedConnections: number;
  /** Whether the deploy raises the host's values to the sizing. */
  readonly tuneKernel: boolean;
}
