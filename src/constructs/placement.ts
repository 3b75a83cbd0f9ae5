import { Construct, IConstruct } from 'constructs';

/** Marks the constructs that pick up the declarations below them (StatefulHost, HostGroup). */
const DECLARATION_SCOPE = Symbol.for('cdktf-stateful-firewall.DeclarationScope');

/** Marks a host or group as a scope whose declarations are compiled into rulesets. */
export function markDeclarationScope(scope: Construct): void {
  Object.defineProperty(scope, DECLARATION_SCOPE, { value: true, enumerable: false });
}

/** Whether `c` is a StatefulHost or a HostGroup (without importing them: no import cycle). */
export function isDeclarationScope(c: IConstruct): boolean {
  return (c as any)[DECLARATION_SCOPE] === true;
}

/** Whether a StatefulHost or HostGroup encloses `c` (its declarations are picked up only then). */
function enclosed(c: IConstruct): boolean {
  return c.node.scopes.some((s) => (s as any)[DECLARATION_SCOPE] === true);
}

/**
 * Makes a declaration created outside every StatefulHost and HostGroup an error at synth:
 * no ruleset would see it, so it would open (or block) nothing without a word.
 *
 * @param effect what the declaration does to no host, e.g. 'blocks nothing'
 * @param adder the host method that creates it in the right place, e.g. 'addDeny'
 */
export function requireDeclarationScope(declaration: Construct, kind: string, effect: string, adder: string): void {
  declaration.node.addValidation({
    validate: () => (enclosed(declaration) ? [] : [
      `${declaration.node.path}: this ${kind} is outside every StatefulHost and HostGroup, so no host picks it up and it ${effect}: `
        + `create it inside a StatefulHost or HostGroup, or use host.${adder}(...)`,
    ]),
  });
}
