import { enumProblem } from './validation';
import { Backend } from '../core/backends/backend';
import { formatIp, parseIp } from '../core/net/ip';
import { DefaultAction } from '../core/policy/default-action';
import { IpFamily } from '../core/values/family';
import { isUnresolved } from '../synth/terraform-lib';

const FAMILY: Record<IpFamily, string> = { [IpFamily.IPV4]: 'IPv4', [IpFamily.IPV6]: 'IPv6' };
/** A DNS name (RFC 1123 labels), optionally fully qualified with a trailing dot. */
const DNS_NAME = /^(?=.{1,253}\.?$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

/**
 * Why the management address is unusable, or undefined: one IPv4 or IPv6 address (of a
 * family the host has) or a DNS name, without prefix length, port, brackets or spaces.
 * Tokens are left to Terraform.
 */
export function managementAddressProblem(address: unknown, families: readonly IpFamily[]): string | undefined {
  if (address !== undefined && typeof address !== 'string') return `address must be a string, got ${typeof address} ${String(address)}`;
  if (address === undefined || address.trim() === '') return "address must not be empty: give the address the host is managed at, e.g. '203.0.113.10'";
  if (isUnresolved(address)) return undefined;
  const a = address.trim();
  if (/\s/.test(a)) return `address '${a}' contains spaces: give one address or DNS name`;
  if (a.includes('/')) {
    const ip = parseIp(a.split('/')[0]);
    return `address '${a}' is a CIDR block: give the host's own address${ip ? `, e.g. '${formatIp(ip.family, ip.value)}'` : ''}, not its network`;
  }
  const withPort = /^\[([^\]]*)\]:([0-9]+)$/.exec(a) ?? /^([0-9.]+):([0-9]+)$/.exec(a);
  if (withPort || /^\[.*\]$/.test(a)) {
    const bare = withPort ? withPort[1] : a.slice(1, -1);
    return `address '${a}' ${withPort ? 'includes a port' : 'is in brackets'}: give the bare address '${bare}'${withPort ? ` and set deployment.connection.port: ${withPort[2]}` : ''}`;
  }
  const ip = parseIp(a);
  if (ip) {
    if (!families.includes(ip.family)) {
      return `address '${a}' is ${FAMILY[ip.family]}, but the host is ${FAMILY[families[0]]}-only: give its ${FAMILY[families[0]]} address, or add ${ip.family === IpFamily.IPV4 ? 'IpFamily.IPV4' : 'IpFamily.IPV6'} to ipFamilies`;
    }
    return undefined;
  }
  if (/^[0-9.]+$/.test(a)) return `address '${a}' is not a valid IPv4 address`;
  if (a.includes(':')) return `address '${a}' is not a valid IPv6 address`;
  if (!DNS_NAME.test(a)) return `address '${a}' is neither an IP address nor a DNS name: use e.g. '203.0.113.10', '2001:db8::10' or 'web-1.example.net'`;
  return undefined;
}

/** The host's enum-valued properties that JavaScript callers may pass as strings. */
export function hostEnumProblem(
  props: { backend?: unknown; defaultAction?: unknown; outboundDefaultAction?: unknown; ipFamilies?: unknown },
): string | undefined {
  const families = Array.isArray(props.ipFamilies) ? props.ipFamilies : [];
  return enumProblem('backend', props.backend, Backend, 'Backend')
    ?? enumProblem('defaultAction', props.defaultAction, DefaultAction, 'DefaultAction')
    ?? enumProblem('outboundDefaultAction', props.outboundDefaultAction, DefaultAction, 'DefaultAction')
    ?? (props.ipFamilies !== undefined && !Array.isArray(props.ipFamilies) ? 'ipFamilies must be a list, e.g. [IpFamily.IPV4]' : undefined)
    ?? families.map((f, i) => enumProblem(`ipFamilies[${i}]`, f, IpFamily, 'IpFamily')).find((p) => p !== undefined);
}

/** Why an entry of `addresses` is unusable for a host of these families, or undefined. */
export function ownAddressProblem(a: unknown, families: readonly IpFamily[]): string | undefined {
  const ip = typeof a === 'string' ? parseIp(a) : undefined;
  if (!ip) return `address '${a}' in addresses is not an IPv4 or IPv6 address: list the host's own addresses, e.g. ['192.0.2.10', '2001:db8::10']`;
  if (!families.includes(ip.family)) return `address '${a}' in addresses is ${FAMILY[ip.family]}, but the host is ${FAMILY[families[0]]}-only: remove it, or add its family to ipFamilies`;
  return undefined;
}
