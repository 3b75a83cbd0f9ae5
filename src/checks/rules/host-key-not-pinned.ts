import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';

/** Whether a connection setting is given (Terraform treats an empty string as unset). */
function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/**
 * SFW6: a deployed host whose SSH connection does not pin the host's public key (or goes
 * through a bastion whose key is not pinned): Terraform then accepts any host key, so the
 * deploy logs in to, and trusts, whatever machine answers at the address.
 */
export class HostKeyNotPinned implements IPolicyCheck {
  public readonly id = 'SFW6';
  public readonly description = 'a deployed host must pin the host keys the deploy connects to';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    const c = host.deploys ? host.connection : undefined;
    if (!c) return [];
    const found: string[] = [];
    if (!isSet(c.hostKey)) {
      found.push(
        `${host.path} deploys without a pinned host key: set deployment.connection.hostKey to the host's public key ` +
          `(ssh-keyscan -t ed25519 ${c.host}, verified out of band, or the key your provisioning generated, ` +
          `e.g. a tls_private_key's public_key_openssh); without it the deploy trusts any machine answering at ${c.host}`,
      );
    }
    if (isSet(c.bastionHost) && !isSet(c.bastionHostKey)) {
      found.push(
        `${host.path} deploys through bastion ${c.bastionHost} without a pinned bastion key: set deployment.connection.bastionHostKey ` +
          `to the bastion's public key (ssh-keyscan -t ed25519 ${c.bastionHost}, verified out of band, or the key your provisioning generated, ` +
          `e.g. a tls_private_key's public_key_openssh); without it the deploy trusts any machine answering at ${c.bastionHost}`,
      );
    }
    return found;
  }
}
