import { IpFamily } from '../values/family';

/**
 * What a named set holds.
 *
 * @experimental
 */
export enum SetKind {
  /** Addresses of one family: CIDR blocks and ranges (`ip saddr @name`, `-m set --match-set name src`). */
  ADDRESS = 'address',
  /** Transport ports (`tcp dport @name`, `-m set --match-set name dst` with a `bitmap:port` ipset). */
  PORT = 'port',
}

/**
 * One member of a set that Terraform knows only at apply time (a token address): the deploy
 * fills it in, after checking on the host that it is an address of the set's family.
 *
 * @experimental
 */
export interface LateMember {
  /** Whose address it is (a host's name, or the last segment of the declaring construct's path). */
  readonly label: string;
  /** The construct path that declared it (named when the deploy finds the value unusable). */
  readonly origin: string;
  /**
   * The Terraform token (cdktf's encoding) that resolves to the address; empty in model files.
   *
   * @default - none (read from a model file)
   */
  readonly value?: string;
  /**
   * Whether a CIDR block or range is allowed, not only one address.
   *
   * @default false
   */
  readonly net?: boolean;
}

/**
 * A named set a ruleset's rules refer to (`AddressMatch.set`, `RuleMatch.destinationPortSet`).
 * The same definition renders as an nftables named set inside the library's table and as
 * an ipset (`sets.ipset`, in the format `ipset save` prints) for iptables.
 *
 * @experimental
 */
export interface SetDefinition {
  /**
   * The set's name: `sfw-` and at most 27 more characters (ipset names hold 31), unique
   * per host. The same name serves ipset and nftables.
   */
  readonly name: string;

  /** What the set holds. */
  readonly kind: SetKind;

  /**
   * The address family (address sets only).
   *
   * @default - no family (port sets)
   */
  readonly family?: IpFamily;

  /**
   * The elements in canonical form, sorted: `10.0.0.0/8`, `192.0.2.7/32`,
   * `192.0.2.7-192.0.2.10` for address sets; `22` or `6000-6010` for port sets.
   */
  readonly elements: string[];

  /**
   * The ipset type iptables uses: `hash:ip` (single addresses only, one lookup),
   * `hash:net` (CIDRs; ranges are split into CIDRs) or `bitmap:port`.
   */
  readonly ipsetType: string;

  /**
   * The initial number of hash buckets of the ipset (a power of two, sized for the
   * elements; hash types only).
   *
   * @default - none (bitmap types)
   */
  readonly hashSize?: number;

  /**
   * The most elements the ipset may hold (with room for additions by hand; hash types only).
   *
   * @default - none (bitmap types)
   */
  readonly maxElements?: number;

  /**
   * The construct paths whose declarations the set's elements come from.
   */
  readonly origins: string[];

  /**
   * Members Terraform knows only at apply time: `elements` is then empty at synth, and the
   * deploy fills the set in on the host (tests bind them with `CompiledRuleset.bindAddresses`).
   *
   * @default - none: every element is known at synth
   */
  readonly lateMembers?: LateMember[];
}
