import { DefaultAction, HostPolicy, Peer, Port, RateUnit } from '../../src/core';

// Policies that deny a client's IPv6 address (alone, in a CIDR, in a long list that becomes
// a set, or all of IPv6) next to the other features, for the tests that check the ICMPv6
// essentials are decided before any denial (issue 14).

/** The host's and the client's addresses on the lab link, and the client's link-local one. */
export const HOST_V6 = '2001:db8::1';
export const CLIENT_V6 = '2001:db8::2';
export const CLIENT_LINK_LOCAL = 'fe80::2';

/** A TCP port open to everyone on the host. */
export const OPEN_PORT = 8080;
/** A TCP port on the client the host may connect to (with outbound filtering). */
export const OUTBOUND_PORT = 9090;

/** How the client's address is denied. */
export type DenyKind = 'address' | 'cidr' | 'long list' | 'any IPv6';

export const DENY_KINDS: DenyKind[] = ['address', 'cidr', 'long list', 'any IPv6'];

/** The denied peers of a kind; every kind covers the client's global address. */
export function deniedPeers(kind: DenyKind): Peer[] {
  switch (kind) {
    case 'address':
      return [Peer.ipv6(CLIENT_V6)];
    case 'cidr':
      return [Peer.ipv6('2001:db8::/64')];
    case 'long list':
      // 12 addresses that never merge: more than the default threshold of 8, so a set
      return Array.from({ length: 12 }, (_, i) => Peer.ipv6(`2001:db8::${(2 + 2 * i).toString(16)}`));
    case 'any IPv6':
      return [Peer.anyIpv6()];
  }
}

/** The other features a denial is combined with. */
export interface DenyFeatures {
  readonly logDropped?: boolean;
  readonly outbound?: boolean;
  readonly limits?: boolean;
  /** A port-specific denial as well (the client may not reach SSH). */
  readonly portDenial?: boolean;
}

export const FEATURE_CASES: [string, DenyFeatures][] = [
  ['alone', {}],
  ['with drop logging', { logDropped: true }],
  ['with outbound filtering', { outbound: true }],
  ['with rate limits', { limits: true }],
  ['with a port denial', { portDenial: true }],
  ['with everything', { logDropped: true, outbound: true, limits: true, portDenial: true }],
];

/** Every deny kind with every feature set: `[kind, feature name, features]`. */
export const DENY_MATRIX: [DenyKind, string, DenyFeatures][] = DENY_KINDS.flatMap((kind) =>
  FEATURE_CASES.map(([name, features]): [DenyKind, string, DenyFeatures] => [kind, name, features]));

/**
 * A host with a TCP port open to everyone (rate-limited with `limits`), SSH for an admin
 * network, and the client denied.
 */
export function denyPolicy(kind: DenyKind, features: DenyFeatures = {}): HostPolicy {
  const limits = features.limits
    ? { newConnectionsPerSource: { rate: 100, unit: RateUnit.SECOND, burst: 100 }, synFloodLimit: { rate: 1000, unit: RateUnit.SECOND, burst: 1000 } }
    : undefined;
  return {
    name: 'nd',
    origin: 'lab/nd',
    defaultAction: DefaultAction.REJECT,
    allowances: [
      { origin: 'lab/nd/Web', ports: [Port.tcp(OPEN_PORT)], peers: [Peer.any()], limits },
      { origin: 'lab/nd/Ops', ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.0/24'), Peer.ipv6('2001:db8:ff::/48')] },
    ],
    denials: [
      { origin: 'lab/nd/Blocked', peers: deniedPeers(kind) },
      ...(features.portDenial ? [{ origin: 'lab/nd/NoSsh', peers: [Peer.ipv6('2001:db8::/64')], ports: [Port.SSH] }] : []),
    ],
    logDropped: features.logDropped ? {} : undefined,
    outbound: features.outbound
      ? { allowances: [{ origin: 'lab/nd/ToClient', ports: [Port.tcp(OUTBOUND_PORT)], peers: [Peer.ipv6(CLIENT_V6)] }] }
      : undefined,
  };
}
