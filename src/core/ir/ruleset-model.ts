import { Chain } from './chain';
import { SetDefinition } from './set-definition';

/**
 * A table: a named group of chains (`filter`, `raw`, or the library's own nftables table).
 *
 * @experimental
 */
export interface Table {
  /** The table's name. */
  readonly name: string;

  /** The chains, base chains first. */
  readonly chains: Chain[];
}

/**
 * A complete ruleset for one host. Rules carry their address family in their match,
 * so the same model renders to iptables (IPv4), ip6tables (IPv6) and one nftables
 * `inet` table.
 *
 * @experimental
 */
export interface RulesetModel {
  /** The tables. */
  readonly tables: Table[];

  /**
   * The named sets the rules refer to (large peer and port lists; see
   * `HostPolicy.setThreshold`), sorted by name.
   *
   * @default - no sets
   */
  readonly sets?: SetDefinition[];
}
