import { IConstruct } from 'constructs';
import { AdminAccess } from './admin-access';
import { HostGroup } from './host-group';
import { Service } from './service';
import { StatefulHost } from './stateful-host';

/** The Service and AdminAccess constructs under a host or group (not under nested hosts or groups). */
export function declarationsUnder(scope: IConstruct): (Service | AdminAccess)[] {
  const out: (Service | AdminAccess)[] = [];
  const walk = (c: IConstruct) => {
    for (const child of c.node.children) {
      if (child instanceof Service || child instanceof AdminAccess) out.push(child);
      if (!(child instanceof StatefulHost) && !(child instanceof HostGroup)) walk(child);
    }
  };
  walk(scope);
  return out;
}
