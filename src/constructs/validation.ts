import { Construct } from 'constructs';

/** Throws an error that names the construct path: `path: message`. */
export function constructError(scope: Construct, message: string): Error {
  return new Error(`${scope.node.path}: ${message}`);
}

/** Throws when a required list is missing or empty. */
export function checkNonEmpty(scope: Construct, name: string, list: readonly unknown[] | undefined, hint: string): void {
  if (!list || list.length === 0) throw constructError(scope, `${name} must not be empty: ${hint}`);
}
