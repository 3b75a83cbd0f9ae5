import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { portIncludes } from '../port-coverage';

/**
 * SFW4: a deployed host where nothing opens the port the deploy connects to (no
 * `AdminAccess`, service or connection on `deployment.connection.port`): the new ruleset
 * would lock its operator out (and the host would roll back). AdminAccess on another port
 * than the deploy's does not count.
 */
export class NoAdminAccess implements IPolicyCheck {
  public readonly id = 'SFW4';
  public readonly description = 'a deployed host needs AdminAccess, or the deploy locks its operator out';
  public readonly defaultLevel: CheckLevel = CheckLevel.ERROR;

  public check(host: HostFacts): string[] {
    if (!host.deploys) return [];
    if (host.allowances.some((a) => a.ports.some((p) => portIncludes(p, 'tcp', host.sshPort)))) return [];
    const ack = "or PolicyChecks.of(host).acknowledge('SFW4', 'why SSH stays reachable')";
    if (host.adminAccessPaths.length === 0) {
      return [
        `${host.path} has no AdminAccess: the deploy connects over SSH (tcp/${host.sshPort}) and the new ruleset would lock it out; ` +
          "add host.addAdminAccess('Ops', { peers: [...] }) with the deploying machine's address, " + ack,
      ];
    }
    const opened = host.allowances.filter((a) => host.adminAccessPaths.includes(a.origin)).map((a) => `${a.origin} opens ${a.ports.join(', ')}`);
    return [
      `${host.path}: the deploy connects over SSH to tcp/${host.sshPort}, but nothing opens it (${opened.join('; ')}) and the new ruleset would lock it out; ` +
        `add Port.tcp(${host.sshPort}) to the AdminAccess ports, or set deployment.connection.port to the port it opens, ${ack}`,
    ];
  }
}
