import { ALL_FAMILIES } from '../../core/values/family';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { worldFindings } from '../port-coverage';

/** Management ports: remote shells and consoles. */
export const ADMIN_PORTS: { port: number; name: string }[] = [
  { port: 22, name: 'SSH' }, { port: 23, name: 'telnet' }, { port: 3389, name: 'RDP' }, { port: 5900, name: 'VNC' },
  { port: 5985, name: 'WinRM' }, { port: 5986, name: 'WinRM over TLS' }, { port: 9090, name: 'Cockpit' }, { port: 10000, name: 'Webmin' },
];

/**
 * SFW1: a management port (SSH, RDP, VNC, ...) open to the world: to peers covering at
 * least `WORLD_THRESHOLD` (half) of a family's routable space. One finding per set of
 * declarations, naming every management port they open.
 */
export class AdminPortOpenToWorld implements IPolicyCheck {
  public readonly id = 'SFW1';
  public readonly description = 'management ports must not be open to the whole internet';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    return worldFindings(host.allowances, ADMIN_PORTS.map((p) => ({ ...p, protocol: 'tcp' })), ALL_FAMILIES).map((f) =>
      `${f.ports} ${f.plural ? 'are' : 'is'} open to any ${f.families} address (${f.by}): restrict it with AdminAccess peers, e.g. Peer.ipv4('192.0.2.0/24')`);
  }
}
