import { ALL_FAMILIES } from '../../engine/family';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { coversWholeFamily, familyRanges, portIncludes } from '../port-coverage';

/** Management ports: remote shells and consoles. */
export const ADMIN_PORTS: { port: number; name: string }[] = [
  { port: 22, name: 'SSH' }, { port: 23, name: 'telnet' }, { port: 3389, name: 'RDP' }, { port: 5900, name: 'VNC' },
  { port: 5985, name: 'WinRM' }, { port: 5986, name: 'WinRM over TLS' }, { port: 9090, name: 'Cockpit' }, { port: 10000, name: 'Webmin' },
];

/**
 * SFW1: a management port (SSH, RDP, VNC, ...) open to every address of a family.
 */
export class AdminPortOpenToWorld implements IPolicyCheck {
  public readonly id = 'SFW1';
  public readonly description = 'management ports must not be open to the whole internet';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    const found: string[] = [];
    for (const { port, name } of ADMIN_PORTS) {
      const openers = host.allowances.filter((a) => a.ports.some((p) => portIncludes(p, 'tcp', port)));
      for (const family of ALL_FAMILIES) {
        if (!coversWholeFamily(familyRanges(openers, family))) continue;
        const ofFamily = openers.filter((a) => a.peers.some((p) => p.families.includes(family)));
        // name the declarations that open it to everyone by themselves, if any
        const alone = ofFamily.filter((a) => coversWholeFamily(familyRanges([a], family)));
        const by = (alone.length > 0 ? alone : ofFamily).map((a) => a.origin);
        found.push(`${name} (tcp/${port}) is open to any ${family} address (${by.join(', ')}): restrict it with AdminAccess peers, e.g. Peer.ipv4('192.0.2.0/24')`);
      }
    }
    return found;
  }
}
