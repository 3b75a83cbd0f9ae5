import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { portIncludes } from '../port-coverage';

/**
 * SFW4: a deployed host where nothing opens the SSH port (no `AdminAccess`, no service, no
 * connection): the deploy connects over SSH, so the new ruleset would lock its operator
 * out (and the host would roll back).
 */
export class NoAdminAccess implements IPolicyCheck {
  public readonly id = 'SFW4';
  public readonly description = 'a deployed host needs AdminAccess, or the deploy locks its operator out';
  public readonly defaultLevel: CheckLevel = CheckLevel.ERROR;

  public check(host: HostFacts): string[] {
    if (!host.deploys || host.adminAccessPaths.length > 0) return [];
    if (host.allowances.some((a) => a.ports.some((p) => portIncludes(p, 'tcp', host.sshPort)))) return [];
    return [
      `${host.path} has no AdminAccess: the deploy connects over SSH (tcp/${host.sshPort}) and the new ruleset would lock it out; ` +
        "add host.addAdminAccess('Ops', { peers: [...] }) with the deploying machine's address, " +
        "or PolicyChecks.of(host).acknowledge('SFW4', 'why SSH stays reachable')",
    ];
  }
}
