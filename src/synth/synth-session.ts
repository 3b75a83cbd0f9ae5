import type { TerraformStack } from 'cdktf';
import { IConstruct } from 'constructs';
import { stackOf } from './terraform-lib';

/** What cdktf passes to `onSynthesize`. */
export interface SynthSession {
  readonly outdir: string;
  readonly manifest: any;
}

/** cdktf calls `onSynthesize` of constructs registered under this symbol after validation. */
const CUSTOM_SYNTHESIS = Symbol.for('cdktf/customSynthesis');

/** Per synth session: whether a stack carries error annotations (then nothing is written for it). */
const FAILING_STACKS = new WeakMap<object, Map<TerraformStack, boolean>>();

/**
 * Registers `write` to run when cdktf synthesizes the construct's stack (after
 * validation), unless the stack carries errors: a synth that is going to fail leaves no
 * artifacts behind.
 */
export function onSynthesize(construct: IConstruct, write: (session: SynthSession, stackDir: string) => void): void {
  Object.defineProperty(construct, CUSTOM_SYNTHESIS, {
    value: {
      onSynthesize: (session: SynthSession) => {
        const stack = stackOf(construct);
        if (stackIsFailing(session, stack)) return;
        write(session, `${session.outdir}/${session.manifest.forStack(stack).workingDirectory}`);
      },
    },
    enumerable: false,
  });
}

/** Whether a stack carries error annotations (scanned once per synth and stack). */
export function stackIsFailing(session: object, stack: TerraformStack): boolean {
  let failing = FAILING_STACKS.get(session)?.get(stack);
  if (failing === undefined) {
    failing = stack.node.findAll().some((c) => c.node.metadata.some((m) => m.type === '@cdktf/error'));
    const perStack = FAILING_STACKS.get(session) ?? new Map<TerraformStack, boolean>();
    perStack.set(stack, failing);
    FAILING_STACKS.set(session, perStack);
  }
  return failing;
}
