import { ALL_FAMILIES } from '../../engine/family';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { coversWholeFamily, familyRanges, portIncludes } from '../port-coverage';

/** Well-known ports of databases, caches, queues and control planes that are rarely meant to be public. */
export const SENSITIVE_PORTS: { protocol: string; port: number; name: string }[] = [
  { protocol: 'tcp', port: 111, name: 'rpcbind' }, { protocol: 'tcp', port: 445, name: 'SMB' },
  { protocol: 'tcp', port: 1433, name: 'SQL Server' }, { protocol: 'tcp', port: 1521, name: 'Oracle' },
  { protocol: 'tcp', port: 2375, name: 'Docker API' }, { protocol: 'tcp', port: 2376, name: 'Docker API over TLS' },
  { protocol: 'tcp', port: 2379, name: 'etcd' }, { protocol: 'tcp', port: 3306, name: 'MySQL' },
  { protocol: 'tcp', port: 5432, name: 'PostgreSQL' }, { protocol: 'tcp', port: 5672, name: 'AMQP' },
  { protocol: 'tcp', port: 5984, name: 'CouchDB' }, { protocol: 'tcp', port: 6379, name: 'Redis' },
  { protocol: 'tcp', port: 9042, name: 'Cassandra' }, { protocol: 'tcp', port: 9092, name: 'Kafka' },
  { protocol: 'tcp', port: 9200, name: 'Elasticsearch' }, { protocol: 'tcp', port: 11211, name: 'memcached' },
  { protocol: 'udp', port: 11211, name: 'memcached' }, { protocol: 'tcp', port: 27017, name: 'MongoDB' },
];

/**
 * SFW2: a database or other sensitive well-known port open to every address of a family.
 */
export class SensitivePortOpenToAny implements IPolicyCheck {
  public readonly id = 'SFW2';
  public readonly description = 'database, cache, queue and control-plane ports must not be open to anyone';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    const found: string[] = [];
    for (const { protocol, port, name } of SENSITIVE_PORTS) {
      const openers = host.allowances.filter((a) => a.ports.some((p) => portIncludes(p, protocol, port)));
      const families = ALL_FAMILIES.filter((f) => coversWholeFamily(familyRanges(openers, f)));
      if (families.length === 0) continue;
      found.push(`${name} (${protocol}/${port}) is open to any ${families.join(' and ')} address (${openers.map((a) => a.origin).join(', ')}): list the clients as peers`);
    }
    return found;
  }
}
