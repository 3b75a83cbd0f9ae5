import { IConstruct, Node } from 'constructs';

/**
 * When a host's policy may change, and when it may not.
 *
 * Before a host is validated its declarations may change at any time: every change (a
 * construct added under a host or group, a connection, a group member) bumps one
 * generation counter, and rulesets compiled in an older generation are compiled again.
 * The host's validation freezes its policy: it is then compiled once, and a change that
 * would alter it is an error naming the construct path (the synth would otherwise write
 * a ruleset without it).
 */

let generation = 0;

/** The current generation of the declarations of every host. */
export function policyGeneration(): number {
  return generation;
}

/** Records a change to some host's declarations: rulesets compiled before it are stale. */
export function policyChanged(): void {
  generation++;
}

/** A host whose policy is frozen, as a scope's probe reports it. */
export interface FrozenHost {
  readonly path: string;
  readonly outboundFiltering: boolean;
}

/** Per host and group: the frozen hosts whose policy the scope's declarations make. */
const PROBES = new WeakMap<IConstruct, () => FrozenHost[]>();

/** Registers how to find the frozen hosts of a host (itself) or group (its members). */
export function registerPolicyScope(scope: IConstruct, probe: () => FrozenHost[]): void {
  PROBES.set(scope, probe);
  guardDescendants(scope);
}

/** The frozen hosts a host or group stands for (none for other constructs). */
export function frozenHosts(scope: IConstruct): FrozenHost[] {
  return PROBES.get(scope)?.() ?? [];
}

/** Throws, naming `path` and the frozen hosts, when `scope` stands for frozen hosts. */
export function assertNotFrozen(scope: IConstruct, change: string, hosts: FrozenHost[] = frozenHosts(scope)): void {
  if (hosts.length === 0) return;
  const which = hosts.map((h) => h.path).join(', ');
  throw new Error(`${scope.node.path}: cannot ${change}: the firewall policy of ${which} was validated and compiled in this synth, `
    + 'so the change would not reach its ruleset; make every declaration before app.synth() (in the constructor, or in an Aspect)');
}

const LOCKED = Object.getOwnPropertyDescriptor(Node.prototype, 'locked')!.get!;

/**
 * Watches the construct tree under a host or group: `Node.addChild` asks the new child's
 * scope, and through it every ancestor, whether it is `locked`; the scope's answer records
 * the change (or refuses it when its hosts are frozen). Nothing else reads `locked`.
 */
function guardDescendants(scope: IConstruct): void {
  Object.defineProperty(scope.node, 'locked', {
    configurable: true,
    get(this: Node): boolean {
      assertNotFrozen(scope, 'add a construct under it');
      policyChanged();
      return LOCKED.call(this);
    },
  });
}
