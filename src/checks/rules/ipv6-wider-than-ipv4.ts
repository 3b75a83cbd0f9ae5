import { IpFamily } from '../../core/values/family';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { familyRanges, opensToWorld } from '../port-coverage';

/**
 * SFW3: a port restricted on IPv4 but open to the IPv6 world (peers covering at least half
 * of 2000::/3): the classic "IPv4 firewall, IPv6 wide open" mistake.
 */
export class Ipv6WiderThanIpv4 implements IPolicyCheck {
  public readonly id = 'SFW3';
  public readonly description = 'IPv6 must not be left wide open where IPv4 is restricted';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    const found: string[] = [];
    const ports = new Map<string, { protocol: string; from: number; to: number }>();
    for (const a of host.allowances) {
      for (const p of a.ports) {
        if (p.fromPort !== undefined) ports.set(p.toString(), { protocol: p.protocol, from: p.fromPort, to: p.toPort! });
      }
    }
    for (const [label, port] of [...ports.entries()].sort()) {
      const covers = (p: { protocol: string; fromPort?: number; toPort?: number }) =>
        p.protocol === port.protocol && p.fromPort! <= port.from && port.to <= p.toPort!;
      const openers = host.allowances.filter((a) => a.ports.some(covers));
      const v4 = familyRanges(openers, IpFamily.IPV4);
      const v6 = familyRanges(openers, IpFamily.IPV6);
      if (opensToWorld(v6, IpFamily.IPV6) && v4.length > 0 && !opensToWorld(v4, IpFamily.IPV4)) {
        found.push(`${label} is restricted on IPv4 but open to any IPv6 address (${openers.map((a) => a.origin).join(', ')}): give IPv6 the same peers`);
      }
    }
    return found;
  }
}
