import { IConstruct } from 'constructs';
import { declarationsUnder, denialsUnder, outboundUnder } from './declarations';
import { HostGroup } from './host-group';
import type { Problem, ProblemCode } from './problem';
import type { StatefulHost } from './stateful-host';
import { icmpFamilyProblem } from './validation';
import { PortCoverIndex } from '../checks/port-cover-index';
import { coveredBy, openingKey } from '../checks/rules/redundant-declaration';
import { MAX_EXPECTED_CONNECTIONS } from '../core/policy/conntrack-sizing';
import { Allowance } from '../core/policy/host-policy';
import { IpFamily } from '../core/values/family';
import { Port } from '../core/values/port';

/** Every port of every protocol: what a denial without ports covers. */
const ALL_TRAFFIC = [Port.allTcp(), Port.allUdp(), ...Array.from({ length: 256 }, (_, t) => t)
  .flatMap((t) => [Port.icmpType(t), Port.icmpv6Type(t)])];

const FAMILY_NAME: Record<IpFamily, string> = { [IpFamily.IPV4]: 'IPv4', [IpFamily.IPV6]: 'IPv6' };

/** The openings of one scope (the host, or one of its groups), inbound and outbound. */
interface ScopeOpenings {
  readonly scope: StatefulHost | HostGroup;
  readonly inbound: Allowance[];
  readonly outbound: Allowance[];
}

/**
 * The host's checks that need the whole tree (run at synth): peers of a family the host
 * lacks (inbound and outbound), ICMP ports without a peer of their family, openings that
 * a denial cancels, exact repeats within one host or group, and the expected connections'
 * sum. A mistake in a group's declaration is reported once, by the group's first member,
 * naming every member it affects.
 */
export function hostProblems(host: StatefulHost, groups: readonly HostGroup[]): Problem[] {
  const errors: Problem[] = [];
  const error = (code: ProblemCode, message: string) => errors.push({ path: host.node.path, code, message, level: 'error' });
  const scopes: ScopeOpenings[] = [host, ...groups].map((scope) => ({
    scope,
    inbound: [...declarationsUnder(scope).flatMap((c) => c.allowances), ...scope.connections._resolve().allowances],
    outbound: [...outboundUnder(scope).flatMap((o) => o.allowances), ...scope.connections._peerEgress()],
  }));
  const reports = (s: ScopeOpenings) => s.scope === host || (s.scope as HostGroup).hosts[0] === host;
  const members = (s: ScopeOpenings): StatefulHost[] => (s.scope === host ? [host] : (s.scope as HostGroup).hosts);

  if (!host.outboundFiltering) {
    for (const s of scopes.filter(reports)) {
      for (const o of outboundUnder(s.scope)) {
        const lacking = members(s).filter((h) => !h.outboundFiltering);
        if (lacking.length === 0) continue;
        error('outbound-not-filtered', `${o.node.path} allows outbound traffic, but ${list(lacking)} ${lacking.length === 1 ? 'does' : 'do'} not filter it: set outboundFiltering: true, or remove the OutboundAccess`);
      }
      for (const a of s.scope.connections._peerEgress()) {
        const lacking = members(s).filter((h) => !h.outboundFiltering);
        if (lacking.length === 0) continue;
        error('outbound-not-filtered', `${a.origin}: connections.allowTo a Peer allows outbound traffic, but ${list(lacking)} ${lacking.length === 1 ? 'does' : 'do'} not filter it: set outboundFiltering: true, or remove the connection`);
      }
    }
  }

  const denials = [host, ...groups].flatMap((scope) => denialsUnder(scope).map((d) => d.denial))
    .map((d) => ({ origin: d.origin, peers: d.peers, ports: d.ports ?? ALL_TRAFFIC }));
  // the denials are indexed once per host, not compared with every port of every opening
  const denialIndex = new PortCoverIndex(denials);
  for (const s of scopes) {
    for (const [direction, allowances] of [['in', s.inbound], ['out', s.outbound]] as const) {
      const seen = new Map<string, string>();
      for (const a of allowances) {
        if (direction === 'in' && denials.length > 0) {
          // the denials differ per host: every member checks (most hosts have none)
          const deniedBy = coveredBy(a, denials, denialIndex.coverers(a.ports));
          if (deniedBy) error('denied-opening', `${a.origin} allows traffic that ${deniedBy.join(', ')} denies entirely: remove the opening, or narrow the denial`);
        }
        if (!reports(s)) continue;
        for (const peer of a.peers) {
          for (const family of peer.families.length === 1 ? peer.families : []) {
            const lacking = members(s).filter((h) => !h.ipFamilies.includes(family));
            if (lacking.length === 0) continue;
            const what = direction === 'in' ? 'peer' : 'destination';
            error('family-mismatch', `${a.origin}: ${what} ${peer} is ${FAMILY_NAME[family]} but ${hostList(lacking)} ${lacking.length === 1 ? 'is' : 'are'} ${FAMILY_NAME[family === IpFamily.IPV4 ? IpFamily.IPV6 : IpFamily.IPV4]}-only: remove the ${what}, or add its family to ipFamilies`);
          }
        }
        const icmp = icmpFamilyProblem(a.ports, a.peers);
        if (icmp) error('icmp-family', `${a.origin}: ${icmp}`);
        const key = openingKey(a);
        const first = seen.get(key);
        if (first) error('repeated-opening', `${a.origin} repeats ${first} exactly (${a.ports.join(', ')} from ${a.peers.join(', ')}): remove one of them`);
        else seen.set(key, a.origin);
      }
    }
  }

  const expected = scopes.flatMap((s) => s.inbound).filter((a) => (a.expectedConnections ?? 0) > 0);
  const total = expected.reduce((sum, a) => sum + a.expectedConnections!, 0) + (host.conntrack?.expectedConnections ?? 0);
  if (total > MAX_EXPECTED_CONNECTIONS) {
    const by = expected.map((a) => `${a.origin}: ${a.expectedConnections}`);
    if (host.conntrack?.expectedConnections) by.push(`conntrack.expectedConnections: ${host.conntrack.expectedConnections}`);
    error('too-many-connections', `${host.node.path} expects ${total} connections in all (${by.join(', ')}), more than the ${MAX_EXPECTED_CONNECTIONS} a conntrack table can be sized for: lower expectedConnections`);
  }
  return errors;
}

function hostList(hosts: readonly IConstruct[]): string {
  return `${hosts.length === 1 ? 'host' : 'hosts'} ${list(hosts)}`;
}

function list(cs: readonly IConstruct[]): string {
  return cs.map((c) => c.node.path).join(', ');
}

/** Per app: which host reports a finding whose text is the same for several hosts. */
const CLAIMS = new WeakMap<IConstruct, Map<string, IConstruct>>();

/**
 * Whether `host` reports the finding `key`: the first host to find it claims it, and keeps
 * it on every later synth; other hosts with the same finding (members of one group) stay
 * quiet, so one mistake gives one message.
 */
export function claimFinding(host: IConstruct, key: string): boolean {
  const root = host.node.root;
  const claims = CLAIMS.get(root) ?? new Map<string, IConstruct>();
  CLAIMS.set(root, claims);
  const owner = claims.get(key);
  if (owner === undefined) claims.set(key, host);
  return owner === undefined || owner === host;
}
