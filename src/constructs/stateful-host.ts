import * as fs from 'fs';
import * as path from 'path';
import type { IResolveContext, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { addressConflicts, registerHost } from './address-conflicts';
import { AdminAccess, AdminAccessOptions } from './admin-access';
import { backendProblems, backendOptionProblems } from './backend-support';
import { Connections, IConnectable } from './connections';
import { ConntrackOptions } from './conntrack-options';
import { declarationsUnder, denialsUnder, outboundUnder } from './declarations';
import { Deny, DenyOptions } from './deny';
import { userDataFor, UserDataOptions } from './first-boot';
import { hostEnumProblem, managementAddressProblem, ownAddressProblem } from './host-address';
import { claimFinding, hostProblems } from './host-checks';
import { HostGroup } from './host-group';
import { OutboundAccess, OutboundAccessOptions } from './outbound-access';
import { markDeclarationScope } from './placement';
import { policyChanged, policyGeneration, registerPolicyScope } from './policy-freeze';
import { Service, ServiceOptions } from './service';
import { constructError, enumProblem as enumValueProblem } from './validation';
import { CheckLevel } from '../checks/check-level';
import { HostFacts } from '../checks/host-facts';
import { PolicyChecks } from '../checks/policy-checks';
import { Backend } from '../core/backends/backend';
import { DEFAULT_BACKEND } from '../core/backends/registry';
import { checkPingRateLimit, dropLoggingPrefix } from '../core/compile/compile';
import { CompiledRuleset } from '../core/compiled-ruleset';
import { Explain } from '../core/explain/explain';
import { planSummary } from '../core/explain/plan-summary';
import { HostModelFile, MODEL_FILE } from '../core/host-model-file';
import { RateLimit } from '../core/ir/rate-limit';
import { SetDefinition } from '../core/ir/set-definition';
import { parseIp } from '../core/net/ip';
import { ConntrackSizing, expectedConnectionsProblem, MAX_EXPECTED_CONNECTIONS } from '../core/policy/conntrack-sizing';
import { DefaultAction } from '../core/policy/default-action';
import { Allowance, Denial, DropLogging, HostPolicy } from '../core/policy/host-policy';
import { ALL_FAMILIES, IpFamily } from '../core/values/family';
import { isTerraformToken, Peer } from '../core/values/peer';
import { sha256 } from '../deploy/apply-script';
import { DeploymentOptions } from '../deploy/deployment-options';
import { HostDeployment, IDeployableHost } from '../deploy/host-deployment';
import { SshConnectionOptions } from '../deploy/ssh-connection';
import { deploymentProblem } from '../deploy/validate-deployment';
import { stageSynthesis } from '../synth/staged-synthesis';
import { onSynthesize } from '../synth/synth-session';
import { stackOf, terraformLib } from '../synth/terraform-lib';


const HOST_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

/** Per stack: its hosts, and the duplicate-name messages found among them (by the host that reports). */
const STACK_HOSTS = new WeakMap<TerraformStack, { hosts: StatefulHost[]; duplicates?: Map<StatefulHost, string> }>();

/** What a host's declarations are, and what they compile to, at one moment. */
interface PolicySnapshot {
  readonly allowances: Allowance[];
  readonly denials: Denial[];
  readonly outboundAllowances: Allowance[];
}


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

/**
 * One Linux machine and its stateful host firewall. Add `Service` and `AdminAccess`
 * constructs to it; its `ruleset` is compiled from them, and the rendered rulesets are
 * written into the synthesized output under `firewall/<hostName>/`.
 *
 * @example
 * const web = new StatefulHost(stack, 'web', { address: '203.0.113.10' });
 * web.addService('Web', { ports: [Port.HTTP, Port.HTTPS] });
 * web.addAdminAccess('Webmasters', { peers: [Peer.ipv4Range('10.9.8.7', '10.9.8.10')] });
 */
export class StatefulHost extends Construct implements IDeployableHost, IConnectable {
  /** Returns whether the construct is a `StatefulHost`. */
  public static isStatefulHost(x: any): x is StatefulHost {
    return x instanceof StatefulHost;
  }

  /** The host's name. */
  public readonly hostName: string;
  /** The management address. */
  public readonly address: string;
  /** The backend. */
  public readonly backend: Backend;
  /** The SSH port deployment connects to. */
  public readonly sshPort: number;

  private readonly memberOf: HostGroup[] = [];
  /** The default action. */
  public readonly defaultAction: DefaultAction;
  /** Whether ping is accepted. */
  public readonly allowPing: boolean;
  /** The ping rate limit, if not the default. */
  public readonly pingRateLimit?: RateLimit;
  /** Logging of refused packets, if on. */
  public readonly logDropped?: DropLogging;
  /** Whether outbound traffic is filtered. */
  public readonly outboundFiltering: boolean;
  /** The outbound default action. */
  public readonly outboundDefaultAction: DefaultAction;
  /** The address families the host has. */
  public readonly ipFamilies: IpFamily[];
  /** The nftables table name. */
  public readonly nftTableName?: string;
  /** Peer lists longer than this become named sets (undefined: the default, 8). */
  public readonly setThreshold?: number;
  /** Every address the host has (tokens included: those Terraform knows only at apply time). */
  public readonly addresses: string[];
  /** The family of the host's addresses known only at apply time. */
  public readonly lateAddressFamily: IpFamily;
  /** Openings from and to this host. */
  public readonly connections: Connections;
  /** The provisioning resource, unless deployment is disabled. */
  public readonly deployment?: HostDeployment;
  /** The conntrack options. */
  public readonly conntrack?: ConntrackOptions;
  /** The deployment's SSH connection options, as given (for the policy checks). */
  private readonly connectionOptions: SshConnectionOptions;

  /** Whether validation froze the host's policy (it is then collected and compiled once). */
  private frozen = false;
  /** What was computed from the declarations, and in which generation of them. */
  private readonly computed = new Map<string, { generation: number; value: unknown }>();

  public constructor(scope: Construct, id: string, props: StatefulHostProps) {
    super(scope, id);
    this.hostName = props.hostName ?? id;
    if (!HOST_NAME.test(this.hostName)) {
      throw constructError(this, `host name '${this.hostName}' is not usable: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    const enumProblem = hostEnumProblem(props);
    if (enumProblem) throw constructError(this, enumProblem);
    const families = ALL_FAMILIES.filter((f) => (props.ipFamilies ?? ALL_FAMILIES).includes(f));
    const addressProblem = managementAddressProblem(props.address, families.length > 0 ? families : ALL_FAMILIES);
    if (addressProblem) throw constructError(this, addressProblem);
    this.address = props.address.trim();
    const deployProblem = props.deployment?.enabled === false ? undefined : deploymentProblem(props.deployment);
    if (deployProblem) throw constructError(this, deployProblem);
    this.backend = props.backend ?? DEFAULT_BACKEND;
    this.defaultAction = props.defaultAction ?? DefaultAction.REJECT;
    this.allowPing = props.allowPing ?? true;
    this.pingRateLimit = props.pingRateLimit;
    this.logDropped = props.logDropped;
    this.outboundFiltering = props.outboundFiltering ?? false;
    this.outboundDefaultAction = props.outboundDefaultAction ?? DefaultAction.REJECT;
    // check the options here, so their mistakes surface with the path and not at synth
    if (this.pingRateLimit) checkPingRateLimit(this.pingRateLimit, this.node.path);
    if (this.logDropped) dropLoggingPrefix(this.logDropped, this.hostName, this.node.path);
    this.ipFamilies = ALL_FAMILIES.filter((f) => (props.ipFamilies ?? ALL_FAMILIES).includes(f));
    if (this.ipFamilies.length === 0) throw constructError(this, 'ipFamilies must not be empty: use [IpFamily.IPV4], [IpFamily.IPV6] or both');
    const optionProblem = backendOptionProblems(this.backend, props)[0];
    if (optionProblem) throw constructError(this, optionProblem);
    this.nftTableName = props.nftTableName;
    if (props.setThreshold !== undefined && !((Number.isInteger(props.setThreshold) || props.setThreshold === Infinity) && props.setThreshold >= 0)) {
      throw constructError(this, `setThreshold ${props.setThreshold} is not usable: use a whole number of elements, 0 to always use sets or Infinity to never`);
    }
    this.setThreshold = props.setThreshold;
    const extra = props.conntrack?.expectedConnections;
    const extraProblem = extra === undefined ? undefined : expectedConnectionsProblem(extra, 'conntrack.expectedConnections');
    if (extraProblem) throw constructError(this, extraProblem);
    this.conntrack = props.conntrack;
    this.connectionOptions = props.deployment?.connection ?? {};
    this.sshPort = this.connectionOptions.port ?? 22;
    const lateFamilyProblem = enumValueProblem('lateAddressFamily', props.lateAddressFamily, IpFamily, 'IpFamily');
    if (lateFamilyProblem) throw constructError(this, lateFamilyProblem);
    this.lateAddressFamily = props.lateAddressFamily ?? IpFamily.IPV4;
    const lateAddresses = props.addresses ? props.addresses.filter((a) => isTerraformToken(a)) : isTerraformToken(this.address) ? [this.address] : [];
    if (lateAddresses.length > 0 && !this.ipFamilies.includes(this.lateAddressFamily)) {
      throw constructError(this, `the host's addresses known only at deploy are ${this.lateAddressFamily === IpFamily.IPV4 ? 'IPv4' : 'IPv6'} (lateAddressFamily), but the host's ipFamilies lack that family: set lateAddressFamily to ${this.ipFamilies[0] === IpFamily.IPV4 ? 'IpFamily.IPV4' : 'IpFamily.IPV6'}, or add the family to ipFamilies`);
    }
    this.addresses = props.addresses ? [...props.addresses] : parseIp(this.address) || lateAddresses.length > 0 ? [this.address] : [];
    for (const a of this.addresses) {
      if (isTerraformToken(a)) continue;
      const problem = ownAddressProblem(a, this.ipFamilies);
      if (problem) throw constructError(this, problem);
    }
    this.connections = new Connections(this);

    if (props.deployment?.enabled ?? true) {
      this.deployment = new HostDeployment(this, 'Deployment', { ...props.deployment, host: this });
    }

    markDeclarationScope(this);
    registerHost(this);
    stageSynthesis(this);
    registerPolicyScope(this, () => (this.frozen ? [{ path: this.node.path, outboundFiltering: this.outboundFiltering }] : []));
    const stack = stackOf(this);
    const stackHosts = STACK_HOSTS.get(stack) ?? { hosts: [] };
    stackHosts.hosts.push(this);
    stackHosts.duplicates = undefined;
    STACK_HOSTS.set(stack, stackHosts);
    this.node.addValidation({
      validate: () => {
        const errors = [
          ...this.freeze(),
          ...this.validateUniqueName(), ...addressConflicts(this), ...hostProblems(this, this.memberOf),
          ...this.emptySourceErrors(), ...this.runPolicyChecks(),
        ];
        // what the backend cannot express, once the policy is otherwise sound (it is compiled for this)
        return errors.length > 0 ? errors : backendProblems(this);
      },
    });
    // after validation; a stack that carries errors writes nothing
    onSynthesize(this, (_session, stackDir) => this.writeRulesets(stackDir));
    if (props.terraformOutputs) this.addOutputs(stack);
  }

  /**
   * The host's first-boot baseline as user data for the machine that runs it (e.g. an
   * instance's `user_data`), so the machine is never open between its first boot and its
   * first deploy: established and related traffic, loopback, ICMPv6 neighbour discovery,
   * the admin access with its peers, the denials and the default action, in the library's
   * own chains or table (the first deploy replaces them). Services, outbound filtering and
   * logging start with the first deploy. Peers known only at deploy time are left out, so
   * machines' user data never depends on each other. Resolved at synth: declarations made
   * after this call are in it.
   *
   * The host needs an `AdminAccess` (its own or a group's), or the baseline would refuse
   * the first deploy's SSH connection too.
   */
  public userData(options: UserDataOptions = {}): string {
    return userDataFor({
      scope: this,
      backend: this.backend,
      nftTableName: this.nftTableName,
      policy: () => this.policy,
      adminAccessPaths: () => this.facts.adminAccessPaths,
    }, options);
  }

  /** Adds a service (ports open to peers; anyone by default). */
  public addService(id: string, options: ServiceOptions): Service {
    return new Service(this, id, options);
  }

  /** Allows the host to open connections to destinations (with `outboundFiltering: true`). */
  public addOutbound(id: string, options: OutboundAccessOptions): OutboundAccess {
    return new OutboundAccess(this, id, options);
  }

  /** Blocks new traffic from peers (all of it, or to some ports). */
  public addDeny(id: string, options: DenyOptions): Deny {
    return new Deny(this, id, options);
  }

  /** Adds management access (SSH by default) from explicit peers. */
  public addAdminAccess(id: string, options: AdminAccessOptions): AdminAccess {
    return new AdminAccess(this, id, options);
  }

  /** The groups the host belongs to, in the order it joined them. */
  public get groups(): HostGroup[] {
    return [...this.memberOf];
  }

  /** The host's addresses as a peer (both families), or undefined when it has none. */
  public get peer(): Peer | undefined {
    if (this.addresses.length === 0) return undefined;
    return Peer.anyOf(...this.addresses.map((a) => {
      if (isTerraformToken(a)) {
        return Peer._lateBound([{ family: this.lateAddressFamily, value: a, net: false, label: this.hostName, origin: this.node.path }], `${this.hostName} (known at deploy)`);
      }
      return parseIp(a)!.family === IpFamily.IPV4 ? Peer.ipv4(a) : Peer.ipv6(a);
    }));
  }
  /** The same as `peer`: the addresses as they are now, or undefined while there are none (`IPeer`). */
  public toPeer(): Peer | undefined {
    return this.peer;
  }


  /** @internal called by `HostGroup.addHost` */
  public _joinGroup(group: HostGroup): void {
    if (!this.memberOf.includes(group)) this.memberOf.push(group);
    policyChanged();
  }

  /**
   * Every opening declared for this host: its own services and admin access, those of its
   * groups, and the connections into it and into its groups.
   */
  public get allowances(): Allowance[] {
    return [...this.snapshot().allowances];
  }

  /**
   * Every outbound opening of this host: its own and its groups' `OutboundAccess`, and the
   * connections from it or its groups to other hosts and groups.
   */
  public get outboundAllowances(): Allowance[] {
    return [...this.snapshot().outboundAllowances];
  }

  /** Every denial declared for this host and its groups. */
  public get denials(): Denial[] {
    return [...this.snapshot().denials];
  }

  /**
   * The declarations as they are now: collected once per change of any host's declarations
   * (once in all after validation froze them).
   */
  private snapshot(): PolicySnapshot {
    return this.cached('policy', () => {
      const scopes = this.declarationScopes();
      return {
        allowances: scopes.flatMap((scope) => [
          ...declarationsUnder(scope).flatMap((c) => c.allowances),
          ...scope.connections._resolve().allowances,
        ]),
        denials: scopes.flatMap((scope) => denialsUnder(scope).map((d) => d.denial)),
        outboundAllowances: [
          ...scopes.flatMap((scope) => outboundUnder(scope).flatMap((o) => o.allowances)),
          ...Connections.egressFor(this, scopes),
        ],
      };
    });
  }

  /** `make()`'s value, computed again only when some host's declarations changed since (never once frozen). */
  private cached<T>(key: string, make: () => T): T {
    const hit = this.computed.get(key);
    if (hit && (this.frozen || hit.generation === policyGeneration())) return hit.value as T;
    const generation = policyGeneration();
    const value = make();
    this.computed.set(key, { generation, value });
    return value;
  }

  /**
   * Freezes the host's policy (its validation runs once per synth, after the Aspects):
   * from now on it is compiled once, and a change that would alter it is an error.
   */
  private freeze(): string[] {
    if (!this.frozen) {
      // collected (or compiled) in an older generation: collected again, for the last time
      this.snapshot();
      for (const [key, hit] of this.computed) if (hit.generation !== policyGeneration()) this.computed.delete(key);
      this.frozen = true;
    }
    return [];
  }

  /** What the compiler is given. */
  private get policy(): HostPolicy {
    const policy = this.snapshot();
    return {
      name: this.hostName,
      origin: this.node.path,
      allowances: policy.allowances,
      denials: policy.denials,
      outbound: this.outboundFiltering ? { allowances: policy.outboundAllowances, defaultAction: this.outboundDefaultAction } : undefined,
      families: this.ipFamilies,
      defaultAction: this.defaultAction,
      allowPing: this.allowPing,
      setThreshold: this.setThreshold,
      pingRateLimit: this.pingRateLimit,
      logDropped: this.logDropped,
    };
  }

  /** The host itself, then its groups. */
  private declarationScopes(): (StatefulHost | HostGroup)[] {
    return [this, ...this.memberOf];
  }

  /**
   * The compiled ruleset: compiled again after the declarations change, and once in all
   * after the host was validated (its policy is then frozen).
   */
  public get ruleset(): CompiledRuleset {
    return this.cached('ruleset', () => CompiledRuleset.compile(this.policy));
  }

  /**
   * The conntrack table's sizing for the connections the host's declarations (and
   * `conntrack.expectedConnections`) expect; `undefined` when none are declared (or when
   * they sum past the maximum, which the host's validation reports).
   */
  public get conntrackSizing(): ConntrackSizing | undefined {
    const declared = this.snapshot().allowances.reduce((sum, a) => sum + (a.expectedConnections ?? 0), 0);
    const total = declared + (this.conntrack?.expectedConnections ?? 0);
    // past the maximum: none here (read while cdktf resolves, before validation), an error from validation
    return total > 0 && total <= MAX_EXPECTED_CONNECTIONS ? ConntrackSizing.forConnections(total) : undefined;
  }

  /** The sizing the deploy sets on the host (none when `conntrack.tuneKernel` is false). */
  public get kernelConntrackSizing(): ConntrackSizing | undefined {
    return this.conntrack?.tuneKernel === false ? undefined : this.conntrackSizing;
  }

  /**
   * A short human summary of the compiled ruleset, one row per declaration and kind
   * (`in: Webmasters = "tcp 22 from 10.9.8.7-10.9.8.10"`), bounded in rows: the deploy adds
   * it to the provisioning resource's triggers, so `terraform plan` names the openings a
   * change alters.
   */
  public get planSummary(): { [key: string]: string } | undefined {
    const ruleset = this.ruleset;
    return this.cached('plan-summary', () => planSummary(ruleset.model, { hostPath: this.node.path }));
  }

  /** The rendered files of the host's backend, by file name (rendered once per compilation). */
  public get renderedFiles(): { [name: string]: string } {
    return { ...this.rendered() };
  }

  private rendered(): Record<string, string> {
    const ruleset = this.ruleset;
    return this.cached('files', () => ruleset.files(this.backend, this.nftTableName));
  }

  private modelFile(ruleset: CompiledRuleset): HostModelFile {
    const sizing = this.conntrackSizing;
    const conntrack = sizing ? { expectedConnections: sizing.expectedConnections, tuneKernel: this.kernelConntrackSizing !== undefined } : undefined;
    // the tokens of late-bound members mean nothing outside this synth: labels and origins stay
    const strip = (x: SetDefinition): SetDefinition => (x.lateMembers ? { ...x, lateMembers: x.lateMembers.map(({ value: _, ...m }) => m) } : x);
    const model = ruleset.model.sets?.some((x) => x.lateMembers) ? { ...ruleset.model, sets: ruleset.model.sets.map(strip) } : ruleset.model;
    return { hostName: this.hostName, path: this.node.path, backend: this.backend, model, ...(conntrack ? { conntrack } : {}) };
  }

  /**
   * The ruleset's sets whose members Terraform knows only at apply time (filled in by the deploy).
   *
   * @experimental the model's types may change in a minor release
   */
  public get lateBoundSets(): SetDefinition[] | undefined {
    return (this.ruleset.model.sets ?? []).filter((x) => x.lateMembers !== undefined);
  }

  /** What the policy checks see of this host. */
  public get facts(): HostFacts {
    return {
      path: this.node.path,
      allowances: this.snapshot().allowances,
      adminAccessPaths: this.declarationScopes().flatMap((s) => declarationsUnder(s).filter((c) => c instanceof AdminAccess).map((c) => c.node.path)),
      deploys: this.deployment !== undefined,
      sshPort: this.sshPort,
      families: this.ipFamilies,
      connection: this.deployment === undefined ? undefined : {
        host: this.address,
        user: this.connectionOptions.user ?? 'root',
        hostKey: this.connectionOptions.hostKey,
        bastionHost: this.connectionOptions.bastionHost,
        bastionHostKey: this.connectionOptions.bastionHostKey,
      },
    };
  }

  /**
   * Connections from groups without hosts (or hosts without addresses) would open nothing:
   * an error naming the connection's source, never a silently empty rule.
   */
  private emptySourceErrors(): string[] {
    const errors: string[] = [];
    for (const scope of this.declarationScopes()) {
      for (const source of scope.connections._resolve().emptySources) {
        const message = `connections into ${scope.node.path} from ${source} would open nothing: ${source} has no hosts with addresses; add hosts to it, give its hosts addresses (a host managed by DNS name needs addresses, a token such as instance.privateIp works), or remove the connection`;
        if (claimFinding(this, message)) errors.push(message);
      }
    }
    return errors;
  }

  /** Runs the policy checks: errors are returned, warnings become annotations. */
  private runPolicyChecks(): string[] {
    const facts = this.facts;
    const errors: string[] = [];
    for (const check of PolicyChecks.checksFor(this)) {
      const level = PolicyChecks.levelFor(this, check);
      if (level === CheckLevel.OFF) continue;
      for (const finding of check.check(facts)) {
        const message = `[${check.id}] ${finding}`;
        // a finding about a group's declaration is the same for every member: reported once
        if (!claimFinding(this, `${level}|${message}`)) continue;
        if (level === CheckLevel.ERROR) errors.push(message);
        else terraformLib(this).Annotations.of(this).addWarning(message);
      }
    }
    return errors;
  }

  /** Host names used twice in a stack: found in one pass per stack, reported by every host after the first. */
  private validateUniqueName(): string[] {
    const stackHosts = STACK_HOSTS.get(stackOf(this))!;
    if (!stackHosts.duplicates) {
      const duplicates = new Map<StatefulHost, string>();
      const first = new Map<string, StatefulHost>();
      // in tree order, as the synth reports them
      const inStack = new Set(stackHosts.hosts);
      for (const c of stackOf(this).node.findAll()) {
        if (!(c instanceof StatefulHost) || !inStack.has(c)) continue;
        const earlier = first.get(c.hostName);
        if (earlier) duplicates.set(c, `host name '${c.hostName}' is also used by ${earlier.node.path}: give one of them another hostName`);
        else first.set(c.hostName, c);
      }
      stackHosts.duplicates = duplicates;
    }
    const message = stackHosts.duplicates.get(this);
    return message ? [message] : [];
  }

  /** The host's outputs, in its stack (output names are per stack): a clash of names is an error naming the host. */
  private addOutputs(stack: TerraformStack): void {
    const name = this.hostName.replace(/\./g, '_');
    // produced at synth, from the frozen policy (the preparing pass only collects tokens)
    const lib = terraformLib(this);
    const lazy = (produce: () => string) => lib.Lazy.stringValue({ produce: (context: IResolveContext) => (context.preparing ? '' : produce()) });
    const outputs: [string, string, () => string][] = [
      ['ruleset_sha256', `sha256 of the rendered ruleset files of ${this.node.path} (${this.backend})`, () => this.rulesetSha256],
      ['explain', `what the firewall of ${this.node.path} allows (firewall/${this.hostName}/explain.md)`, () => this.explainMarkdown()],
    ];
    for (const [what, description, produce] of outputs) {
      const id = `${name}_${what}`;
      const taken = stack.node.tryFindChild(id);
      if (taken) {
        throw constructError(this, `terraformOutputs: the stack already has an output or construct '${id}' (${taken.node.path}): give this host another hostName`);
      }
      new lib.TerraformOutput(stack, id, { value: lazy(produce), description, staticId: true });
    }
  }

  /**
   * The sha256 of the rendered ruleset files (`name`, newline, content; empty files left
   * out), as the `<hostName>_ruleset_sha256` output gives it.
   */
  public get rulesetSha256(): string {
    const files = this.rendered();
    return sha256(Object.keys(files).sort().filter((n) => files[n] !== '').map((n) => `${n}\n${files[n]}`).join('\n'));
  }

  private explainMarkdown(): string {
    const tunesKernel = this.kernelConntrackSizing !== undefined;
    return Explain.markdown(this.ruleset, { backend: this.backend, conntrackSizing: this.conntrackSizing, tunesKernel });
  }

  private writeRulesets(stackDir: string): void {
    const dir = path.join(stackDir, 'firewall', this.hostName);
    fs.mkdirSync(dir, { recursive: true });
    const ruleset = this.ruleset;
    const files: Record<string, string> = {
      ...this.rendered(),
      'explain.md': this.explainMarkdown(),
      [MODEL_FILE]: `${JSON.stringify(this.modelFile(ruleset), undefined, 2)}\n`,
    };
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  }
}
