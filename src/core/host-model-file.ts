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
}
