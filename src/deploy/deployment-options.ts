import { SshConnectionOptions } from './ssh-connection';

/**
 * The Terraform resource that carries a host's provisioners.
 */
export enum ProvisioningResource {
  /** `null_resource` from the hashicorp/null provider (declared automatically). */
  NULL_RESOURCE = 'null_resource',
  /** Terraform's built-in `terraform_data` (Terraform 1.4+, no provider to download). */
  TERRAFORM_DATA = 'terraform_data',
}

/**
 * What the library owns on a host.
 */
export enum TableOwnership {
  /**
   * Only the library's own chains (`SFW-*`, one jump from INPUT) or its own nftables
   * table; Docker's, fail2ban's and every other chain and table survive apply and destroy.
   *
   * The jump goes last in INPUT (and OUTPUT), after other tools' rules, and every apply
   * moves it last again, so ban chains (fail2ban, sshguard) and foreign accepts decide
   * first; a foreign rule there that decides every packet makes the apply fail with
   * nothing changed.
   */
  SHARED = 'shared',
  /** The whole filter table (iptables) or the whole ruleset (nftables), as in the classic setup. */
  EXCLUSIVE = 'exclusive',
}

/**
 * How a host's ruleset is deployed by `cdktf deploy`.
 */
export interface DeploymentOptions {
  /**
   * Generate the provisioning resource at all.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The resource type.
   *
   * @default ProvisioningResource.NULL_RESOURCE
   */
  readonly resource?: ProvisioningResource;

  /**
   * The SSH connection.
   *
   * @default - root, SSH agent, port 22
   */
  readonly connection?: SshConnectionOptions;

  /**
   * Seconds after which the host restores its previous ruleset unless the deploy
   * confirmed, from a fresh SSH connection, that it can still reach the host.
   *
   * @default 60
   */
  readonly rollbackTimeoutSeconds?: number;

  /**
   * What the library owns on the host.
   *
   * @default TableOwnership.SHARED
   */
  readonly ownership?: TableOwnership;

  /**
   * Re-apply the host's ruleset on the next `cdktf deploy` when its live ruleset drifted
   * from the last confirmed apply (a chain flushed or a rule added by hand, a set member
   * deleted, the nftables table removed, a host rebuilt without its firewall).
   *
   * Adds a `DriftCheck` resource per host, replaced on every deploy (its trigger is
   * Terraform's `timestamp()`): it runs `sfw-apply.sh apply --if-drifted` over SSH, which
   * compares the live ruleset with the last confirmed apply (as `sfw-apply.sh verify` does)
   * and, only when they differ, applies the host's ruleset again with the usual rollback
   * and confirm. The costs: `terraform plan` is never empty (one replacement per host),
   * and every deploy makes two SSH connections per host even when nothing drifted.
   *
   * @default false
   */
  readonly reapplyOnDrift?: boolean;
}
