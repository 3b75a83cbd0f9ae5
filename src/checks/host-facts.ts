import { CheckLevel } from './check-level';
import { Allowance } from '../engine/compiler/host-policy';
import { IpFamily } from '../engine/family';

/**
 * What a policy check sees of a host: its declarations, not its construct.
 */
export interface HostFacts {
  /** The host's construct path. */
  readonly path: string;
  /** Every opening declared for the host. */
  readonly allowances: Allowance[];
  /** Construct paths of the host's `AdminAccess` declarations. */
  readonly adminAccessPaths: string[];
  /** Whether `cdktf deploy` connects to the host over SSH. */
  readonly deploys: boolean;
  /** The SSH port deployment connects to. */
  readonly sshPort: number;
  /** The address families the host has. */
  readonly families: IpFamily[];
}

/**
 * One policy check, in the style of a cdk-nag rule: an id, a description, a default
 * level, and a function from a host's facts to findings.
 */
export interface IPolicyCheck {
  /** Stable id, e.g. `SFW1`. */
  readonly id: string;
  /** What the check looks for. */
  readonly description: string;
  /** The level it reports at unless configured otherwise. */
  readonly defaultLevel: CheckLevel;
  /** The findings for one host: one message per problem, empty when fine. */
  check(host: HostFacts): string[];
}
