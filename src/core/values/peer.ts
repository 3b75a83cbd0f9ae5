import { ALL_FAMILIES, IpFamily } from './family';
import { AddressRange, formatRange } from '../net/address-range';
import { familyBits, familyMax, formatIp, parseIpv4, parseIpv6 } from '../net/ip';

function parseAddress(family: IpFamily, text: string): bigint | undefined {
  return family === IpFamily.IPV4 ? parseIpv4(text) : parseIpv6(text);
}

function otherFamily(family: IpFamily): IpFamily {
  return family === IpFamily.IPV4 ? IpFamily.IPV6 : IpFamily.IPV4;
}

function factoryName(family: IpFamily): string {
  return family === IpFamily.IPV4 ? 'Peer.ipv4' : 'Peer.ipv6';
}

/** IPv4-mapped IPv6 addresses (::ffff:0:0/96): the kernel sees these peers as IPv4, never in IPv6 rules. */
const MAPPED_PREFIX = 0xffffn << 32n;
const MAPPED_MASK = ((1n << 128n) - 1n) ^ ((1n << 32n) - 1n);

/** The IPv4 address an IPv4-mapped IPv6 address stands for, or undefined. */
function mappedIpv4(text: string): string | undefined {
  const v6 = parseIpv6(text.trim());
  return v6 !== undefined && (v6 & MAPPED_MASK) === MAPPED_PREFIX ? formatIp(IpFamily.IPV4, v6 & 0xffffffffn) : undefined;
}

function mappedProblem(text: string, v4: string): string {
  return `'${text}' is an IPv4-mapped IPv6 address, which IPv6 rules never see (the kernel handles such traffic as IPv4): use Peer.ipv4('${v4}')`;
}

/** The problem of a factory argument that is not a string (e.g. an unset environment variable). */
function notAString(factory: string, value: unknown): string | undefined {
  if (typeof value === 'string') return undefined;
  const got = value === undefined ? 'undefined (an unset environment variable?)' : value === null ? 'null' : `${typeof value} ${String(value)}`;
  return `${factory} needs a string such as ${factory.startsWith('Peer.ipv4') ? "'10.0.0.0/8'" : "'2001:db8::/32'"}, got ${got}`;
}

function parseCidr(family: IpFamily, text: string): AddressRange {
  const trimmed = text.trim();
  const [addr, prefixText, ...rest] = trimmed.split('/');
  const bits = familyBits(family);
  const value = parseAddress(family, addr);
  if (family === IpFamily.IPV6 && value !== undefined && prefixText === undefined && rest.length === 0 && mappedIpv4(addr)) {
    throw new Error(mappedProblem(text, mappedIpv4(addr)!));
  }
  if (value === undefined || rest.length > 0) {
    const mapped = family === IpFamily.IPV4 ? mappedIpv4(addr) : undefined;
    if (mapped) throw new Error(mappedProblem(text, mapped));
    if (parseAddress(otherFamily(family), addr) !== undefined) {
      throw new Error(`'${text}' is an ${otherFamily(family)} address: use ${factoryName(otherFamily(family))}('${text}')`);
    }
    throw new Error(`'${text}' is not a valid ${family} address or cidr: write e.g. ${family === IpFamily.IPV4 ? "'10.9.8.7' or '10.0.0.0/8'" : "'2001:db8::1' or '2001:db8::/32'"}`);
  }
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      throw new Error(`'${text}' has an invalid prefix length: use /0 to /${bits}`);
    }
    prefix = Number(prefixText);
  }
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((value & hostMask) !== 0n) {
    const network = formatIp(family, value & ~hostMask & familyMax(family));
    throw new Error(`'${text}' has host bits set: did you mean ${network}/${prefix}?`);
  }
  if (family === IpFamily.IPV6 && prefix >= 96 && (value & MAPPED_MASK) === MAPPED_PREFIX) {
    throw new Error(`'${text}' is IPv4-mapped IPv6 space (::ffff:0:0/96), which IPv6 rules never see (the kernel handles such traffic as IPv4): use Peer.ipv4('${formatIp(IpFamily.IPV4, value & 0xffffffffn)}/${prefix - 96}')`);
  }
  return { family, first: value, last: value | hostMask };
}

