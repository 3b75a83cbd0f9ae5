import { Construct } from 'constructs';
import { IpFamily } from '../core/values/family';
import { Peer } from '../core/values/peer';
import { Port } from '../core/values/port';

const FAMILY: Record<IpFamily, string> = { [IpFamily.IPV4]: 'IPv4', [IpFamily.IPV6]: 'IPv6' };

/** Throws an error that names the construct path: `path: message`. */
export function constructError(scope: Construct, message: string): Error {
  return new Error(`${scope.node.path}: ${message}`);
}

/** Throws when a required list is missing, not a list, or empty. */
export function checkNonEmpty(scope: Construct, name: string, list: readonly unknown[] | undefined, hint: string): void {
  if (list !== undefined && list !== null && !Array.isArray(list)) {
    throw constructError(scope, `${name} must be a list, got ${describe(list)}: write e.g. ${name}: [${name === 'ports' ? 'Port.HTTPS' : "Peer.ipv4('192.0.2.0/24')"}]`);
  }
  if (!list || list.length === 0) throw constructError(scope, `${name} must not be empty: ${hint}`);
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'object') return `a ${(value as object).constructor?.name ?? 'object'} (${String(value)})`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Throws, naming the construct and the position, when an element of a port or peer list
 * is not a `Port` or `Peer` (undefined from an unset variable, a string, a number).
 */
export function checkElements(scope: Construct, name: string, list: readonly unknown[], type: Function): void {
  list.forEach((v, i) => {
    if (!(v instanceof type)) {
      throw constructError(scope, `${name}[${i}] is ${describe(v)}, not a ${type.name}: use the ${type.name} factories, e.g. ${type.name === 'Port' ? 'Port.tcp(443)' : "Peer.ipv4('192.0.2.0/24')"}`);
    }
  });
}

/** Throws, naming the construct, when a port or peer handed to it is unusable. */
export function checkValues(scope: Construct, values: readonly { readonly problem?: string }[]): void {
  const bad = values.find((v) => v.problem);
  if (bad) throw constructError(scope, bad.problem!);
}

/**
 * Why a value passed for an enum (by a JavaScript caller, or any jsii language that
 * passes strings) is not one of its members, e.g. `backend: 'nft'`; undefined when fine.
 */
export function enumProblem(what: string, value: unknown, members: Record<string, string>, enumName: string): string | undefined {
  if (value === undefined || Object.values(members).includes(value as string)) return undefined;
  const choices = Object.entries(members).map(([k, v]) => `${enumName}.${k} ('${v}')`).join(', ');
  return `${what} ${JSON.stringify(value)} is not a ${enumName}: use one of ${choices}`;
}

/**
 * Why an ICMP or ICMPv6 port of an opening opens nothing: every peer is of the other
 * family. Shared by the declarations (thrown where written) and the host (connections).
 */
export function icmpFamilyProblem(ports: readonly Port[], peers: readonly Peer[]): string | undefined {
  for (const port of ports) {
    const family = port.family;
    if (family === undefined || peers.some((p) => p.families.includes(family))) continue;
    const other = family === IpFamily.IPV4 ? IpFamily.IPV6 : IpFamily.IPV4;
    const factory = family === IpFamily.IPV4 ? 'Port.icmpv6Type' : 'Port.icmpType';
    return `${port} is ${port.protocol === 'icmp' ? 'ICMP (IPv4 only)' : 'ICMPv6 (IPv6 only)'}, but every peer is ${FAMILY[other]}, so it opens nothing: `
      + `add ${FAMILY[family]} peers, or use ${factory}(...) for ${FAMILY[other]}`;
  }
  return undefined;
}
