import { Construct } from 'constructs';
import { registerHost } from './address-conflicts';
import { AdminAccess, AdminAccessOptions } from './admin-access';
import { Connections, IConnectable } from './connections';
import { ConntrackOptions } from './conntrack-options';
import { Deny, DenyOptions } from './deny';
import { userDataFor, UserDataOptions } from './first-boot';
import { addHostOutputs, writeHostArtifacts } from './host-artifacts';
import { HostGroup } from './host-group';
import { collectDeclarations, compilerInput, GenerationCache, hostFacts, PolicySnapshot } from './host-intent';
import { hostSettings } from './host-settings';
import { registerStackHost, reportProblems, validateHost } from './host-validation';
import { OutboundAccess, OutboundAccessOptions } from './outbound-access';
import { markDeclarationScope } from './placement';
import { policyChanged, registerPolicyScope } from './policy-freeze';
import { Service, ServiceOptions } from './service';
import { StatefulHostProps } from './stateful-host-props';
import { HostFacts } from '../checks/host-facts';
import { Backend } from '../core/backends/backend';
import { CompiledRuleset } from '../core/compiled-ruleset';
import { planSummary } from '../core/explain/plan-summary';
import { RateLimit } from '../core/ir/rate-limit';
import { SetDefinition } from '../core/ir/set-definition';
import { parseIp } from '../core/net/ip';
import { ConntrackSizing, MAX_EXPECTED_CONNECTIONS } from '../core/policy/conntrack-sizing';
import { DefaultAction } from '../core/policy/default-action';
import { Allowance, Denial, DropLogging } from '../core/policy/host-policy';
import { IpFamily } from '../core/values/family';
import { isTerraformToken, Peer } from '../core/values/peer';
import { sha256 } from '../deploy/apply-script';
import { HostDeployment, IDeployableHost } from '../deploy/host-deployment';
import { SshConnectionOptions } from '../deploy/ssh-connection';
import { stageSynthesis } from '../synth/staged-synthesis';
import { onSynthesize } from '../synth/synth-session';
import { stackOf } from '../synth/terraform-lib';

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

  /** What was computed from the declarations (frozen by validation: then collected and compiled once). */
  private readonly computed = new GenerationCache();

  public constructor(scope: Construct, id: string, props: StatefulHostProps) {
    super(scope, id);
    const settings = hostSettings(this, id, props);
    this.hostName = settings.hostName;
    this.address = settings.address;
    this.backend = settings.backend;
    this.defaultAction = settings.defaultAction;
    this.allowPing = settings.allowPing;
    this.pingRateLimit = props.pingRateLimit;
    this.logDropped = props.logDropped;
    this.outboundFiltering = settings.outboundFiltering;
    this.outboundDefaultAction = settings.outboundDefaultAction;
    this.ipFamilies = settings.ipFamilies;
    this.nftTableName = props.nftTableName;
    this.setThreshold = props.setThreshold;
    this.conntrack = props.conntrack;
    this.connectionOptions = props.deployment?.connection ?? {};
    this.sshPort = settings.sshPort;
    this.lateAddressFamily = settings.lateAddressFamily;
    this.addresses = settings.addresses;
    this.connections = new Connections(this);

    if (props.deployment?.enabled ?? true) {
      this.deployment = new HostDeployment(this, 'Deployment', { ...props.deployment, host: this });
    }

    markDeclarationScope(this);
    registerHost(this);
    stageSynthesis(this);
    registerPolicyScope(this, () => (this.computed.frozen ? [{ path: this.node.path, outboundFiltering: this.outboundFiltering }] : []));
    registerStackHost(this);
    // the host's validation: its policy is frozen, then every problem found in one pass
    this.node.addValidation({ validate: () => reportProblems(this, validateHost(this.freeze(), this.memberOf)) });
    // after validation; a stack that carries errors writes nothing
    onSynthesize(this, (_session, stackDir) => writeHostArtifacts(this, stackDir));
    if (props.terraformOutputs) addHostOutputs(this, stackOf(this));
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
      policy: () => compilerInput(this, this.snapshot()),
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
    return this.computed.get('policy', () => collectDeclarations(this, this.declarationScopes()));
  }

  /**
   * Freezes the host's policy (its validation runs once per synth, after the Aspects):
   * from now on it is compiled once, and a change that would alter it is an error.
   */
  private freeze(): this {
    // collected (or compiled) in an older generation: collected again, for the last time
    this.computed.freeze(() => this.snapshot());
    return this;
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
    return this.computed.get('ruleset', () => CompiledRuleset.compile(compilerInput(this, this.snapshot())));
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
    return this.computed.get('plan-summary', () => planSummary(ruleset.model, { hostPath: this.node.path }));
  }

  /** The rendered files of the host's backend, by file name (rendered once per compilation). */
  public get renderedFiles(): { [name: string]: string } {
    return { ...this.rendered() };
  }

  private rendered(): Record<string, string> {
    const ruleset = this.ruleset;
    return this.computed.get('files', () => ruleset.files(this.backend, this.nftTableName));
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
    return hostFacts(this, this.declarationScopes(), this.snapshot(), this.connectionOptions);
  }

  /**
   * The sha256 of the rendered ruleset files (`name`, newline, content; empty files left
   * out), as the `<hostName>_ruleset_sha256` output gives it.
   */
  public get rulesetSha256(): string {
    const files = this.rendered();
    return sha256(Object.keys(files).sort().filter((n) => files[n] !== '').map((n) => `${n}\n${files[n]}`).join('\n'));
  }
}
