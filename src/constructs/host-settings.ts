import { Construct } from 'constructs';
import { backendOptionProblems } from './backend-support';
import { hostEnumProblem, managementAddressProblem, ownAddressProblem } from './host-address';
import type { StatefulHostProps } from './stateful-host-props';
import { constructError, enumProblem } from './validation';
import { Backend } from '../core/backends/backend';
import { DEFAULT_BACKEND } from '../core/backends/registry';
import { checkPingRateLimit, dropLoggingPrefix } from '../core/compile/compile';
import { parseIp } from '../core/net/ip';
import { expectedConnectionsProblem } from '../core/policy/conntrack-sizing';
import { DefaultAction } from '../core/policy/default-action';
import { ALL_FAMILIES, IpFamily } from '../core/values/family';
import { isTerraformToken } from '../core/values/peer';
import { deploymentProblem } from '../deploy/validate-deployment';

const HOST_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

/** A host's props, checked, with their defaults filled in. */
export interface HostSettings {
  readonly hostName: string;
  readonly address: string;
  readonly backend: Backend;
  readonly defaultAction: DefaultAction;
  readonly allowPing: boolean;
  readonly outboundFiltering: boolean;
  readonly outboundDefaultAction: DefaultAction;
  readonly ipFamilies: IpFamily[];
  readonly lateAddressFamily: IpFamily;
  readonly addresses: string[];
  readonly sshPort: number;
}

/**
 * Checks a host's props where they are written (each mistake throws, naming the host's
 * path, so it surfaces at the line that made it and not at synth) and fills in the defaults.
 */
export function hostSettings(host: Construct, id: string, props: StatefulHostProps): HostSettings {
  const hostName = props.hostName ?? id;
  if (!HOST_NAME.test(hostName)) {
    throw constructError(host, `host name '${hostName}' is not usable: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  const enumError = hostEnumProblem(props);
  if (enumError) throw constructError(host, enumError);
  const families = ALL_FAMILIES.filter((f) => (props.ipFamilies ?? ALL_FAMILIES).includes(f));
  const addressProblem = managementAddressProblem(props.address, families.length > 0 ? families : ALL_FAMILIES);
  if (addressProblem) throw constructError(host, addressProblem);
  const address = props.address.trim();
  const deployProblem = props.deployment?.enabled === false ? undefined : deploymentProblem(props.deployment);
  if (deployProblem) throw constructError(host, deployProblem);
  const backend = props.backend ?? DEFAULT_BACKEND;
  // the options' mistakes surface with the path and not at synth
  if (props.pingRateLimit) checkPingRateLimit(props.pingRateLimit, host.node.path);
  if (props.logDropped) dropLoggingPrefix(props.logDropped, hostName, host.node.path);
  if (families.length === 0) throw constructError(host, 'ipFamilies must not be empty: use [IpFamily.IPV4], [IpFamily.IPV6] or both');
  // what the backend cannot express of the options (e.g. an nft table name)
  const optionProblem = backendOptionProblems(backend, props)[0];
  if (optionProblem) throw constructError(host, optionProblem);
  if (props.setThreshold !== undefined && !((Number.isInteger(props.setThreshold) || props.setThreshold === Infinity) && props.setThreshold >= 0)) {
    throw constructError(host, `setThreshold ${props.setThreshold} is not usable: use a whole number of elements, 0 to always use sets or Infinity to never`);
  }
  const extra = props.conntrack?.expectedConnections;
  const extraProblem = extra === undefined ? undefined : expectedConnectionsProblem(extra, 'conntrack.expectedConnections');
  if (extraProblem) throw constructError(host, extraProblem);
  const lateFamilyProblem = enumProblem('lateAddressFamily', props.lateAddressFamily, IpFamily, 'IpFamily');
  if (lateFamilyProblem) throw constructError(host, lateFamilyProblem);
  const lateAddressFamily = props.lateAddressFamily ?? IpFamily.IPV4;
  const lateAddresses = props.addresses ? props.addresses.filter((a) => isTerraformToken(a)) : isTerraformToken(address) ? [address] : [];
  if (lateAddresses.length > 0 && !families.includes(lateAddressFamily)) {
    throw constructError(host, `the host's addresses known only at deploy are ${lateAddressFamily === IpFamily.IPV4 ? 'IPv4' : 'IPv6'} (lateAddressFamily), but the host's ipFamilies lack that family: set lateAddressFamily to ${families[0] === IpFamily.IPV4 ? 'IpFamily.IPV4' : 'IpFamily.IPV6'}, or add the family to ipFamilies`);
  }
  const addresses = props.addresses ? [...props.addresses] : parseIp(address) || lateAddresses.length > 0 ? [address] : [];
  for (const a of addresses) {
    if (isTerraformToken(a)) continue;
    const problem = ownAddressProblem(a, families);
    if (problem) throw constructError(host, problem);
  }
  return {
    hostName,
    address,
    backend,
    defaultAction: props.defaultAction ?? DefaultAction.REJECT,
    allowPing: props.allowPing ?? true,
    outboundFiltering: props.outboundFiltering ?? false,
    outboundDefaultAction: props.outboundDefaultAction ?? DefaultAction.REJECT,
    ipFamilies: families,
    lateAddressFamily,
    addresses,
    sshPort: props.deployment?.connection?.port ?? 22,
  };
}