function parseRange(family: IpFamily, first: string, last: string): AddressRange {
  const a = parseAddress(family, first.trim());
  const b = parseAddress(family, last.trim());
  for (const [text, v] of [[first, a], [last, b]] as const) {
    const mapped = mappedIpv4(text);
    if (mapped) throw new Error(mappedProblem(text, mapped).replace(/Peer\.ipv4\('[^']*'\)/, 'Peer.ipv4Range(...) with the IPv4 addresses'));
    if (v === undefined) {
      if (parseAddress(otherFamily(family), text.trim()) !== undefined) {
        throw new Error(`'${text}' is an ${otherFamily(family)} address: use ${factoryName(otherFamily(family))}Range(...)`);
      }
      throw new Error(`'${text}' is not a valid ${family} address`);
    }
  }
  if (a! > b!) {
    throw new Error(`address range ${first}-${last} is inverted: write it as ${last}-${first}`);
  }
  return { family, first: a!, last: b! };
}

/**
 * Whether a string is (or contains) an unresolved Terraform token as cdktf encodes it
 * (`${TfToken[TOKEN.12]}`): an address Terraform knows only at apply time. Recognised by
 * its encoding, so the engine needs no cdktf.
 */
export function isTerraformToken(text: unknown): boolean {
  return typeof text === 'string' && /\$\{TfToken\[[^\]]*\]\}/.test(text);
}

/**
 * An address (or CIDR, or range) that Terraform knows only at apply time: rules match it
 * through a named set whose members the deploy fills in.
 */
export interface LateAddress {
  /** The family the address must have (the factory's, or the host's `lateAddressFamily`). */
  readonly family: IpFamily;
  /** The token text (a Terraform expression once cdktf resolves it). */
  readonly value: string;
  /** Whether a CIDR block or range is allowed (peers), or only one address (a host's own). */
  readonly net: boolean;
  /** Who the address belongs to, for set names and messages: a host's name, or undefined (the declaration's). */
  readonly label?: string;
  /** The construct path that declared it (a host's), or undefined (the declaration's path). */
  readonly origin?: string;
}

/** Each peer's elements, formatted once (kept outside the peer, which stays a plain value). */
const FORMATTED = new WeakMap<object, string[]>();

/**
 * Something with addresses that traffic can be allowed from or to: a `Peer`, or a
 * connectable (`StatefulHost`, `HostGroup`) whose addresses are read at synth. What
 * `connections.allowFrom` and `connections.allowTo` take, as aws-cdk's `IPeer` is what
 * its `Connections` take.
 */
export interface IPeer {
  /** The addresses (both families) as they are now, or undefined while there are none (a group without hosts). */
  toPeer(): Peer | undefined;
}

/**
 * A set of remote addresses that traffic may come from (or go to).
 *
 * Create one with the static factories, e.g. `Peer.ipv4('10.9.8.7')`,
 * `Peer.ipv4('10.0.0.0/8')`, `Peer.ipv4Range('10.9.8.7', '10.9.8.10')` or `Peer.any()`.
 */
export class Peer implements IPeer {
  /** An IPv4 address or CIDR block, e.g. `10.9.8.7` or `10.0.0.0/8`. */
  public static ipv4(cidr: string): Peer {
    if (isTerraformToken(cidr)) return Peer.late(IpFamily.IPV4, cidr);
    return Peer.parsed(() => [parseCidr(IpFamily.IPV4, cidr)], cidr, notAString('Peer.ipv4', cidr));
  }

  /**
   * An IPv6 address or CIDR block, e.g. `2001:db8::1` or `2001:db8::/32`. IPv4-mapped
   * addresses (`::ffff:10.0.0.1`) are a problem: use `Peer.ipv4`.
   */
  public static ipv6(cidr: string): Peer {
    if (isTerraformToken(cidr)) return Peer.late(IpFamily.IPV6, cidr);
    return Peer.parsed(() => [parseCidr(IpFamily.IPV6, cidr)], cidr, notAString('Peer.ipv6', cidr));
  }

  /** An inclusive range of IPv4 addresses, e.g. `10.9.8.7` to `10.9.8.10`. */
  public static ipv4Range(first: string, last: string): Peer {
    if (isTerraformToken(first) || isTerraformToken(last)) return Peer.late(IpFamily.IPV4, `${first}-${last}`);
    return Peer.parsed(() => [parseRange(IpFamily.IPV4, first, last)], `${first}-${last}`,
      notAString('Peer.ipv4Range first', first) ?? notAString('Peer.ipv4Range last', last));
  }

  /** An inclusive range of IPv6 addresses. */
  public static ipv6Range(first: string, last: string): Peer {
    if (isTerraformToken(first) || isTerraformToken(last)) return Peer.late(IpFamily.IPV6, `${first}-${last}`);
    return Peer.parsed(() => [parseRange(IpFamily.IPV6, first, last)], `${first}-${last}`,
      notAString('Peer.ipv6Range first', first) ?? notAString('Peer.ipv6Range last', last));
  }

  /** Any IPv4 address. */
  public static anyIpv4(): Peer {
    return new Peer([{ family: IpFamily.IPV4, first: 0n, last: familyMax(IpFamily.IPV4) }], 'any IPv4');
  }

  /** Any IPv6 address. */
  public static anyIpv6(): Peer {
    return new Peer([{ family: IpFamily.IPV6, first: 0n, last: familyMax(IpFamily.IPV6) }], 'any IPv6');
  }

  /** Any address of either family. */
  public static any(): Peer {
    return new Peer(ALL_FAMILIES.map((family) => ({ family, first: 0n, last: familyMax(family) })), 'any');
  }

  /**
   * Several peers as one, e.g. `Peer.anyOf(Peer.ipv4('10.0.0.0/8'), Peer.ipv6('2001:db8::/32'))`.
   */
  public static anyOf(...peers: Peer[]): Peer {
    const bad = peers.findIndex((p) => !(p instanceof Peer));
    if (bad >= 0) return new Peer([], 'anyOf(...)', `Peer.anyOf() got ${String(peers[bad])} as peer ${bad + 1}, not a Peer: pass peers made with Peer.ipv4(...), Peer.ipv6(...)`);
    const problem = peers.length === 0 ? 'Peer.anyOf() needs at least one peer' : peers.find((p) => p.problem)?.problem;
    return new Peer(peers.flatMap((p) => p._ranges), peers.map((p) => p.toString()).join(', '), problem, peers.flatMap((p) => p._late));
  }

  /**
   * @internal addresses Terraform knows only at apply time (e.g. a host's
   * `instance.privateIp`), as one peer: `label` names whose they are ("app").
   */
  public static _lateBound(addresses: LateAddress[], label: string): Peer {
    return new Peer([], label, undefined, addresses);
  }

  private static late(family: IpFamily, value: string): Peer {
    return new Peer([], `${family === IpFamily.IPV4 ? 'IPv4' : 'IPv6'} known at deploy`, undefined, [{ family, value, net: true }]);
  }

  private static parsed(parse: () => AddressRange[], label: string, typeProblem: string | undefined): Peer {
    if (typeProblem) return new Peer([], String(label), typeProblem);
    try {
      return new Peer(parse(), label.trim());
    } catch (e) {
      return new Peer([], label.trim(), (e as Error).message);
    }
  }

  /** @internal the addresses covered, as ranges */
  public readonly _ranges: AddressRange[];

  /**
   * Why this peer is unusable (e.g. host bits set), or undefined when it is fine. Factories
   * never throw: the construct (or `CompiledRuleset.compile`) that receives the peer
   * reports the problem with its own path.
   */
  public readonly problem?: string;

  /** @internal addresses known only at apply time (filled into named sets by the deploy) */
  public readonly _late: LateAddress[];

  private readonly label: string;

  private constructor(ranges: AddressRange[], label: string, problem?: string, late: LateAddress[] = []) {
    this._ranges = ranges;
    this._late = late;
    this.label = label;
    this.problem = problem;
  }

  /** The peer itself: a `Peer` is an `IPeer` (e.g. for `connections.allowFrom(Peer.ipv4(...), port)`). */
  public toPeer(): Peer | undefined {
    return this;
  }

  /** The address families this peer has addresses in. */
  public get families(): IpFamily[] {
    return ALL_FAMILIES.filter((f) => this._ranges.some((r) => r.family === f) || this._late.some((l) => l.family === f));
  }

  /** Whether some of the peer's addresses are known only at deploy time (Terraform tokens). */
  public get isLateBound(): boolean {
    return this._late.length > 0;
  }

  /** The peer's addresses as rule elements (CIDRs, or `first-last` ranges), IPv4 first; addresses known only at deploy time are not among them. */
  public get elements(): string[] {
    // formatted once (a peer never changes): every host that uses it reads them, often several times
    let formatted = FORMATTED.get(this);
    if (!formatted) {
      formatted = this._ranges.map(formatRange);
      FORMATTED.set(this, formatted);
    }
    return [...formatted];
  }

  /** The peer as written, e.g. `10.9.8.7-10.9.8.10` or `any`. */
  public toString(): string {
    return this.label;
  }
}
