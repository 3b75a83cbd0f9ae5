import { Backend } from './backends/backend';
import { renderIpset } from './backends/iptables/ipset';
import { renderIptablesRestore } from './backends/iptables/iptables-restore';
import { NFT_TABLE, renderNftables } from './backends/nftables/nftables';
import { backendFor } from './backends/registry';
import { compileHostPolicy } from './compile/compile';
import { RulesetModel } from './ir/ruleset-model';
import { HostPolicy } from './policy/host-policy';
import { Packet } from './simulate/packet';
import { SimulationResult, Simulator } from './simulate/simulator';
import { ALL_FAMILIES, IpFamily } from './values/family';
import { Peer } from './values/peer';

/**
 * A host's compiled ruleset: the model, and its renderings for every backend.
 *
 * @example
 * const ruleset = CompiledRuleset.compile({ name: 'web', allowances: [...] });
 * ruleset.toIptablesRestore(IpFamily.IPV4);
 */
export class CompiledRuleset {
  /**
   * A ruleset from a model compiled earlier (e.g. the `model.json` written by synth).
   *
   * @experimental
   */
  public static fromModel(hostName: string, model: RulesetModel): CompiledRuleset {
    return new CompiledRuleset(hostName, model);
  }

  /** Compiles a host policy. */
  public static compile(policy: HostPolicy): CompiledRuleset {
    return new CompiledRuleset(policy.name, compileHostPolicy(policy));
  }

  /** The host's name. */
  public readonly hostName: string;

  /**
   * The backend-neutral model: family-tagged rules in an `input` chain, lists not yet
   * expanded. `iptablesModel()` is what iptables holds.
   *
   * @experimental
   */
  public readonly model: RulesetModel;

  private nftLaid?: RulesetModel;
  private readonly ipLaid = new Map<IpFamily, RulesetModel>();

  private constructor(hostName: string, model: RulesetModel) {
    this.hostName = hostName;
    this.model = model;
  }

  /**
   * The model as iptables / ip6tables hold it for one family (own chains, lists expanded).
   *
   * @experimental
   */
  public iptablesModel(family: IpFamily): RulesetModel {
    let laid = this.ipLaid.get(family);
    if (!laid) {
      laid = backendFor(Backend.IPTABLES).layout(this.model, family);
      this.ipLaid.set(family, laid);
    }
    return laid;
  }

  /** `iptables-restore` (IPv4) or `ip6tables-restore` (IPv6) input, as iptables-save prints it. */
  public toIptablesRestore(family: IpFamily): string {
    return renderIptablesRestore(this.iptablesModel(family), family);
  }

  /**
   * The model as nftables holds it: the input chain dispatches with verdict maps on the
   * conntrack state, then family and protocol, then port or ICMP type, so every packet
   * is decided in a few rules (see `nftablesLayout`).
   *
   * @experimental
   */
  public nftablesModel(): RulesetModel {
    if (!this.nftLaid) this.nftLaid = backendFor(Backend.NFTABLES).layout(this.model);
    return this.nftLaid;
  }

  /** `nft -f` input: one `inet` table owned by the library, with its named sets. */
  public toNftables(tableName?: string): string {
    return renderNftables(this.nftablesModel(), tableName ?? NFT_TABLE);
  }

  /**
   * `ipset restore` input for the iptables backend's sets (both families), in the format
   * `ipset save` prints; empty when the ruleset uses no sets.
   */
  public toIpset(): string {
    const sets = new Map(ALL_FAMILIES.flatMap((f) => this.iptablesModel(f).sets ?? []).map((s) => [s.name, s]));
    return renderIpset([...sets.values()]);
  }

  /**
   * Number of rules the library owns for a backend and family: for iptables the rules of
   * its own chains (hook jumps excluded); for nftables the rules a packet of the family
   * can meet (chains reached through a map element or rule of the other family left out).
   */
  public ruleCount(backend: Backend, family: IpFamily): number {
    return backendFor(backend).ruleCount(this, family);
  }

  /**
   * Whose addresses the ruleset's late-bound sets wait for (the labels `bindAddresses`
   * takes, e.g. `app` for a host named app whose address is a Terraform token), sorted.
   */
  public get lateBoundLabels(): string[] {
    return [...new Set((this.model.sets ?? []).flatMap((s) => (s.lateMembers ?? []).map((m) => m.label)))].sort();
  }

  /**
   * The same ruleset with the addresses Terraform knows only at deploy time bound to
   * concrete ones, for simulating packets in tests: `bindings` maps a label (a host's name,
   * or the id of the declaration that used a token peer) to its addresses. Members left
   * unbound match nothing, as an empty set does. A label no set waits for, or an address
   * of the wrong family, is an error.
   */
  public bindAddresses(bindings: { [label: string]: string[] }): CompiledRuleset {
    const known = this.lateBoundLabels;
    for (const label of Object.keys(bindings)) {
      if (!known.includes(label)) throw new Error(`${this.hostName}: no late-bound set of this ruleset waits for '${label}' (it waits for ${known.length > 0 ? known.join(', ') : 'none'})`);
    }
    const sets = (this.model.sets ?? []).map((set) => {
      if (!set.lateMembers) return set;
      const elements = new Set(set.elements);
      for (const m of set.lateMembers) {
        for (const address of bindings[m.label] ?? []) {
          const peer = set.family === IpFamily.IPV6 ? Peer.ipv6(address) : Peer.ipv4(address);
          if (peer.problem) throw new Error(`${this.hostName}: the address '${address}' bound to ${m.label} (set ${set.name}): ${peer.problem}`);
          peer.elements.forEach((e) => elements.add(e));
        }
      }
      return { ...set, elements: [...elements].sort() };
    });
    return new CompiledRuleset(this.hostName, { ...this.model, sets });
  }

  /**
   * Evaluates a packet arriving at the host against this ruleset, as the kernel would
   * with the given backend: the verdict, the deciding rule and its origins, and how many
   * rules were evaluated.
   */
  public simulate(packet: Packet, backend?: Backend): SimulationResult {
    return Simulator.evaluate(this, packet, backend);
  }

  /**
   * The rendered files for a backend, by file name: `rules.v4` + `rules.v6`, and
   * `sets.ipset` when the ruleset uses sets (iptables); or `ruleset.nft`.
   */
  public files(backend: Backend, nftTableName?: string): Record<string, string> {
    return backendFor(backend).files(this, { nftTableName });
  }
}

