// Random policy pairs for the semantic diff's property test: random combinations of the
// features (services with single ports and ranges, admin access with limits, denials,
// peer lists over the set threshold, outbound filtering, notrack, helpers, logging, ping
// limits), and a random edit of that policy (or a refactor that keeps its behaviour).
import { Allowance, ConntrackHelper, DefaultAction, Denial, HostPolicy, OverLimitAction, Peer, Port, RateUnit } from '../../../src/core';
import { randomPeer, randomPort, rng } from '../../support/random-policy';

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)];

function peerList(r: () => number, n: number): Peer[] {
  // long lists of distinct addresses: over a small set threshold they become sets
  return Array.from({ length: n }, (_, i) => (i % 2 === 0
    ? Peer.ipv4(`198.51.${100 + (i % 3)}.${(i * 7 + int(r, 0, 5)) % 256}`)
    : Peer.ipv6(`2001:db8:${(i % 4).toString(16)}::${(i * 13 + int(r, 1, 9)).toString(16)}`)));
}

function allowance(r: () => number, name: string): Allowance {
  const kind = int(r, 0, 6);
  const peers = kind === 0 ? peerList(r, int(r, 4, 24)) : Array.from({ length: int(r, 1, 3) }, () => randomPeer(r));
  const ports = Array.from({ length: int(r, 1, 3) }, () => randomPort(r));
  switch (kind) {
    case 1: // admin access with limits
      return {
        origin: name,
        ports: [Port.tcp(22)],
        peers,
        limits: {
          newConnectionsPerSource: r() < 0.7 ? { rate: int(r, 1, 20), unit: RateUnit.MINUTE, burst: int(r, 1, 10) } : undefined,
          concurrentPerSource: r() < 0.5 ? int(r, 1, 50) : undefined,
          synFloodLimit: r() < 0.3 ? { rate: 100, unit: RateUnit.SECOND } : undefined,
          overLimitAction: pick(r, [OverLimitAction.DROP, OverLimitAction.REJECT]),
        },
      };
    case 2: // untracked service
      return { origin: name, ports: [Port.udp(pick(r, [53, 123])), ...(r() < 0.4 ? [Port.tcp(53)] : [])], peers, notrack: true };
    case 3:
      return { origin: name, ports: [r() < 0.5 ? Port.tcp(21) : Port.udp(69)], peers };
    default:
      return { origin: name, ports, peers };
  }
}

function denial(r: () => number, name: string): Denial {
  return { origin: name, peers: [randomPeer(r)], ports: r() < 0.5 ? [randomPort(r)] : undefined };
}

/** A random policy mixing the features. */
export function randomFeaturePolicy(seed: number): HostPolicy {
  const r = rng(seed);
  const allowances = Array.from({ length: int(r, 0, 6) }, (_, i) => allowance(r, `gen/host/S${i}`));
  if (r() < 0.3) allowances.push({ origin: 'gen/host/Ftp', ports: [Port.tcp(21)], peers: [randomPeer(r)], helper: ConntrackHelper.FTP });
  const denials = r() < 0.5 ? Array.from({ length: int(r, 1, 3) }, (_, i) => denial(r, `gen/host/D${i}`)) : undefined;
  const outbound = r() < 0.5
    ? {
      allowances: Array.from({ length: int(r, 0, 3) }, (_, i) => ({
        origin: `gen/host/Out${i}`,
        ports: Array.from({ length: int(r, 1, 2) }, () => randomPort(r)).filter((p) => !p.isIcmp),
        peers: [randomPeer(r)],
      })).filter((a) => a.ports.length > 0),
      defaultAction: pick(r, [DefaultAction.REJECT, DefaultAction.DROP]),
    }
    : undefined;
  return {
    name: 'host',
    allowances,
    denials,
    outbound,
    defaultAction: pick(r, [undefined, DefaultAction.DROP, DefaultAction.REJECT]),
    logDropped: r() < 0.4 ? { prefix: 'gen: ' } : undefined,
    setThreshold: r() < 0.5 ? int(r, 2, 6) : undefined,
    allowPing: r() < 0.8,
    pingRateLimit: r() < 0.3 ? { rate: 5, unit: RateUnit.SECOND } : undefined,
  };
}

/** A random edit of a policy; `refactor` says whether it keeps the behaviour. */
export function randomEdit(policy: HostPolicy, seed: number): { policy: HostPolicy; what: string; refactor: boolean } {
  const r = rng((seed ^ 0x5eed) >>> 0);
  const a = [...policy.allowances];
  const i = int(r, 0, Math.max(0, a.length - 1));
  switch (int(r, 0, 8)) {
    case 0:
      if (a.length === 0) break;
      a.splice(i, 1);
      return { policy: { ...policy, allowances: a }, what: `remove allowance ${i}`, refactor: false };
    case 1:
      if (a.length === 0) break;
      a[i] = { ...a[i], peers: [...a[i].peers, randomPeer(r)] };
      return { policy: { ...policy, allowances: a }, what: `add a peer to allowance ${i}`, refactor: false };
    case 2:
      if (a.length === 0) break;
      a[i] = { ...a[i], ports: a[i].helper ? a[i].ports : [...a[i].ports, randomPort(r)] };
      return { policy: { ...policy, allowances: a }, what: `add a port to allowance ${i}`, refactor: false };
    case 3:
      return { policy: { ...policy, denials: [...(policy.denials ?? []), denial(r, 'gen/host/DX')] }, what: 'add a denial', refactor: false };
    case 4:
      return { policy: { ...policy, outbound: policy.outbound ? undefined : { allowances: [], defaultAction: DefaultAction.DROP } }, what: 'toggle outbound filtering', refactor: false };
    case 5:
      return { policy: { ...policy, defaultAction: policy.defaultAction === DefaultAction.DROP ? DefaultAction.REJECT : DefaultAction.DROP }, what: 'change the default action', refactor: false };
    case 6:
      return { policy: { ...policy, setThreshold: policy.setThreshold === undefined ? 2 : undefined }, what: 'change the set threshold', refactor: true };
    case 7:
      if (a.length === 0) break;
      // split an allowance by its peers: the same openings
      if (a[i].peers.length > 1 && !a[i].limits && !a[i].helper) {
        const [first, ...rest] = a[i].peers;
        a.splice(i, 1, { ...a[i], peers: [first] }, { ...a[i], origin: `${a[i].origin}b`, peers: rest });
        return { policy: { ...policy, allowances: a }, what: `split allowance ${i}`, refactor: true };
      }
      break;
    default:
      return {
        policy: { ...policy, allowances: [...a].reverse(), logDropped: policy.logDropped ? undefined : { prefix: 'x: ' } },
        what: 'reverse the allowances, toggle logging',
        // the order of overlapping limited openings decides which limit a packet over both meets
        refactor: !a.some((x) => x.limits),
      };
  }
  return { policy: { ...policy, allowPing: !policy.allowPing }, what: 'toggle ping', refactor: false };
}
