import { Construct } from 'constructs';

/** Throws an error that names the construct path: `path: message`. */
export function constructError(scope: Construct, message: string): Error {
  return new Error(`${scope.node.path}: ${message}`);
}

/** Throws when a required list is missing or empty. */
export function checkNonEmpty(scope: Construct, name: string, list: readonly unknown[] | undefined, hint: string): void {
  if (!list || list.length === 0) throw constructError(scope, `${name} must not be empty: ${hint}`);
}

/** Throws, naming the construct, when a port or peer handed to it is unusable. */
export function checkValues(scope: Construct, values: readonly { readonly problem?: string }[]): void {
  const bad = values.find((v) => v.problem);
  if (bad) throw constructError(scope, bad.problem!);
}
