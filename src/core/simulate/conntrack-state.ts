import { TcpFlag } from './tcp-flag';
import { ConnectionState } from '../ir/connection-state';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

/** ICMP types conntrack accepts as opening a connection (echo, timestamp, info, address mask requests). */
const ICMP_NEW_TYPES = new Set([8, 13, 15, 17]);
/** ICMP error types: tracked as RELATED to the connection they quote, INVALID without one. */
const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);
/** ICMPv6 types that open a connection: echo request, node information query. */
const ICMPV6_NEW_TYPES = new Set([128, 139]);
/** ICMPv6 types conntrack deliberately leaves untracked: MLD (130-132, 143) and ND (133-136). */
export const ICMPV6_UNTRACKED_TYPES = new Set([130, 131, 132, 133, 134, 135, 136, 143]);

const TCP_VALID_FLAGS = new Set(['SYN', 'SYN+URG', 'SYN+ACK', 'RST', 'RST+ACK', 'FIN+ACK', 'FIN+ACK+URG', 'ACK', 'ACK+URG']);

/**
 * The conntrack state the kernel gives the first packet of a flow it has no entry for,
 * with its defaults (`nf_conntrack_tcp_loose = 1`):
 *
 * - TCP: a SYN opens (NEW); a segment with ACK but no SYN, FIN or RST is picked up
 *   mid-stream (NEW as well, which is why rules must also require a SYN); SYN+ACK, FIN,
 *   RST, no flags and impossible combinations are INVALID;
 * - UDP: NEW;
 * - ICMP: requests NEW, errors without a connection INVALID, anything else INVALID;
 * - ICMPv6: echo request and node information query NEW, neighbour discovery and MLD
 *   UNTRACKED, anything else INVALID.
 */
export function stateOfFirstPacket(family: IpFamily, protocol: Protocol, tcpFlags: readonly TcpFlag[], icmpType?: number): ConnectionState {
  switch (protocol) {
    case Protocol.UDP:
      return ConnectionState.NEW;
    case Protocol.TCP: {
      const has = (f: TcpFlag) => tcpFlags.includes(f);
      // tcp_valid_flags: flag combinations conntrack accepts at all (PSH, ECE and CWR ignored)
      const key = [TcpFlag.FIN, TcpFlag.SYN, TcpFlag.RST, TcpFlag.ACK, TcpFlag.URG].filter(has).join('+');
      if (!TCP_VALID_FLAGS.has(key)) return ConnectionState.INVALID;
      // a flow conntrack has no entry for: a SYN opens it; a plain ACK is picked up mid-stream
      if (has(TcpFlag.RST) || has(TcpFlag.FIN)) return ConnectionState.INVALID;
      if (has(TcpFlag.SYN)) return has(TcpFlag.ACK) ? ConnectionState.INVALID : ConnectionState.NEW;
      return ConnectionState.NEW;
    }
    case Protocol.ICMP:
      if (family !== IpFamily.IPV4) return ConnectionState.INVALID;
      if (icmpType !== undefined && ICMP_NEW_TYPES.has(icmpType)) return ConnectionState.NEW;
      return ConnectionState.INVALID;
    case Protocol.ICMPV6:
      if (family !== IpFamily.IPV6) return ConnectionState.INVALID;
      if (icmpType !== undefined && ICMPV6_NEW_TYPES.has(icmpType)) return ConnectionState.NEW;
      if (icmpType !== undefined && ICMPV6_UNTRACKED_TYPES.has(icmpType)) return ConnectionState.UNTRACKED;
      return ConnectionState.INVALID;
  }
}

/** True for ICMP error types (which are RELATED when they quote a tracked connection). */
export function isIcmpError(family: IpFamily, icmpType: number): boolean {
  return family === IpFamily.IPV4 ? ICMP_ERROR_TYPES.has(icmpType) : icmpType < 128;
}
