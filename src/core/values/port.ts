import { IpFamily } from './family';
import { Protocol } from './protocol';

const MIN_PORT = 1;
const MAX_PORT = 65535;

/** ICMP types assigned by IANA (RFC 792 and later; deprecated ones included, they still parse). */
const ICMP_TYPES = new Set([0, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 30, 40, 41, 42, 43, 253, 254]);
/** ICMPv6 types assigned by IANA. */
const ICMPV6_TYPES = new Set([
  1, 2, 3, 4, 100, 101, 127, ...Array.from({ length: 161 - 128 + 1 }, (_, i) => 128 + i), 200, 201, 255,
]);

/** The problem of a factory argument that is not a number (a string from JSON or an environment variable, undefined). */
function notANumber(what: string, value: unknown): string | undefined {
  if (typeof value === 'number') return undefined;
  const got = typeof value === 'string' ? `the string '${value}' (convert it with Number(...))` : String(value);
  return `${what} must be a number, got ${got}`;
}

/** The highest assigned code of ICMP types with few codes (IANA); types not listed are not checked. */
const ICMP_CODES: Record<number, number> = {
  0: 0, 3: 15, 4: 0, 5: 3, 8: 0, 9: 16, 10: 0, 11: 1, 12: 2, 13: 0, 14: 0, 15: 0, 16: 0, 17: 0, 18: 0,
};
/** The highest assigned code of ICMPv6 types with few codes (IANA). */
const ICMPV6_CODES: Record<number, number> = {
  1: 8, 2: 0, 3: 1, 4: 10, 128: 0, 129: 0, 130: 0, 131: 0, 132: 0, 133: 0, 134: 0, 135: 0, 136: 0, 137: 0,
};

/**
 * Whether a number is a CDK for Terraform number token (a variable's `numberValue`, a
 * resource's number attribute): cdktf and cdktn encode them as doubles whose top 16 bits
 * are 0xFDFF (about -8.1e298; 0xFBFF for an element of a number list token), values no
 * port or ICMP type can have.
 */
function isNumberToken(value: unknown): boolean {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const top = view.getUint16(0);
  return top === 0xfdff || top === 0xfbff;
}

function tokenProblem(what: string): string {
  return `${what} is a Terraform token (a variable or a resource attribute), known only at deploy time: `
    + 'ports must be known at synth, because the ruleset is laid out by port; use a number (addresses may be tokens, ports may not)';
}

function portProblem(port: number, what: string): string | undefined {
  const type = notANumber(what, port);
  if (type) return type;
  if (isNumberToken(port)) return tokenProblem(what);
  if (!Number.isInteger(port)) return `${what} ${port} is not an integer: use a whole port number between ${MIN_PORT} and ${MAX_PORT}`;
  if (port < MIN_PORT || port > MAX_PORT) return `${what} ${port} is out of range: use a port between ${MIN_PORT} and ${MAX_PORT}`;
  return undefined;
}

function icmpProblem(protocol: Protocol, type: number, code?: number): string | undefined {
  const name = protocol === Protocol.ICMP ? 'icmp' : 'icmpv6';
  const known = protocol === Protocol.ICMP ? ICMP_TYPES : ICMPV6_TYPES;
  const type_ = notANumber(`${name} type`, type) ?? (code === undefined ? undefined : notANumber(`${name} code`, code));
  if (type_) return type_;
  if (isNumberToken(type)) return tokenProblem(`${name} type`);
  if (code !== undefined && isNumberToken(code)) return tokenProblem(`${name} code`);
  if (!Number.isInteger(type) || !known.has(type)) {
    const hint = protocol === Protocol.ICMP ? 'e.g. 8 (echo request) or 3 (destination unreachable)' : 'e.g. 128 (echo request) or 1 (destination unreachable)';
    return `${name} type ${type} does not exist: use an assigned type, ${hint}`;
  }
  if (code !== undefined && (!Number.isInteger(code) || code < 0 || code > 255)) {
    return `${name} code ${code} does not exist: codes are whole numbers between 0 and 255`;
  }
  const codes = (protocol === Protocol.ICMP ? ICMP_CODES : ICMPV6_CODES)[type];
  if (code !== undefined && codes !== undefined && code > codes) {
    return `${name} code ${code} does not exist for type ${type}: ${codes === 0 ? 'the type has only code 0' : `its codes are 0 to ${codes}`}; omit the code to match all of them`;
  }
  return undefined;
}

/**
 * A protocol and port (or port range, or ICMP type) that traffic is allowed to.
 *
 * Create one with the static factories, e.g. `Port.tcp(22)`, `Port.udpRange(60000, 61000)`
 * or `Port.icmpPing()`.
 */
export class Port {
  /** SSH, TCP 22. */
  public static readonly SSH = Port.tcp(22);
  /** HTTP, TCP 80. */
  public static readonly HTTP = Port.tcp(80);
  /** HTTPS, TCP 443. */
  public static readonly HTTPS = Port.tcp(443);
  /** DNS over UDP, UDP 53. */
  public static readonly DNS_UDP = Port.udp(53);
  /** DNS over TCP, TCP 53. */
  public static readonly DNS_TCP = Port.tcp(53);
  /** NTP, UDP 123. */
  public static readonly NTP = Port.udp(123);
  /** SMTP, TCP 25. */
  public static readonly SMTP = Port.tcp(25);
  /** PostgreSQL, TCP 5432. */
  public static readonly POSTGRES = Port.tcp(5432);
  /** MySQL / MariaDB, TCP 3306. */
  public static readonly MYSQL = Port.tcp(3306);

