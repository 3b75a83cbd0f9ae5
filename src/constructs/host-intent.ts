import { AdminAccess } from './admin-access';
import { Connections } from './connections';
import { declarationsUnder, denialsUnder, outboundUnder } from './declarations';
import type { HostGroup } from './host-group';
import { policyGeneration } from './policy-freeze';
import type { StatefulHost } from './stateful-host';
import { HostFacts } from '../checks/host-facts';
import { Allowance, Denial, HostPolicy } from '../core/policy/host-policy';
import { SshConnectionOptions } from '../deploy/ssh-connection';

/** What a host's declarations are, at one moment. */
export interface PolicySnapshot {
  readonly allowances: Allowance[];
  readonly denials: Denial[];
  readonly outboundAllowances: Allowance[];
}

/**
 * Values computed from the declarations, each computed again only when some host's
 * declarations changed since (`policyGeneration`), and never again once frozen.
 */
export class GenerationCache {
  private frozenAt = false;
  private readonly computed = new Map<string, { generation: number; value: unknown }>();

  /** Whether the values are frozen (the host was validated). */
  public get frozen(): boolean {
    return this.frozenAt;
  }

  /** `make()`'s value, computed again only when some host's declarations changed since (never once frozen). */
  public get<T>(key: string, make: () => T): T {
    const hit = this.computed.get(key);
    if (hit && (this.frozenAt || hit.generation === policyGeneration())) return hit.value as T;
    const generation = policyGeneration();
    const value = make();
    this.computed.set(key, { generation, value });
    return value;
  }

  /** Freezes the values: `refresh` is computed first (for the last time); values of older generations are dropped. */
  public freeze(refresh: () => void): void {
    if (this.frozenAt) return;
    refresh();
    for (const [key, hit] of this.computed) if (hit.generation !== policyGeneration()) this.computed.delete(key);
    this.frozenAt = true;
  }
}

/**
 * Every declaration that applies to `host`: its own and its groups' (`scopes`, the host
 * first), the connections into them, and the outbound ones from them.
 */
export function collectDeclarations(host: StatefulHost, scopes: readonly (StatefulHost | HostGroup)[]): PolicySnapshot {
  return {
    allowances: scopes.flatMap((scope) => [
      ...declarationsUnder(scope).flatMap((c) => c.allowances),
      ...scope.connections._resolve().allowances,
    ]),
    denials: scopes.flatMap((scope) => denialsUnder(scope).map((d) => d.denial)),
    outboundAllowances: [
      ...scopes.flatMap((scope) => outboundUnder(scope).flatMap((o) => o.allowances)),
      ...Connections.egressFor(host, [...scopes]),
    ],
  };
}

/** What the compiler is given for `host`. */
export function compilerInput(host: StatefulHost, declared: PolicySnapshot): HostPolicy {
  return {
    name: host.hostName,
    origin: host.node.path,
    allowances: declared.allowances,
    denials: declared.denials,
    outbound: host.outboundFiltering ? { allowances: declared.outboundAllowances, defaultAction: host.outboundDefaultAction } : undefined,
    families: host.ipFamilies,
    defaultAction: host.defaultAction,
    allowPing: host.allowPing,
    setThreshold: host.setThreshold,
    pingRateLimit: host.pingRateLimit,
    logDropped: host.logDropped,
  };
}

/** What the policy checks see of `host`. */
export function hostFacts(
  host: StatefulHost, scopes: readonly (StatefulHost | HostGroup)[], declared: PolicySnapshot, connection: SshConnectionOptions,
): HostFacts {
  return {
    path: host.node.path,
    allowances: declared.allowances,
    adminAccessPaths: scopes.flatMap((s) => declarationsUnder(s).filter((c) => c instanceof AdminAccess).map((c) => c.node.path)),
    deploys: host.deployment !== undefined,
    sshPort: host.sshPort,
    families: host.ipFamilies,
    connection: host.deployment === undefined ? undefined : {
      host: host.address,
      user: connection.user ?? 'root',
      hostKey: connection.hostKey,
      bastionHost: connection.bastionHost,
      bastionHostKey: connection.bastionHostKey,
    },
  };
}
