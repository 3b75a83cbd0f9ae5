import { Allowance, CompiledRuleset, ConntrackHelper, DefaultAction, Denial, HostPolicy, IpFamily, OverLimitAction, Peer, Port, RateUnit } from '../../src/core';

/** A small, seedable PRNG (mulberry32) so generated policies reproduce from their seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)];
}

function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** A random peer inside the documentation ranges (and their neighbours, to exercise aggregation). */
export function randomPeer(r: () => number): Peer {
  const kind = int(r, 0, 9);
  const v4net = pick(r, ['192.0.2', '198.51.100', '203.0.113']);
  switch (kind) {
    case 0:
      return Peer.any();
    case 1:
      return Peer.anyIpv4();
    case 2: {
      const prefix = int(r, 24, 32);
      const size = 2 ** (32 - prefix);
      const base = Math.floor(int(r, 0, 255) / size) * size;
      return Peer.ipv4(`${v4net}.${base}/${prefix}`);
    }
    case 3: {
      const a = int(r, 0, 250);
      return Peer.ipv4Range(`${v4net}.${a}`, `${v4net}.${a + int(r, 0, 5)}`);
    }
    case 4:
      return Peer.ipv4(`${v4net}.${int(r, 0, 255)}`);
    case 5: {
      const prefix = pick(r, [48, 56, 64, 112, 120, 128]);
      if (prefix === 128) return Peer.ipv6(`2001:db8:${int(r, 0, 3).toString(16)}::${int(r, 1, 0xffff).toString(16)}`);
      if (prefix === 120) return Peer.ipv6(`2001:db8:${int(r, 0, 3).toString(16)}::${(int(r, 1, 255) << 8).toString(16)}/120`);
      if (prefix === 112) return Peer.ipv6(`2001:db8:${int(r, 0, 3).toString(16)}::${int(r, 1, 255).toString(16)}:0/112`);
      return Peer.ipv6(`2001:db8:${int(r, 0, 3).toString(16)}::/${prefix}`);
    }
    case 6: {
      const a = int(r, 1, 200);
      return Peer.ipv6Range(`2001:db8::${a.toString(16)}`, `2001:db8::${(a + int(r, 1, 40)).toString(16)}`);
    }
    case 7:
      return Peer.anyIpv6();
    default:
      return Peer.anyOf(Peer.ipv4(`${v4net}.${int(r, 0, 255)}`), Peer.ipv6(`2001:db8::${int(r, 1, 0xfff).toString(16)}`));
  }
}

/** A random port: single ports, ranges, all ports, ICMP types, some repeated on purpose. */
export function randomPort(r: () => number): Port {
  const kind = int(r, 0, 11);
  const common = [22, 25, 53, 80, 123, 443, 5432, 8080, 8443];
  switch (kind) {
    case 0:
    case 1:
    case 2:
      return Port.tcp(pick(r, common));
    case 3:
      return Port.tcp(int(r, 1, 65535));
    case 4: {
      const a = int(r, 1000, 60000);
      return Port.tcpRange(a, a + int(r, 0, 50));
    }
    case 5:
    case 6:
      return Port.udp(pick(r, common));
    case 7: {
      const a = int(r, 1000, 60000);
      return Port.udpRange(a, a + int(r, 0, 500));
    }
    case 8:
      return pick(r, [Port.icmpPing(), Port.icmpType(13), Port.icmpTypeAndCode(3, int(r, 0, 15))]);
    case 9:
      return pick(r, [Port.icmpv6Ping(), Port.icmpv6Type(139), Port.icmpv6TypeAndCode(1, int(r, 0, 6))]);
    case 10:
      return pick(r, [Port.allTcp(), Port.allUdp()]);
    default:
      return Port.tcp(int(r, 8000, 8040));
  }
}

/** A random host policy; `seed` reproduces it. */
export function randomPolicy(seed: number, maxAllowances = 12): HostPolicy {
  const r = rng(seed);
  const allowances: Allowance[] = [];
  const n = int(r, 0, maxAllowances);
  for (let i = 0; i < n; i++) {
    const ports = Array.from({ length: int(r, 1, 20) }, () => randomPort(r));
    const peers = Array.from({ length: int(r, 1, 4) }, () => randomPeer(r));
    allowances.push({ origin: `gen${seed}/host/A${i}`, ports, peers });
  }
  const defaultAction = pick(r, [DefaultAction.REJECT, DefaultAction.REJECT_HOST_PROHIBITED, DefaultAction.DROP]);
  const allowPing = r() < 0.7;
  // drawn last, so the allowances of a seed do not depend on whether it has denials
  const denials: Denial[] = [];
  if (r() < 0.4) {
    const count = int(r, 1, 3);
    for (let i = 0; i < count; i++) {
      // never deny everyone: a denial of all traffic leaves nothing for the probes to tell apart
      const peers = Array.from({ length: int(r, 1, 3) }, () => randomPeer(r)).filter((p) => p.toString() !== 'any' || !p.families.includes(IpFamily.IPV4));
      const ports = r() < 0.5 ? undefined : Array.from({ length: int(r, 1, 4) }, () => randomPort(r));
      if (peers.length > 0) denials.push({ origin: `gen${seed}/host/D${i}`, peers, ports });
    }
  }
  return { name: `gen${seed}`, origin: `gen${seed}/host`, allowances, denials, defaultAction, allowPing };
}

