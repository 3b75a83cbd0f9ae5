import { stateOfFirstPacket } from './conntrack-state';
import { Direction } from './direction';
import { TcpFlag } from './tcp-flag';
import { ConnectionState } from '../ir/connection-state';
import { parseIp } from '../net/ip';
import { IpFamily } from '../values/family';
import { Protocol } from '../values/protocol';

/** Properties shared by every test packet. */
export interface PacketBaseProps {
  /** Source address (IPv4 or IPv6); the packet's family follows from it. */
  readonly from: string;

  /**
   * Destination address (same family as `from`).
   *
   * @default - the host itself (any address)
   */
  readonly to?: string;

  /**
   * The conntrack state. Set it to test established or related traffic.
   *
   * @default - what the kernel assigns to the first packet of a new flow (see `TcpFlag`s)
   */
  readonly state?: ConnectionState;

  /**
   * Incoming interface (inbound packets).
   *
   * @default - 'lo' for loopback sources, 'eth0' otherwise
   */
  readonly inInterface?: string;

  /**
   * Whether the packet arrives at the host or is sent by it (then `to` is required and
   * `from` is one of the host's addresses).
   *
   * @default Direction.INBOUND
   */
  readonly direction?: Direction;

  /**
   * Whether the packet arrives when the rate limits it meets are exhausted (the simulator
   * has no clock).
   *
   * @default false - every rate limit still has room
   */
  readonly overRateLimit?: boolean;

  /**
   * Whether the packet's source already holds as many connections as its limits allow.
   *
   * @default false
   */
  readonly overConnectionLimit?: boolean;
}

/** A TCP segment. */
export interface TcpPacketProps extends PacketBaseProps {
  /** Destination port. */
  readonly port: number;

  /**
   * Source port.
   *
   * @default 40000
   */
  readonly sourcePort?: number;

  /**
   * TCP flags.
   *
   * @default [TcpFlag.SYN] - a connection attempt
   */
  readonly flags?: TcpFlag[];
}

/** A UDP datagram. */
export interface UdpPacketProps extends PacketBaseProps {
  /** Destination port. */
  readonly port: number;

  /**
   * Source port.
   *
   * @default 40000
   */
  readonly sourcePort?: number;
}

/** An ICMP (IPv4 source) or ICMPv6 (IPv6 source) message. */
export interface IcmpPacketProps extends PacketBaseProps {
  /**
   * The type.
   *
   * @default - echo request (8 for ICMP, 128 for ICMPv6)
   */
  readonly type?: number;

  /**
   * The code.
   *
   * @default 0
   */
  readonly code?: number;

  /**
   * The IPv6 hop limit / IPv4 TTL.
   *
   * @default - 255 for neighbour discovery types, 64 otherwise
   */
  readonly hopLimit?: number;
}

function familyOf(address: string, what: string): IpFamily {
  const parsed = parseIp(address);
  if (!parsed) throw new Error(`packet ${what} '${address}' is not an IPv4 or IPv6 address`);
  return parsed.family;
}

function checkPort(port: number | undefined, what: string): void {
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new Error(`packet ${what} ${port} is out of range: use 0 to 65535`);
  }
}

/**
 * A packet arriving at a host, for the simulator and the jest matchers.
 *
 * @example
 * Packet.tcp({ from: '10.9.8.8', port: 22 });                      // a SYN
 * Packet.tcp({ from: '10.9.8.8', port: 22, flags: [TcpFlag.ACK] }); // a bare ACK (state NEW!)
 * Packet.icmp({ from: '2001:db8::1' });                             // ICMPv6 echo request
 */
export class Packet {
  /** A TCP segment (a SYN unless `flags` say otherwise). */
  public static tcp(props: TcpPacketProps): Packet {
    checkPort(props.port, 'port');
    checkPort(props.sourcePort, 'source port');
    const family = familyOf(props.from, 'source');
    const flags = props.flags ?? [TcpFlag.SYN];
    return new Packet(props, family, Protocol.TCP, {
      destinationPort: props.port,
      sourcePort: props.sourcePort ?? 40000,
      tcpFlags: flags,
      state: props.state ?? stateOfFirstPacket(family, Protocol.TCP, flags),
    });
  }

  /** A UDP datagram. */
  public static udp(props: UdpPacketProps): Packet {
    checkPort(props.port, 'port');
    checkPort(props.sourcePort, 'source port');
    const family = familyOf(props.from, 'source');
    return new Packet(props, family, Protocol.UDP, {
      destinationPort: props.port,
      sourcePort: props.sourcePort ?? 40000,
      state: props.state ?? ConnectionState.NEW,
    });
  }

