import { Backend } from './backend';
import type { CompiledRuleset } from '../compiled-ruleset';
import { Chain } from '../ir/chain';
import { RulesetModel } from '../ir/ruleset-model';
import { IpFamily } from '../values/family';

// Internal: not part of the package's API (src/index.ts exports the `Backend` enum only).

/** What a host asks of its backend's rendering beyond the model. */
export interface BackendOptions {
  /**
   * The nftables table name (`StatefulHostProps.nftTableName`).
   *
   * @default - the backend's own
   */
  readonly nftTableName?: string;
}

/** What a backend is asked whether it can express: the host's options, and its compiled model once there is one. */
export interface BackendSubject extends BackendOptions {
  /**
   * The compiled, backend-neutral model (its rules name the declarations they come from).
   *
   * @default - the options alone are checked
   */
  readonly model?: RulesetModel;
}

/**
 * One netfilter front end: the files it renders and their names, how it lays the neutral
 * model out (what the kernel holds, and the simulator evaluates), how its rules are
 * counted, where it holds each chain, and what it cannot express.
 */
export interface FirewallBackend {
  /** The public name of the backend. */
  readonly id: Backend;

  /** Every file the deploy uploads for this backend, in upload order (an unused one is uploaded empty). */
  readonly fileNames: readonly string[];

  /**
   * The neutral model laid out as the kernel holds it (what the simulator evaluates): for
   * packets of `family` when the backend holds the families apart (iptables needs it).
   */
  layout(model: RulesetModel, family?: IpFamily): RulesetModel;

  /** The ruleset's model as deployed with this backend for packets of `family` (cached by the ruleset). */
  deployedModel(ruleset: CompiledRuleset, family: IpFamily): RulesetModel;

  /** The rendered files, by file name (a file the ruleset does not need is left out). */
  files(ruleset: CompiledRuleset, options?: BackendOptions): Record<string, string>;

  /** Number of rules the library owns for packets of `family` (see `CompiledRuleset.ruleCount`). */
  ruleCount(ruleset: CompiledRuleset, family: IpFamily): number;

  /**
   * What this backend cannot express of the subject, one lowercase sentence each (naming
   * the declaration it is about, and what to change); empty when it can express it all.
   */
  supports(subject: BackendSubject): string[];

  /** Where this backend holds a base chain of the neutral model (for explain's chain titles). */
  chainLocation(table: string, chain: Chain): string;
}
