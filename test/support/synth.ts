/** What tests read of a synth: the warnings constructs carry, and the errors a synth fails with. */
import { App } from 'cdktf';
import { IConstruct } from 'constructs';

/** The warnings (Annotations) on one construct. */
export function warnings(construct: IConstruct): string[] {
  return construct.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => m.data as string);
}

/** Every warning in a tree, as `path: message`. */
export function allWarnings(scope: IConstruct): string[] {
  return scope.node.findAll().flatMap((c) => warnings(c).map((w) => `${c.node.path}: ${w}`));
}

/** Synthesizes; the error message, or undefined when the synth succeeds. */
export function synthError(app: App): string | undefined {
  try {
    app.synth();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The error lines of a synth (`[path] message`), or [] when it succeeds. */
export function synthErrors(app: App): string[] {
  return (synthError(app) ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('['));
}
