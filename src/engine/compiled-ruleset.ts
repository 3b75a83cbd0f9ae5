import { Backend } from './compiler/backend';
import { compileHostPolicy } from './compiler/compile';
import { HostPolicy } from './compiler/host-policy';
import { ALL_FAMILIES, IpFamily } from './family';
import { RulesetModel } from './model/ruleset-model';
import { iptablesLayout } from './render/iptables-layout';
import { renderIptablesRestore } from './render/iptables-restore';
import { NFT_TABLE, renderNftables } from './render/nftables';
import { Packet } from './simulator/packet';
import { SimulationResult, Simulator } from './simulator/simulator';

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
   */
  public readonly model: RulesetModel;

  private constructor(hostName: string, model: RulesetModel) {
    this.hostName = hostName;
    this.model = model;
  }

  /** The model as iptables / ip6tables hold it for one family (own chains, lists expanded). */
  public iptablesModel(family: IpFamily): RulesetModel {
    return iptablesLayout(this.model, family);
  }

  /** `iptables-restore` (IPv4) or `ip6tables-restore` (IPv6) input, as iptables-save prints it. */
  public toIptablesRestore(family: IpFamily): string {
    return renderIptablesRestore(this.iptablesModel(family), family);
  }

  /** `nft -f` input: one `inet` table owned by the library. */
  public toNftables(tableName?: string): string {
    return renderNftables(this.model, tableName ?? NFT_TABLE);
  }

  /** Number of rules the library owns in its own chains for a backend and family (hook jumps excluded). */
  public ruleCount(backend: Backend, family: IpFamily): number {
    if (backend === Backend.NFTABLES) {
      return this.model.tables
        .flatMap((t) => t.chains)
        .flatMap((c) => c.rules)
        .filter((r) => r.match.family === undefined || r.match.family === family).length;
    }
    return this.iptablesModel(family)
      .tables.flatMap((t) => t.chains)
      .filter((c) => !c.hook)
      .reduce((n, c) => n + c.rules.length, 0);
  }

  /**
   * Evaluates a packet arriving at the host against this ruleset, as the kernel would
   * with the given backend: the verdict, the deciding rule and its origins, and how many
   * rules were evaluated.
   */
  public simulate(packet: Packet, backend?: Backend): SimulationResult {
    return Simulator.evaluate(this, packet, backend);
  }

  /** The rendered files for a backend, by file name (`rules.v4` + `rules.v6`, or `ruleset.nft`). */
  public files(backend: Backend, nftTableName?: string): Record<string, string> {
    if (backend === Backend.NFTABLES) return { 'ruleset.nft': this.toNftables(nftTableName) };
    const out: Record<string, string> = {};
    for (const family of ALL_FAMILIES) out[family === IpFamily.IPV4 ? 'rules.v4' : 'rules.v6'] = this.toIptablesRestore(family);
    return out;
  }
}
