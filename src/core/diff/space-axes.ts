import { ConnectionState } from '../ir/connection-state';
import { PortRange } from '../ir/rule-match';
import { AddressRange, elementRange } from '../net/address-range';
import { stateOfFirstPacket } from '../simulate/conntrack-state';
import { Direction } from '../simulate/direction';
import { TcpFlag } from '../simulate/tcp-flag';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

// The axes of the traffic space (see traffic-space.ts): slices, cuts, address and port
// elements as intervals, and what a cell's first packet looks like.

/** The limit situations a cell is evaluated in: [over rate limit, over connection limit]. */
export const LIMIT_CASES: readonly (readonly [boolean, boolean])[] = [[false, false], [true, false], [false, true], [true, true]];

/** The host's own address the simulator's outbound packets come from (no compiled outbound rule matches a source). */
export const OWN_ADDRESS: Record<IpFamily, string> = { [IpFamily.IPV4]: '192.0.2.1', [IpFamily.IPV6]: '2001:db8::1' };

/** The source port of every packet of the space. */
export const EPHEMERAL_PORT = 40000;

/** The protocols of a family's space. */
export function protocolsOf(family: IpFamily): Protocol[] {
  return [Protocol.TCP, Protocol.UDP, family === IpFamily.IPV4 ? Protocol.ICMP : Protocol.ICMPV6];
}

/** Whether the port axis is the transport destination port (else the ICMP type). */
export function hasPorts(protocol: Protocol): boolean {
  return protocol === Protocol.TCP || protocol === Protocol.UDP;
}

/** The largest value on the port axis: 65535, or 255 for ICMP types. */
export function portAxisMax(protocol: Protocol): number {
  return hasPorts(protocol) ? 65535 : 255;
}

/** One slice of the space: the grid of a family, direction and protocol. */
export interface SpaceSlice {
  readonly family: IpFamily;
  readonly direction: Direction;
  readonly protocol: Protocol;
}

/**
 * The cuts of a slice's two axes: `addressCuts[i]` is the first address of the i-th
 * address interval (the first is 0), `portCuts[j]` the first port (or ICMP type) of the
 * j-th port interval (the first is 0). Interval i ends where i+1 starts.
 */
export interface Cuts {
  readonly addressCuts: bigint[];
  readonly portCuts: number[];
}

type Interval = AddressRange;

/** An address element (`a/n`, `a-b`, `a`) as an interval; undefined when it is not an address. */
export function addressInterval(element: string): Interval | undefined {
  return elementRange(element);
}

/** A port element (`22`, `1000-2000`) as a range. */
export function portElement(element: string): PortRange {
  const dash = element.indexOf('-');
  return dash >= 0 ? { from: Number(element.slice(0, dash)), to: Number(element.slice(dash + 1)) } : { from: Number(element), to: Number(element) };
}

export const LOOPBACK: Record<IpFamily, Interval> = {
  [IpFamily.IPV4]: addressInterval('127.0.0.0/8')!,
  [IpFamily.IPV6]: addressInterval('::1/128')!,
};

/** Whether an address is a loopback address (then the packet uses `lo`). */
export function isLoopback(family: IpFamily, value: bigint): boolean {
  const l = LOOPBACK[family];
  return l.first <= value && value <= l.last;
}

/** The ICMP type's hop limit as the simulator gives it (255 for neighbour discovery). */
export function icmpHopLimit(family: IpFamily, type: number): number {
  return family === IpFamily.IPV6 && type >= 133 && type <= 136 ? 255 : 64;
}

export function firstPacketState(slice: SpaceSlice, type: number): ConnectionState {
  return stateOfFirstPacket(slice.family, slice.protocol, hasPorts(slice.protocol) ? [TcpFlag.SYN] : [], type);
}

/** The state a cell's packets start in, from the port axis value (the ICMP type). */
export function initialState(slice: SpaceSlice, portValue: number): ConnectionState {
  return firstPacketState(slice, portValue);
}

/** The index of the interval holding `value` (cuts sorted, cuts[0] = 0). */
export function intervalIndex<T extends number | bigint>(cuts: readonly T[], value: T): number {
  let lo = 0;
  let hi = cuts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cuts[mid] <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The last value of interval `i`. */
export function intervalLast<T extends number | bigint>(cuts: readonly T[], i: number, max: T): T {
  return (i + 1 < cuts.length ? (typeof max === 'bigint' ? (cuts[i + 1] as bigint) - 1n : (cuts[i + 1] as number) - 1) : max) as T;
}

