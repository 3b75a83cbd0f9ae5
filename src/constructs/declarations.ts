import { IConstruct } from 'constructs';
import { AdminAccess } from './admin-access';
import { Deny } from './deny';
import { OutboundAccess } from './outbound-access';
import { isDeclarationScope } from './placement';
import { Service } from './service';

/** The constructs under a host or group (not under nested hosts or groups) that pass `keep`. */
function under<T extends IConstruct>(scope: IConstruct, keep: (c: IConstruct) => c is T): T[] {
  const out: T[] = [];
  const walk = (c: IConstruct) => {
    for (const child of c.node.children) {
      if (keep(child)) out.push(child);
      if (!isDeclarationScope(child)) walk(child);
    }
  };
  walk(scope);
  return out;
}

/** The Service and AdminAccess constructs under a host or group (not under nested hosts or groups). */
export function declarationsUnder(scope: IConstruct): (Service | AdminAccess)[] {
  return under(scope, (c): c is Service | AdminAccess => c instanceof Service || c instanceof AdminAccess);
}

/** The OutboundAccess constructs under a host or group (not under nested hosts or groups). */
export function outboundUnder(scope: IConstruct): OutboundAccess[] {
  return under(scope, (c): c is OutboundAccess => c instanceof OutboundAccess);
}

/** The Deny constructs under a host or group (not under nested hosts or groups). */
export function denialsUnder(scope: IConstruct): Deny[] {
  return under(scope, (c): c is Deny => c instanceof Deny);
}
