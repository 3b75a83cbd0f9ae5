import type * as cdktf from 'cdktf';
import { IConstruct } from 'constructs';

/**
 * The CDK the app runs on: `cdktf` (CDK for Terraform 0.21) or `cdktn` (CDK Terrain 0.24,
 * cdktf's community fork). Both export the same API, so the library is typed against
 * cdktf and takes every class and function it uses at run time from the module the app's
 * own stacks were built with. The two cannot be mixed in one construct tree: they mark
 * their constructs with the same symbols (`cdktf/TerraformElement`, ...), so a cdktn
 * stack adopts a cdktf resource and then calls cdktn-only methods on it at synth
 * (`_resetResolveDiscoveredProviderFeatureUsage is not a function`).
 */
export type TerraformLib = typeof cdktf;
type TerraformStack = cdktf.TerraformStack;

/** The module names, tried in this order when nothing in the tree says which. */
const MODULES = ['cdktf', 'cdktn'] as const;

/** Both CDKs mark stacks with this symbol (`TerraformStack.isStack`). */
const STACK_SYMBOL = Symbol.for('cdktf/TerraformStack');

const LOADED = new Map<string, TerraformLib | null>();
const BY_ROOT = new WeakMap<IConstruct, TerraformLib>();

/** The module, or undefined when the app does not have it installed. */
function load(name: string): TerraformLib | undefined {
  if (!LOADED.has(name)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      LOADED.set(name, require(name) as TerraformLib);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // only "not installed" means absent; an installed module that fails to load is an error
      if (err.code !== 'MODULE_NOT_FOUND' || !err.message.includes(`'${name}'`)) throw e;
      LOADED.set(name, null);
    }
  }
  return LOADED.get(name) ?? undefined;
}

/** Whether `x` is a stack of either CDK. */
export function isStack(x: unknown): x is TerraformStack {
  return x !== null && typeof x === 'object' && STACK_SYMBOL in x;
}

/** The stack `scope` is in (cdktf's `TerraformStack.of`, for either CDK). */
export function stackOf(scope: IConstruct): TerraformStack {
  const stack = [...scope.node.scopes].reverse().find(isStack);
  if (!stack) throw new Error(`${scope.node.path}: not inside a TerraformStack: add it to a stack of your app`);
  return stack;
}

/**
 * The CDK module (cdktf or cdktn) whose stacks `scope` lives in: the module whose
 * `TerraformStack` (or `App`) the scope's stack (or root) is an instance of. When the tree
 * has neither (a bare construct), the module the app has installed.
 */
export function terraformLib(scope: IConstruct): TerraformLib {
  const root = scope.node.root;
  let lib = BY_ROOT.get(root);
  if (lib) return lib;
  const stack = [...scope.node.scopes].reverse().find(isStack) ?? root.node.findAll().find(isStack);
  const available = MODULES.map(load).filter((m): m is TerraformLib => m !== undefined);
  lib = available.find((m) => (stack ? stack instanceof m.TerraformStack : root instanceof m.App));
  if (!lib && stack) {
    throw new Error(`${scope.node.path}: the stack ${stack.node.path} was built with a copy of cdktf or cdktn that cdktf-stateful-firewall cannot load `
      + '(several copies installed?): install one cdktf (0.21) or cdktn (0.24) at the top of node_modules');
  }
  lib = lib ?? anyTerraformLib();
  BY_ROOT.set(root, lib);
  return lib;
}

/** Whichever of cdktf and cdktn the app has installed (for helpers both share, e.g. `Token`). */
export function anyTerraformLib(): TerraformLib {
  for (const name of MODULES) {
    const lib = load(name);
    if (lib) return lib;
  }
  throw new Error('cdktf-stateful-firewall needs cdktf (0.21, CDK for Terraform) or cdktn (0.24, CDK Terrain): install one of them in your app');
}

/** Whether `value` holds an unresolved token (a Terraform reference, `Lazy`, ...): both CDKs share one token map. */
export function isUnresolved(value: unknown): boolean {
  return anyTerraformLib().Token.isUnresolved(value);
}
