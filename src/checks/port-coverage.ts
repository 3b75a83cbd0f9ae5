import { AddressRange, isWholeFamily, unionRanges } from '../engine/address/address-range';
import { Allowance } from '../engine/compiler/host-policy';
import { IpFamily } from '../engine/family';
import { Port } from '../engine/port';

/** Whether a port (range or ICMP type) includes a given TCP/UDP port number. */
export function portIncludes(port: Port, protocol: string, number: number): boolean {
  return port.protocol === protocol && port.fromPort !== undefined && port.fromPort <= number && number <= port.toPort!;
}

/** The peers' address ranges of one family, unioned. */
export function familyRanges(allowances: readonly Allowance[], family: IpFamily): AddressRange[] {
  return unionRanges(allowances.flatMap((a) => a.peers.flatMap((p) => p._ranges)).filter((r) => r.family === family));
}

/** Whether the ranges cover the whole address space of the family. */
export function coversWholeFamily(ranges: readonly AddressRange[]): boolean {
  return ranges.length === 1 && isWholeFamily(ranges[0]);
}

/** Whether every range of `inner` lies inside the union `outer`. */
export function rangesContained(inner: readonly AddressRange[], outer: readonly AddressRange[]): boolean {
  return inner.every((r) => outer.some((o) => o.family === r.family && o.first <= r.first && r.last <= o.last));
}
