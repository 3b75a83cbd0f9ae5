import { CheckLevel } from './check-level';
import { Allowance } from '../core/policy/host-policy';
import { IpFamily } from '../core/values/family';

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
  /**
   * How the deploy connects to the host over SSH.
   *
   * @default - not deployed (or facts built without it)
   */
  readonly connection?: ConnectionFacts;
}

/**
 * What a policy check sees of a deployed host's SSH connection: where it goes and which
 * host keys it requires, never the credentials.
 */
export interface ConnectionFacts {
  /** The address the deploy connects to (the host's management address). */
  readonly host: string;
  /** The user the deploy logs in as. */
  readonly user: string;
  /**
   * The public key the host must present.
   *
   * @default - not pinned: the deploy accepts any host key
   */
  readonly hostKey?: string;
  /**
   * The bastion (jump) host the connection goes through.
   *
   * @default - a direct connection
   */
  readonly bastionHost?: string;
  /**
   * The public key the bastion must present.
   *
   * @default - not pinned: the deploy accepts any bastion key
   */
  readonly bastionHostKey?: string;
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
