import { IConstruct } from 'constructs';
import { CheckLevel } from './check-level';
import { IPolicyCheck } from './host-facts';
import { AdminPortOpenToWorld } from './rules/admin-port-open-to-world';
import { HostKeyNotPinned } from './rules/host-key-not-pinned';
import { Ipv6WiderThanIpv4 } from './rules/ipv6-wider-than-ipv4';
import { NoAdminAccess } from './rules/no-admin-access';
import { PublishedDatabasePortOpenToAny } from './rules/published-database-port-open-to-any';
import { RedundantDeclaration } from './rules/redundant-declaration';
import { SensitivePortOpenToAny } from './rules/sensitive-port-open-to-any';

const CONFIGS = new WeakMap<IConstruct, PolicyChecks>();

/**
 * Configures the policy checks for a scope (a host, a stack or the app) and everything
 * below it; the nearest configured scope wins.
 *
 * @example
 * PolicyChecks.of(app).setLevel('SFW2', CheckLevel.ERROR);          // sensitive ports: an error everywhere
 * PolicyChecks.of(bastion).acknowledge('SFW1', 'the bastion is the SSH entry point');
 * PolicyChecks.of(lab).acknowledge('SFW6', 'throw-away VMs on an isolated network');
 * PolicyChecks.of(stack).strict();                                   // every warning is an error
 */
export class PolicyChecks {
  /** The built-in checks, SFW1 to SFW7. */
  public static readonly BUILT_IN: IPolicyCheck[] = [
    new AdminPortOpenToWorld(),
    new SensitivePortOpenToAny(),
    new Ipv6WiderThanIpv4(),
    new NoAdminAccess(),
    new RedundantDeclaration(),
    new HostKeyNotPinned(),
    new PublishedDatabasePortOpenToAny(),
  ];

  /** The configuration of a scope (created on first use). */
  public static of(scope: IConstruct): PolicyChecks {
    let config = CONFIGS.get(scope);
    if (!config) {
      config = new PolicyChecks();
      CONFIGS.set(scope, config);
    }
    return config;
  }

  /** The checks that apply to a scope: the built-in ones and those added on it or above it. */
  public static checksFor(scope: IConstruct): IPolicyCheck[] {
    const added = scope.node.scopes.flatMap((s) => CONFIGS.get(s)?.added ?? []);
    return [...PolicyChecks.BUILT_IN, ...added];
  }

  /** The level a check reports at for a scope. */
  public static levelFor(scope: IConstruct, check: IPolicyCheck): CheckLevel {
    const scopes = [...scope.node.scopes].reverse();
    for (const s of scopes) {
      const level = CONFIGS.get(s)?.levels.get(check.id);
      if (level !== undefined) return level;
    }
    const strict = scopes.some((s) => CONFIGS.get(s)?.isStrict);
    const base = check.defaultLevel;
    return strict && base === CheckLevel.WARNING ? CheckLevel.ERROR : base;
  }

  /** Throws for an id no check can have: not a string, or an SFW id that is not built in (a typo). */
  private static checkId(checkId: string): void {
    if (typeof checkId !== 'string' || checkId.trim() === '') throw new Error(`policy check id ${JSON.stringify(checkId)} is not usable: use e.g. 'SFW1'`);
    if (/^sfw/i.test(checkId) && !PolicyChecks.BUILT_IN.some((c) => c.id === checkId)) {
      throw new Error(`unknown policy check '${checkId}': the built-in checks are ${PolicyChecks.BUILT_IN.map((c) => c.id).join(', ')} (custom checks have ids of their own)`);
    }
  }

  private readonly levels = new Map<string, CheckLevel>();
  private readonly reasons = new Map<string, string>();
  private readonly added: IPolicyCheck[] = [];
  private isStrict = false;

  private constructor() {}

  /** Sets the level of a check (e.g. `SFW2`) for this scope. */
  public setLevel(checkId: string, level: CheckLevel): PolicyChecks {
    PolicyChecks.checkId(checkId);
    if (!(Object.values(CheckLevel) as string[]).includes(level)) {
      throw new Error(`level ${JSON.stringify(level)} for ${checkId} is not a CheckLevel: use CheckLevel.OFF ('off'), CheckLevel.WARNING ('warning') or CheckLevel.ERROR ('error')`);
    }
    this.levels.set(checkId, level);
    return this;
  }

  /** Switches a check off for this scope, recording why (the reason is required). */
  public acknowledge(checkId: string, reason: string): PolicyChecks {
    PolicyChecks.checkId(checkId);
    if (!reason || reason.trim() === '') throw new Error(`acknowledging ${checkId} needs a reason: say why it is safe here`);
    this.reasons.set(checkId, reason);
    return this.setLevel(checkId, CheckLevel.OFF);
  }

  /** The reason a check was acknowledged for this scope. */
  public reasonFor(checkId: string): string | undefined {
    return this.reasons.get(checkId);
  }

  /** Makes every warning-level check an error (checks with an explicit level keep it). */
  public strict(): PolicyChecks {
    this.isStrict = true;
    return this;
  }

  /** Adds a custom check for this scope and below. */
  public addCheck(check: IPolicyCheck): PolicyChecks {
    this.added.push(check);
    return this;
  }
}
