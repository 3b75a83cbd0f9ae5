import { expectedConnectionsProblem } from './conntrack-sizing';
import { Allowance } from './host-policy';
import { Protocol } from '../values/protocol';

/**
 * What is wrong with one declared opening, beyond its ports and peers (those carry their
 * own problems): options that contradict each other. `undefined` when nothing is.
 */
export function allowanceProblem(a: Omit<Allowance, 'origin' | 'peers'>): string | undefined {
  const l = a.limits;
  if (a.notrack) {
    const icmp = a.ports.find((p) => p.isIcmp);
    if (icmp) return `notrack exempts TCP and UDP ports from connection tracking, not ${icmp}: declare ICMP in another Service`;
    if (a.helper) return `the ${a.helper} helper reads tracked connections, so it cannot be combined with notrack: remove one of them`;
    if (l && (l.newConnectionsPerSource || l.concurrentPerSource !== undefined || l.synFloodLimit)) {
      return 'limits count connections, and an untracked service has none: remove limits or notrack';
    }
    if (a.expectedConnections !== undefined) return 'an untracked service takes no conntrack entries: remove expectedConnections or notrack';
  }
  if (a.published) {
    const icmp = a.ports.find((p) => p.isIcmp);
    if (icmp) return `a published container port is TCP or UDP, not ${icmp}: declare ICMP in another Service`;
    if (a.helper) return `the ${a.helper} helper is not supported on published container ports: remove helper or published`;
    if (a.notrack) return 'published container ports are DNATed, which needs connection tracking: remove notrack or published';
    if (l && (l.newConnectionsPerSource || l.concurrentPerSource !== undefined || l.synFloodLimit)) {
      return 'limits are not supported on published container ports: remove limits or published';
    }
  }
  if (l?.synFloodLimit && !a.ports.some((p) => p.protocol === Protocol.TCP)) {
    return 'synFloodLimit caps new TCP connections, but the declaration has no TCP port: remove it or use newConnectionsPerSource';
  }
  return a.expectedConnections === undefined ? undefined : expectedConnectionsProblem(a.expectedConnections, 'expectedConnections');
}
