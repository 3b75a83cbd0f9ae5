import { ALL_FAMILIES } from '../../core/values/family';
import { CheckLevel } from '../check-level';
import { HostFacts, IPolicyCheck } from '../host-facts';
import { worldFindings } from '../port-coverage';
import { SENSITIVE_PORTS } from './sensitive-port-open-to-any';

/**
 * SFW7: a database or other sensitive well-known port published by a container (a
 * `published` Service: Docker `-p`) to the world. The classic Docker surprise, made
 * explicit: the library enforces it, but a published database rarely should be public.
 */
export class PublishedDatabasePortOpenToAny implements IPolicyCheck {
  public readonly id = 'SFW7';
  public readonly description = 'database, cache, queue and control-plane ports published by containers must not be open to anyone';
  public readonly defaultLevel: CheckLevel = CheckLevel.WARNING;

  public check(host: HostFacts): string[] {
    const published = host.allowances.filter((a) => a.published);
    return worldFindings(published, SENSITIVE_PORTS, ALL_FAMILIES).map((f) =>
      `container port${f.plural ? 's' : ''} ${f.ports} ${f.plural ? 'are' : 'is'} published to any ${f.families} address (${f.by}): list the clients as peers, or publish on 127.0.0.1 only (-p 127.0.0.1:PORT:PORT)`);
  }
}
