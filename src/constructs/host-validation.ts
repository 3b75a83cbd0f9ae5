import type { TerraformStack } from 'cdktf';
import { addressConflicts } from './address-conflicts';
import { backendProblems } from './backend-support';
import { claimFinding, hostProblems } from './host-checks';
import type { HostGroup } from './host-group';
import type { Problem } from './problem';
import type { StatefulHost } from './stateful-host';
import { CheckLevel } from '../checks/check-level';
import { PolicyChecks } from '../checks/policy-checks';
import { addWarning } from '../synth/lazy-token';
import { stackOf } from '../synth/terraform-lib';

/** Per stack: its hosts, and the duplicate-name messages found among them (by the host that reports). */
const STACK_HOSTS = new WeakMap<TerraformStack, { hosts: StatefulHost[]; duplicates?: Map<StatefulHost, string> }>();

/** What each host's last validation found (for tests and tools: internal). */
const FOUND = new WeakMap<StatefulHost, readonly Problem[]>();

/** Registers a new host with its stack, so that duplicate names are found in one pass per stack. */
export function registerStackHost(host: StatefulHost): void {
  const stack = stackOf(host);
  const stackHosts = STACK_HOSTS.get(stack) ?? { hosts: [] };
  stackHosts.hosts.push(host);
  stackHosts.duplicates = undefined;
  STACK_HOSTS.set(stack, stackHosts);
}

/**
 * The host's validation, in one pass: every problem the host reports (names used twice,
 * shared addresses, the tree-wide checks of host-checks.ts, connections from empty
 * sources, the policy checks at their levels), each once. A problem that several hosts
 * would find (a group's declaration) is reported by the first host to find it.
 */
export function validateHost(host: StatefulHost, groups: readonly HostGroup[]): Problem[] {
  const path = host.node.path;
  const problems: Problem[] = [
    ...duplicateName(host).map((message): Problem => ({ path, code: 'duplicate-host-name', message, level: 'error' })),
    ...addressConflicts(host).map((message): Problem => ({ path, code: 'address-conflict', message, level: 'error' })),
    ...hostProblems(host, groups),
    ...emptySources(host, groups),
    ...policyCheckProblems(host),
  ];
  // what the backend cannot express, once the policy is otherwise sound (it is compiled for this)
  if (!problems.some((p) => p.level === 'error')) {
    problems.push(...backendProblems(host).map((message): Problem => ({ path, code: 'backend-unsupported', message, level: 'error' })));
  }
  FOUND.set(host, problems);
  return problems;
}

/**
 * Reports a host's problems: errors are returned (for `node.addValidation`), warnings
 * become warning annotations on the host (once, however often the app is synthesized).
 */
export function reportProblems(host: StatefulHost, problems: readonly Problem[]): string[] {
  const errors: string[] = [];
  for (const p of problems) {
    if (p.level === 'error') {
      errors.push(p.message);
    } else if (!host.node.metadata.some((m) => m.data === p.message)) {
      addWarning(host, p.message);
    }
  }
  return errors;
}

/** What the host's last validation found (internal). */
export function problemsFound(host: StatefulHost): readonly Problem[] {
  return FOUND.get(host) ?? [];
}

/** Host names used twice in a stack: found in one pass per stack, reported by every host after the first. */
function duplicateName(host: StatefulHost): string[] {
  const stack = stackOf(host);
  const stackHosts = STACK_HOSTS.get(stack)!;
  if (!stackHosts.duplicates) {
    const duplicates = new Map<StatefulHost, string>();
    const first = new Map<string, StatefulHost>();
    // in tree order, as the synth reports them
    const inStack = new Set(stackHosts.hosts);
    for (const c of stack.node.findAll()) {
      if (!inStack.has(c as StatefulHost)) continue;
      const h = c as StatefulHost;
      const earlier = first.get(h.hostName);
      if (earlier) duplicates.set(h, `host name '${h.hostName}' is also used by ${earlier.node.path}: give one of them another hostName`);
      else first.set(h.hostName, h);
    }
    stackHosts.duplicates = duplicates;
  }
  const message = stackHosts.duplicates.get(host);
  return message ? [message] : [];
}

/**
 * Connections from groups without hosts (or hosts without addresses) would open nothing:
 * an error naming the connection's source, never a silently empty rule.
 */
function emptySources(host: StatefulHost, groups: readonly HostGroup[]): Problem[] {
  const problems: Problem[] = [];
  for (const scope of [host, ...groups]) {
    for (const source of scope.connections._resolve().emptySources) {
      const message = `connections into ${scope.node.path} from ${source} would open nothing: ${source} has no hosts with addresses; add hosts to it, give its hosts addresses (a host managed by DNS name needs addresses, a token such as instance.privateIp works), or remove the connection`;
      if (claimFinding(host, message)) problems.push({ path: host.node.path, code: 'empty-connection-source', message, level: 'error' });
    }
  }
  return problems;
}

/** The policy checks' findings, at the level each check has for the host. */
function policyCheckProblems(host: StatefulHost): Problem[] {
  const facts = host.facts;
  const problems: Problem[] = [];
  for (const check of PolicyChecks.checksFor(host)) {
    const level = PolicyChecks.levelFor(host, check);
    if (level === CheckLevel.OFF) continue;
    for (const finding of check.check(facts)) {
      const message = `[${check.id}] ${finding}`;
      // a finding about a group's declaration is the same for every member: reported once
      if (!claimFinding(host, `${level}|${message}`)) continue;
      problems.push({ path: host.node.path, code: `policy-check:${check.id}`, message, level: level === CheckLevel.ERROR ? 'error' : 'warning' });
    }
  }
  return problems;
}
