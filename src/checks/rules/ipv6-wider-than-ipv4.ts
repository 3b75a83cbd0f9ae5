import { IpFamily } from '../../core/values/family';
import { Port } from '../../core/values/port';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { PortCoverIndex } from '../port-cover-index';
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
    const ports = new Map<string, Port>();
    for (const a of host.allowances) {
      for (const p of a.ports) {
        if (p.fromPort !== undefined) ports.set(p.toString(), p);
      }
    }
    // by label (the order the findings were always reported in)
    const sorted = [...ports.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // the openers of every port at once (a sweep over the ranges), judged once per set of openers
    const openersOf = new PortCoverIndex(host.allowances).coverers(sorted.map(([, p]) => p));
    const wider = new Map<string, boolean>();
    sorted.forEach(([label], k) => {
      const key = openersOf[k].join(',');
      const openers = openersOf[k].map((i) => host.allowances[i]);
      let open = wider.get(key);
      if (open === undefined) {
        const v4 = familyRanges(openers, IpFamily.IPV4);
        const v6 = familyRanges(openers, IpFamily.IPV6);
        open = opensToWorld(v6, IpFamily.IPV6) && v4.length > 0 && !opensToWorld(v4, IpFamily.IPV4);
        wider.set(key, open);
      }
      if (open) {
        found.push(`${label} is restricted on IPv4 but open to any IPv6 address (${openers.map((a) => a.origin).join(', ')}): give IPv6 the same peers`);
      }
    });
    return found;
  }
}
