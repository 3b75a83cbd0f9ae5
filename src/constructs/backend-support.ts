import { claimFinding } from './host-checks';
import type { StatefulHost } from './stateful-host';
import { Backend } from '../core/backends/backend';
import { backendFor } from '../core/backends/registry';

/**
 * What the host's backend cannot express of its options (checked when the host is
 * created, so the mistake surfaces at the line that made it).
 */
export function backendOptionProblems(backend: Backend, options: { readonly nftTableName?: string }): string[] {
  return backendFor(backend).supports({ nftTableName: options.nftTableName });
}

/**
 * What the host's backend cannot express of its frozen policy (at synth, from the host's
 * validation): each problem names the declaration it is about, and is reported once (by
 * the first host of a group whose declaration it is).
 */
export function backendProblems(host: StatefulHost): string[] {
  return backendFor(host.backend).supports({ model: host.ruleset.model, nftTableName: host.nftTableName }).filter((p) => claimFinding(host, p));
}
