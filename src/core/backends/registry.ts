import { Backend } from './backend';
import { FirewallBackend } from './firewall-backend';
import { IPTABLES_BACKEND } from './iptables';
import { NFTABLES_BACKEND } from './nftables';

/** The backend a host uses when it names none. */
export const DEFAULT_BACKEND = Backend.IPTABLES;

const BACKENDS: Record<Backend, FirewallBackend> = {
  [Backend.IPTABLES]: IPTABLES_BACKEND,
  [Backend.NFTABLES]: NFTABLES_BACKEND,
};

/**
 * The implementation of a backend. A name that is not a `Backend` (a string from an old
 * `model.json`, or from a jsii language) is an error, never another backend.
 */
export function backendFor(backend: Backend | string): FirewallBackend {
  const found = Object.prototype.hasOwnProperty.call(BACKENDS, backend) ? BACKENDS[backend as Backend] : undefined;
  if (!found) {
    throw new Error(`unknown backend '${backend}': use ${Object.entries(Backend).map(([k, v]) => `Backend.${k} ('${v}')`).join(' or ')}`);
  }
  return found;
}

/** Whether `name` is a backend's name. */
export function isBackend(name: string): name is Backend {
  return Object.prototype.hasOwnProperty.call(BACKENDS, name);
}