/** A peer for long lists: single addresses (often neighbours, so some merge), small blocks and ranges, both families. */
export function randomListPeer(r: () => number): Peer {
  const kind = int(r, 0, 9);
  const v4net = pick(r, ['192.0.2', '198.51.100', '203.0.113']);
  if (kind <= 4) return Peer.ipv4(`${v4net}.${int(r, 0, 255)}`);
  if (kind === 5) {
    const prefix = int(r, 28, 31);
    const size = 2 ** (32 - prefix);
    return Peer.ipv4(`${v4net}.${Math.floor(int(r, 0, 255) / size) * size}/${prefix}`);
  }
  if (kind === 6) {
    const a = int(r, 0, 250);
    return Peer.ipv4Range(`${v4net}.${a}`, `${v4net}.${a + int(r, 1, 4)}`);
  }
  if (kind <= 8) return Peer.ipv6(`2001:db8:${int(r, 0, 3).toString(16)}::${int(r, 1, 0x3ff).toString(16)}`);
  return Peer.ipv6(`2001:db8:${int(r, 0, 3).toString(16)}::${(int(r, 1, 255) << 8).toString(16)}/120`);
}

/**
 * `randomPolicy(seed)` plus 1 to 3 declarations with long peer lists (9 to 60 peers) and
 * up to 30 ports, and a random set threshold (the default, 0, 3, 8 or 20): many of these
 * policies use address sets, some port sets. The base policy is the one `randomPolicy`
 * gives for the seed.
 */
export function randomPolicyWithSets(seed: number, maxAllowances = 12): HostPolicy {
  const base = randomPolicy(seed, maxAllowances);
  const r = rng((seed ^ 0x5e75e7) >>> 0);
  const extra: Allowance[] = [];
  const n = int(r, 1, 3);
  for (let i = 0; i < n; i++) {
    const peers = Array.from({ length: int(r, 9, 60) }, () => randomListPeer(r));
    const ports = Array.from({ length: int(r, 1, 30) }, () => (r() < 0.5 ? Port.tcp(int(r, 1000, 1100)) : randomPort(r)));
    extra.push({ origin: `gen${seed}/host/L${i}`, ports, peers });
  }
  return { ...base, allowances: [...base.allowances, ...extra], setThreshold: pick(r, [undefined, undefined, 0, 3, 8, 20]) };
}

/**
 * `randomPolicy(seed)` (or, for every third seed, `randomPolicyWithSets`) with a random
 * combination of every host feature: denials, default actions and ping from the base
 * policy; drop logging (with or without its own rate), outbound filtering with outbound
 * allowances, untracked (notrack) services, conntrack helpers (FTP, TFTP), per-source,
 * concurrency and SYN-flood limits (generous, so that probes never reach them), a ping
 * rate limit (its burst above any policy's echo probes), peers known only at deploy time
 * (Terraform tokens: bind them with `lateBindings`), expected connection counts, hosts
 * of one address family, and `extraOpenings` more single-port openings from distinct
 * peers (up to thousands). The base policy is the one `randomPolicy` gives for the seed.
 * Not drawn: published (Docker) ports, whose forward path the kernel lab has no
 * container network for.
 */
