import { ConntrackOptions } from './conntrack-options';
import { Backend } from '../core/backends/backend';
import { RateLimit } from '../core/ir/rate-limit';
import { DefaultAction } from '../core/policy/default-action';
import { DropLogging } from '../core/policy/host-policy';
import { IpFamily } from '../core/values/family';
import { DeploymentOptions } from '../deploy/deployment-options';

/**
 * Properties of a `StatefulHost`.
 */
export interface StatefulHostProps {
  /**
   * The host's name, used for its folder in the synthesized output, in rule comments
   * and reports. Letters, digits, `.`, `_` and `-`.
   *
   * @default - the construct id
   */
  readonly hostName?: string;

  /** The address the host is managed at (where deployment connects over SSH). */
  readonly address: string;

  /**
   * The netfilter front end the host's ruleset is rendered for.
   *
   * @default Backend.IPTABLES
   */
  readonly backend?: Backend;

  /**
   * What happens to traffic nothing allows.
   *
   * @default DefaultAction.REJECT - TCP reset, ICMP port unreachable otherwise
   */
  readonly defaultAction?: DefaultAction;

  /**
   * Accept ICMP and ICMPv6 echo requests (ping).
   *
   * @default true
   */
  readonly allowPing?: boolean;

  /**
   * How many echo requests per family are accepted; the rest meet the default action.
   *
   * @default - 20 per second, bursts of 50
   */
  readonly pingRateLimit?: RateLimit;

  /**
   * Log what the default action refuses (rate-limited, prefix naming the host).
   *
   * @default - no logging
   */
  readonly logDropped?: DropLogging;

  /**
   * Filter what the host sends, too: only `OutboundAccess` declarations and connections
   * from this host (or its groups) to others may open new connections.
   *
   * @default false
   */
  readonly outboundFiltering?: boolean;

  /**
   * What happens to new outbound connections nothing allows.
   *
   * @default DefaultAction.REJECT
   */
  readonly outboundDefaultAction?: DefaultAction;

  /**
   * Every address the host has, IPv4 and IPv6: what other hosts' rules see it as when
   * they allow connections from it (`connections.allowFrom(host, ...)`).
   *
   * @default - the management `address`, when it is an IP address
   */
  readonly addresses?: string[];

  /**
   * The family of the host's addresses that Terraform knows only at apply time (a token
   * `address`, e.g. `instance.privateIp`, or tokens in `addresses`): other hosts' rules
   * match them through named sets the deploy fills in, and the deploy checks on each host
   * that every such value is an address of this family.
   *
   * @default IpFamily.IPV4
   */
  readonly lateAddressFamily?: IpFamily;

  /**
   * The address families the host has. Peers of a family the host lacks are an error;
   * the missing family still gets a closed ruleset.
   *
   * @default [IpFamily.IPV4, IpFamily.IPV6]
   */
  readonly ipFamilies?: IpFamily[];

  /**
   * The library's own nftables table (nftables backend).
   *
   * @default 'stateful_firewall'
   */
  readonly nftTableName?: string;

  /**
   * Peer lists with more elements than this compile to one named set (an ipset in
   * `sets.ipset` for iptables, a set in the library's table for nftables), matched in one
   * lookup. 0 puts every restricted peer list in a set; `Infinity` never uses sets (hosts
   * without the ipset tool).
   *
   * @default 8
   */
  readonly setThreshold?: number;

  /**
   * Sizing of the conntrack table for the connections the host is expected to track:
   * reported in `explain.md` and set on the host by the deploy (raise-only).
   *
   * @default - sized when a service or admin access declares `expectedConnections`; the kernel's own size otherwise
   */
  readonly conntrack?: ConntrackOptions;

  /**
   * How `cdktf deploy` puts the ruleset on the host.
   *
   * @default - a null_resource that connects as root with the SSH agent, a 60 s rollback, shared ownership
   */
  readonly deployment?: DeploymentOptions;

  /**
   * Add `TerraformOutput`s for the host to its stack: `<hostName>_ruleset_sha256` (the
   * sha256 of the rendered ruleset files; it changes exactly when what the host loads
   * changes) and `<hostName>_explain` (the `explain.md` text: every opening, where it
   * comes from, what it allows). `.` in the host name becomes `_`. Read them with e.g.
   * `terraform output -raw web_explain` in the stack's output directory.
   *
   * @default false
   */
  readonly terraformOutputs?: boolean;
}