  /** A single TCP port. */
  public static tcp(port: number): Port {
    return new Port(Protocol.TCP, port, port, undefined, undefined, portProblem(port, 'tcp port'));
  }

  /** An inclusive range of TCP ports. */
  public static tcpRange(fromPort: number, toPort: number): Port {
    return Port.range(Protocol.TCP, fromPort, toPort);
  }

  /** Every TCP port. */
  public static allTcp(): Port {
    return new Port(Protocol.TCP, MIN_PORT, MAX_PORT);
  }

  /** A single UDP port. */
  public static udp(port: number): Port {
    return new Port(Protocol.UDP, port, port, undefined, undefined, portProblem(port, 'udp port'));
  }

  /** An inclusive range of UDP ports. */
  public static udpRange(fromPort: number, toPort: number): Port {
    return Port.range(Protocol.UDP, fromPort, toPort);
  }

  /** Every UDP port. */
  public static allUdp(): Port {
    return new Port(Protocol.UDP, MIN_PORT, MAX_PORT);
  }

  /** An ICMP (IPv4) type, any code. */
  public static icmpType(type: number): Port {
    return new Port(Protocol.ICMP, undefined, undefined, type, undefined, icmpProblem(Protocol.ICMP, type));
  }

  /** An ICMP (IPv4) type and code. */
  public static icmpTypeAndCode(type: number, code: number): Port {
    return new Port(Protocol.ICMP, undefined, undefined, type, code, icmpProblem(Protocol.ICMP, type, code));
  }

  /** ICMP echo request (IPv4 ping). */
  public static icmpPing(): Port {
    return Port.icmpType(8);
  }

  /** An ICMPv6 type, any code. */
  public static icmpv6Type(type: number): Port {
    return new Port(Protocol.ICMPV6, undefined, undefined, type, undefined, icmpProblem(Protocol.ICMPV6, type));
  }

  /** An ICMPv6 type and code. */
  public static icmpv6TypeAndCode(type: number, code: number): Port {
    return new Port(Protocol.ICMPV6, undefined, undefined, type, code, icmpProblem(Protocol.ICMPV6, type, code));
  }

  /** ICMPv6 echo request (IPv6 ping). */
  public static icmpv6Ping(): Port {
    return Port.icmpv6Type(128);
  }

  private static range(protocol: Protocol, fromPort: number, toPort: number): Port {
    const problem = portProblem(fromPort, `${protocol} port`) ?? portProblem(toPort, `${protocol} port`)
      ?? (fromPort > toPort ? `${protocol} port range ${fromPort}-${toPort} is inverted: write it as ${toPort}-${fromPort}` : undefined);
    return new Port(protocol, fromPort, toPort, undefined, undefined, problem);
  }

  /** The protocol. */
  public readonly protocol: Protocol;
  /** First port of the range (TCP and UDP only). */
  public readonly fromPort?: number;
  /** Last port of the range, inclusive (TCP and UDP only). */
  public readonly toPort?: number;
  /** ICMP or ICMPv6 type (ICMP only). */
  public readonly icmpTypeNumber?: number;
  /** ICMP or ICMPv6 code (ICMP only; any code when absent). */
  public readonly icmpCodeNumber?: number;
  /**
   * Why this port is unusable (e.g. out of range), or undefined when it is fine. Factories
   * never throw: the construct (or `CompiledRuleset.compile`) that receives the port
   * reports the problem with its own path.
   */
  public readonly problem?: string;

  private constructor(protocol: Protocol, fromPort?: number, toPort?: number, icmpType?: number, icmpCode?: number, problem?: string) {
    this.problem = problem;
    this.protocol = protocol;
    this.fromPort = fromPort;
    this.toPort = toPort;
    this.icmpTypeNumber = icmpType;
    this.icmpCodeNumber = icmpCode;
  }

  /** True for ICMP and ICMPv6 types. */
  public get isIcmp(): boolean {
    return this.protocol === Protocol.ICMP || this.protocol === Protocol.ICMPV6;
  }

  /**
   * The only address family this port exists in (ICMP: IPv4, ICMPv6: IPv6),
   * or undefined for TCP and UDP, which exist in both.
   */
  public get family(): IpFamily | undefined {
    if (this.protocol === Protocol.ICMP) return IpFamily.IPV4;
    if (this.protocol === Protocol.ICMPV6) return IpFamily.IPV6;
    return undefined;
  }

  /** e.g. `tcp/22`, `udp/60000-61000`, `icmp/8`, `icmpv6/1/4`. */
  public toString(): string {
    if (this.isIcmp) {
      return `${this.protocol}/${this.icmpTypeNumber}${this.icmpCodeNumber === undefined ? '' : `/${this.icmpCodeNumber}`}`;
    }
    return this.fromPort === this.toPort
      ? `${this.protocol}/${this.fromPort}`
      : `${this.protocol}/${this.fromPort}-${this.toPort}`;
  }
}