export function randomPolicyWithFeatures(seed: number, maxAllowances = 12, extraOpenings = 0): HostPolicy {
  const base = seed % 3 === 0 ? randomPolicyWithSets(seed, maxAllowances) : randomPolicy(seed, maxAllowances);
  const r = rng((seed ^ 0xfea7) >>> 0);
  const allowances: Allowance[] = [...base.allowances];
  const generous = { rate: 10000, unit: RateUnit.SECOND, burst: 10000 };
  if (r() < 0.5) {
    allowances.push({
      origin: `gen${seed}/host/Limited`,
      ports: [Port.tcp(int(r, 2000, 2100)), ...(r() < 0.5 ? [Port.udp(int(r, 2000, 2100))] : [])],
      peers: Array.from({ length: int(r, 1, 3) }, () => randomPeer(r)),
      limits: {
        newConnectionsPerSource: r() < 0.7 ? generous : undefined,
        concurrentPerSource: r() < 0.5 ? 60000 : undefined,
        synFloodLimit: r() < 0.5 ? generous : undefined,
        overLimitAction: r() < 0.5 ? OverLimitAction.REJECT : OverLimitAction.DROP,
      },
    });
  }
  if (r() < 0.5) {
    allowances.push({
      origin: `gen${seed}/host/Untracked`,
      ports: [Port.udp(pick(r, [53, 123, 5353])), ...(r() < 0.4 ? [Port.tcp(53)] : [])],
      peers: Array.from({ length: int(r, 1, 3) }, () => randomPeer(r)),
      notrack: true,
    });
  }
  if (r() < 0.4) {
    const ftp = r() < 0.5;
    allowances.push({
      origin: `gen${seed}/host/Helper`,
      ports: [ftp ? Port.tcp(21) : Port.udp(69)],
      peers: Array.from({ length: int(r, 1, 2) }, () => randomPeer(r)),
      helper: ftp ? ConntrackHelper.FTP : ConntrackHelper.TFTP,
    });
  }
  for (let i = 0; i < extraOpenings; i++) {
    allowances.push({
      origin: `gen${seed}/host/X${i}`,
      ports: [r() < 0.7 ? Port.tcp(30000 + i) : Port.udp(30000 + i)],
      peers: [i % 2 === 0 ? Peer.ipv4(`10.${(i >> 8) & 255}.${i & 255}.0/24`) : Peer.ipv6(`2001:db8:f${(i >> 8) & 15}:${(i & 255).toString(16)}::/64`)],
    });
  }
  const outbound = r() < 0.5
    ? {
      allowances: Array.from({ length: int(r, 0, 4) }, (_, i) => ({
        origin: `gen${seed}/host/Out${i}`,
        ports: Array.from({ length: int(r, 1, 3) }, () => randomPort(r)).filter((p) => !p.isIcmp),
        peers: [randomPeer(r)],
      })),
      defaultAction: pick(r, [DefaultAction.REJECT, DefaultAction.DROP]),
    }
    : undefined;
  const logDropped = r() < 0.5 ? { prefix: `gen${seed}: ` } : undefined;
  // drawn after the features above, so that a seed keeps the ones it had before these came
  const rate = (lo: number, hi: number, units: RateUnit[], burstLo: number, burstHi: number) =>
    ({ rate: int(r, lo, hi), unit: pick(r, units), burst: int(r, burstLo, burstHi) });
  const logRate = r() < 0.5 ? rate(1, 100, [RateUnit.SECOND, RateUnit.MINUTE, RateUnit.HOUR], 1, 20) : undefined;
  // every probe of a policy (at most PING_BURST echo requests) fits in the bucket: the simulator has no clock
  const pingRateLimit = r() < 0.5 ? rate(1, 1000, [RateUnit.SECOND, RateUnit.MINUTE], PING_BURST, 2 * PING_BURST) : undefined;
  if (r() < 0.35) {
    // addresses Terraform knows only at deploy time: one token per family, bound by `lateBindings`
    const v4 = r() < 0.7;
    const v6 = !v4 || r() < 0.5;
    const ports = () => Array.from({ length: int(r, 1, 3) }, () => randomPort(r));
    if (v4) allowances.push({ origin: `gen${seed}/host/Late4`, ports: ports(), peers: [Peer.ipv4(`\${TfToken[TOKEN.${seed % 97}]}`)] });
    if (v6) allowances.push({ origin: `gen${seed}/host/Late6`, ports: ports(), peers: [Peer.ipv6(`\${TfToken[TOKEN.${(seed % 97) + 100}]}`)] });
  }
  const sized = allowances.map((a) => (r() < 0.2 && !a.notrack ? { ...a, expectedConnections: int(r, 1, 100000) } : a));
  // a host of one family: the other still gets the baseline and the default action
  const families = r() < 0.2 ? [pick(r, [IpFamily.IPV4, IpFamily.IPV6])] : undefined;
  return {
    ...base,
    allowances: sized,
    outbound,
    logDropped: logDropped && logRate ? { ...logDropped, rateLimit: logRate } : logDropped,
    pingRateLimit,
    families,
  };
}

/** The smallest burst `randomPolicyWithFeatures` draws for the ping limit: more than the echo requests of 100 probes. */
export const PING_BURST = 60;

/**
 * Addresses for the late-bound sets of a ruleset (`CompiledRuleset.bindAddresses`), as the
 * deploy would fill them in, reproducible from `seed`: for each label 0 to 3 addresses or
 * small blocks of the set's family (none: the set stays empty and matches nothing).
 */
export function lateBindings(ruleset: CompiledRuleset, seed: number): { [label: string]: string[] } {
  const r = rng((seed ^ 0x1a7eb0) >>> 0);
  const out: { [label: string]: string[] } = {};
  for (const set of ruleset.model.sets ?? []) {
    for (const member of set.lateMembers ?? []) {
      if (out[member.label] !== undefined) continue;
      out[member.label] = Array.from({ length: int(r, 0, 3) }, () => {
        if (set.family === IpFamily.IPV4) {
          const prefix = pick(r, [32, 32, 30, 28]);
          const size = 2 ** (32 - prefix);
          const address = `${pick(r, ['192.0.2', '198.51.100', '203.0.113'])}.${Math.floor(int(r, 0, 255) / size) * size}`;
          return prefix === 32 ? address : `${address}/${prefix}`;
        }
        return r() < 0.7 ? `2001:db8:${int(r, 0, 3).toString(16)}::${int(r, 1, 0xffff).toString(16)}` : `2001:db8:${int(r, 0, 3).toString(16)}::${(int(r, 1, 255) << 8).toString(16)}/120`;
      });
    }
  }
  return out;
}
