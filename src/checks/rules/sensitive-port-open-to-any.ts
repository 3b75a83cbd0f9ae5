import { ALL_FAMILIES } from '../../core/values/family';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { worldFindings } from '../port-coverage';

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
 * SFW2: a database or other sensitive well-known port open to the world (peers covering
 * at least half of a family's routable space). One finding per set of declarations.
 */
export class SensitivePortOpenToAny implements IPolicyCheck {
  public readonly id = 'SFW2';
  public readonly description = 'database, cache, queue and control-plane ports must not be open to anyone';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    // published container ports have their own check (SFW7)
    return worldFindings(host.allowances.filter((a) => !a.published), SENSITIVE_PORTS, ALL_FAMILIES).map((f) =>
      `${f.ports} ${f.plural ? 'are' : 'is'} open to any ${f.families} address (${f.by}): list the clients as peers`);
  }
}
