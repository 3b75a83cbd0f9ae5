import { DeploymentOptions, ProvisioningResource, TableOwnership } from './deployment-options';
import { isUnresolved } from '../synth/terraform-lib';

/** A Terraform duration as the `connection` block's `timeout` takes it (Go syntax): '2m', '30s', '1m30s'. */
const DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

function set(value: unknown): boolean {
  return value !== undefined && !isUnresolved(value);
}

function portProblem(what: string, port: unknown): string | undefined {
  if (!set(port)) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return `${what} ${JSON.stringify(port)} is out of range: use a port number from 1 to 65535`;
  }
  return undefined;
}

function nameProblem(what: string, value: unknown): string | undefined {
  if (!set(value)) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || /\s/.test(value)) {
    return `${what} ${JSON.stringify(value)} is not a user name: give the login name, e.g. 'root' or 'deploy' (or omit it)`;
  }
  return undefined;
}

function enumProblem(what: string, value: unknown, members: Record<string, string>, name: string): string | undefined {
  if (value === undefined || Object.values(members).includes(value as string)) return undefined;
  return `${what} ${JSON.stringify(value)} is not a ${name}: use one of ${Object.entries(members).map(([k, v]) => `${name}.${k} ('${v}')`).join(', ')}`;
}

/**
 * The first problem of a host's deployment options, or undefined: the SSH connection's
 * user, port, timeout and bastion settings, and the enum values (which JavaScript callers
 * may pass as strings). Values that are tokens are left to Terraform. Messages start with
 * the option's name (`deployment.connection.port ...`); the caller adds the construct path.
 */
export function deploymentProblem(options: DeploymentOptions | undefined): string | undefined {
  if (!options) return undefined;
  const c = options.connection ?? {};
  const timeout = c.timeout;
  return enumProblem('deployment.resource', options.resource, ProvisioningResource, 'ProvisioningResource')
    ?? enumProblem('deployment.ownership', options.ownership, TableOwnership, 'TableOwnership')
    ?? nameProblem('deployment.connection.user', c.user)
    ?? portProblem('deployment.connection.port', c.port)
    ?? (set(timeout) && (typeof timeout !== 'string' || !DURATION.test(timeout))
      ? `deployment.connection.timeout ${JSON.stringify(timeout)} is not a Terraform duration: write e.g. '2m', '30s' or '1m30s'`
      : undefined)
    ?? (set(c.bastionHost) && (typeof c.bastionHost !== 'string' || c.bastionHost.trim() === '' || /\s/.test(c.bastionHost))
      ? `deployment.connection.bastionHost ${JSON.stringify(c.bastionHost)} is not a host: give the bastion's address or DNS name (or omit it)`
      : undefined)
    ?? nameProblem('deployment.connection.bastionUser', c.bastionUser)
    ?? portProblem('deployment.connection.bastionPort', c.bastionPort)
    ?? (!set(c.bastionHost) && (c.bastionPort !== undefined || c.bastionUser !== undefined || c.bastionHostKey !== undefined)
      ? 'deployment.connection.bastionPort, bastionUser and bastionHostKey need bastionHost: set the bastion to connect through, or remove them'
      : undefined);
}
