import { IConstruct } from 'constructs';
import type { StatefulHost } from './stateful-host';
import { formatIp, parseIp } from '../core/net/ip';
import { isStack, isUnresolved } from '../synth/terraform-lib';

/** The hosts of one app (construct tree root), and the conflicts found among them. */
interface AppHosts {
  readonly hosts: StatefulHost[];
  /** Messages by the host that reports them; recomputed after a host joins the app. */
  conflicts?: Map<StatefulHost, string[]>;
}

const APPS = new WeakMap<IConstruct, AppHosts>();

/** Registers a new host with its app, so that address conflicts are found in one pass per app. */
export function registerHost(host: StatefulHost): void {
  const root = host.node.root;
  const app = APPS.get(root) ?? { hosts: [] };
  app.hosts.push(host);
  app.conflicts = undefined;
  APPS.set(root, app);
}

/** The host's addresses in one spelling (IP addresses canonical, DNS names lowercase); tokens are left out. */
function normalizedAddresses(host: StatefulHost): string[] {
  const out = new Set<string>();
  for (const a of [host.address, ...host.addresses]) {
    if (isUnresolved(a)) continue;
    const ip = parseIp(a);
    out.add(ip ? formatIp(ip.family, ip.value) : a.toLowerCase().replace(/\.$/, ''));
  }
  return [...out];
}

/** Errors for hosts that share an address with other hosts of the app, reported by `host`. */
export function addressConflicts(host: StatefulHost): string[] {
  const app = APPS.get(host.node.root);
  if (!app) return [];
  app.conflicts ??= findConflicts(host.node.root, app.hosts);
  return app.conflicts.get(host) ?? [];
}

/**
 * One map from address to hosts for the whole app; one message per set of hosts that
 * share addresses, reported by the host in the first stack (so the synth fails before
 * it writes anything for those hosts).
 */
function findConflicts(root: IConstruct, hosts: StatefulHost[]): Map<StatefulHost, string[]> {
  const byAddress = new Map<string, StatefulHost[]>();
  for (const h of hosts) {
    for (const a of normalizedAddresses(h)) {
      const list = byAddress.get(a);
      if (list) list.push(h);
      else byAddress.set(a, [h]);
    }
  }
  // hosts sharing several addresses (one machine declared twice) make one finding
  const bySharers = new Map<string, { sharers: StatefulHost[]; addresses: string[] }>();
  for (const [address, sharers] of byAddress) {
    if (sharers.length < 2) continue;
    const key = sharers.map((h) => h.node.path).join('\n');
    const finding = bySharers.get(key) ?? { sharers, addresses: [] };
    finding.addresses.push(address);
    bySharers.set(key, finding);
  }
  const out = new Map<StatefulHost, string[]>();
  if (bySharers.size === 0) return out;
  const stackOrder = new Map(root.node.findAll().filter(isStack).map((s, i) => [s as IConstruct, i]));
  const order = (h: StatefulHost) => {
    const stack = h.node.scopes.find(isStack);
    return stack ? stackOrder.get(stack) ?? 0 : 0;
  };
  for (const { sharers, addresses } of bySharers.values()) {
    const reporter = sharers.reduce((first, h) => (order(h) < order(first) ? h : first));
    const others = sharers.filter((h) => h !== reporter).map((h) => h.node.path);
    const what = addresses.length === 1 ? `address '${addresses[0]}'` : `addresses ${addresses.map((a) => `'${a}'`).join(', ')}`;
    const message = `${what} of ${reporter.node.path} ${addresses.length === 1 ? 'is' : 'are'} also used by ${others.join(', ')}: `
      + 'one machine would get two rulesets and the last deploy would win; declare each machine once '
      + '(one StatefulHost, in several HostGroups for several roles), or correct the address';
    out.set(reporter, [...(out.get(reporter) ?? []), message]);
  }
  return out;
}