  /** An ICMP message from an IPv4 source or an ICMPv6 message from an IPv6 source (echo request by default). */
  public static icmp(props: IcmpPacketProps): Packet {
    const family = familyOf(props.from, 'source');
    const protocol = family === IpFamily.IPV4 ? Protocol.ICMP : Protocol.ICMPV6;
    const type = props.type ?? (family === IpFamily.IPV4 ? 8 : 128);
    const nd = family === IpFamily.IPV6 && type >= 133 && type <= 136;
    return new Packet(props, family, protocol, {
      icmpType: type,
      icmpCode: props.code ?? 0,
      hopLimit: props.hopLimit ?? (nd ? 255 : 64),
      state: props.state ?? stateOfFirstPacket(family, protocol, [], type),
    });
  }

  /** The address family. */
  public readonly family: IpFamily;
  /** The protocol. */
  public readonly protocol: Protocol;
  /** Source address. */
  public readonly source: string;
  /** Destination address, if given. */
  public readonly destination?: string;
  /** Incoming interface ('' for outbound packets). */
  public readonly inInterface: string;
  /** Outgoing interface ('' for inbound packets). */
  public readonly outInterface: string;
  /** Which way the packet goes. */
  public readonly direction: Direction;
  /** Conntrack state. */
  public readonly state: ConnectionState;
  /** TCP/UDP source port. */
  public readonly sourcePort?: number;
  /** TCP/UDP destination port. */
  public readonly destinationPort?: number;
  /** TCP flags. */
  public readonly tcpFlags: TcpFlag[];
  /** ICMP type. */
  public readonly icmpType?: number;
  /** ICMP code. */
  public readonly icmpCode?: number;
  /** Hop limit / TTL. */
  public readonly hopLimit: number;
  /** Whether the rate limits the packet meets are exhausted. */
  public readonly overRateLimit: boolean;
  /** Whether the source's connection limits are reached. */
  public readonly overConnectionLimit: boolean;

  private constructor(
    base: PacketBaseProps,
    family: IpFamily,
    protocol: Protocol,
    extra: {
      destinationPort?: number;
      sourcePort?: number;
      tcpFlags?: TcpFlag[];
      icmpType?: number;
      icmpCode?: number;
      hopLimit?: number;
      state: ConnectionState;
    },
  ) {
    if (base.to !== undefined && familyOf(base.to, 'destination') !== family) {
      throw new Error(`packet from '${base.from}' to '${base.to}' mixes address families`);
    }
    this.family = family;
    this.protocol = protocol;
    this.source = base.from;
    this.destination = base.to;
    const loopback = family === IpFamily.IPV4 ? base.from.startsWith('127.') : base.from === '::1';
    this.direction = base.direction ?? Direction.INBOUND;
    if (this.direction === Direction.OUTBOUND) {
      if (base.to === undefined) throw new Error(`outbound packet from '${base.from}' needs a destination: give 'to'`);
      const toLoopback = family === IpFamily.IPV4 ? base.to.startsWith('127.') : base.to === '::1';
      this.inInterface = '';
      this.outInterface = toLoopback ? 'lo' : 'eth0';
    } else {
      this.inInterface = base.inInterface ?? (loopback ? 'lo' : 'eth0');
      this.outInterface = '';
    }
    this.state = extra.state;
    this.sourcePort = extra.sourcePort;
    this.destinationPort = extra.destinationPort;
    this.tcpFlags = extra.tcpFlags ?? [];
    this.icmpType = extra.icmpType;
    this.icmpCode = extra.icmpCode;
    this.hopLimit = extra.hopLimit ?? 64;
    this.overRateLimit = base.overRateLimit ?? false;
    this.overConnectionLimit = base.overConnectionLimit ?? false;
  }

  /** @internal The same packet in another conntrack state (what the raw table's notrack does). */
  public _withState(state: ConnectionState): Packet {
    const copy: Packet = Object.create(Packet.prototype);
    Object.assign(copy, this, { state });
    return copy;
  }

  /** e.g. `tcp 10.9.8.8:40000 -> :22 [SYN] state new`. */
  public toString(): string {
    const to = this.destination ?? '';
    if (this.protocol === Protocol.TCP || this.protocol === Protocol.UDP) {
      const flags = this.protocol === Protocol.TCP ? ` [${this.tcpFlags.join(',')}]` : '';
      const src = this.family === IpFamily.IPV6 ? `[${this.source}]` : this.source;
      const dst = this.family === IpFamily.IPV6 && to ? `[${to}]` : to;
      return `${this.protocol} ${src}:${this.sourcePort} -> ${dst}:${this.destinationPort}${flags} state ${this.state}`;
    }
    return `${this.protocol} ${this.source} -> ${to || 'host'} type ${this.icmpType} code ${this.icmpCode} state ${this.state}`;
  }
}
