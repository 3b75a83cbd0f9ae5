import * as fs from 'fs';
import * as path from 'path';
import type { IStackSynthesizer, TerraformStack } from 'cdktf';
import { IConstruct } from 'constructs';
import { isStack, terraformLib } from './terraform-lib';

/** Marks a synthesizer this module wrapped. */
const STAGED = Symbol.for('cdktf-stateful-firewall.StagedSynthesizer');

/** Per synth session: the staging directory and the stacks synthesized into it so far. */
interface Staging {
  readonly dir: string;
  readonly done: Set<TerraformStack>;
}
const STAGINGS = new WeakMap<object, Staging>();

/**
 * Makes a synth of the whole app all-or-nothing: every stack is synthesized into a staging
 * directory next to the output, and only when the last stack has succeeded are the files
 * moved into the output. cdktf writes each stack's `cdk.tf.json` (and this library each
 * host's rulesets) as soon as that stack passes, so without this a validation error or a
 * throwing aspect in a later stack would leave the earlier stacks rewritten and the rest
 * not. Files are moved over existing ones, never deleted, so Terraform's state and `.terraform` in the
 * stacks' working directories stay.
 *
 * Called for every new host: wraps the synthesizer of every stack of its app (stacks
 * added later are wrapped when the first wrapped stack synthesizes).
 */
export function stageSynthesis(scope: IConstruct): void {
  // once per app: walking the whole tree for every host would be quadratic in fleet size
  const root = scope.node.root;
  if (STAGED_APPS.has(root)) return;
  STAGED_APPS.add(root);
  for (const stack of stacksOf(root)) wrap(stack);
}

/** Apps whose stacks were wrapped (later stacks are wrapped when the first one synthesizes). */
const STAGED_APPS = new WeakSet<IConstruct>();

function stacksOf(root: IConstruct): TerraformStack[] {
  return root.node.findAll().filter((c): c is TerraformStack => isStack(c));
}

function wrap(stack: TerraformStack): void {
  const inner = stack.synthesizer;
  if (!inner || (inner as any)[STAGED]) return;
  const staged: IStackSynthesizer = { synthesize: (session) => synthesizeStaged(stack, inner, session) };
  Object.defineProperty(staged, STAGED, { value: true, enumerable: false });
  stack.synthesizer = staged;
}

function synthesizeStaged(stack: TerraformStack, inner: IStackSynthesizer, session: any): void {
  const root = stack.node.root;
  // only the app's own synth is staged (Testing.fullSynth of one stack writes directly)
  if (!(root instanceof terraformLib(root).App) || session.manifest !== root.manifest) {
    inner.synthesize(session);
    return;
  }
  const stacks = stacksOf(root);
  stacks.forEach(wrap);
  let staging = STAGINGS.get(session);
  if (!staging) {
    fs.mkdirSync(session.outdir, { recursive: true });
    staging = { dir: fs.mkdtempSync(path.join(session.outdir, '.staging-')), done: new Set() };
    STAGINGS.set(session, staging);
  }
  const workdir = session.manifest.forStack(stack).workingDirectory as string;
  fs.mkdirSync(path.dirname(path.join(staging.dir, workdir)), { recursive: true });
  try {
    inner.synthesize({ ...session, outdir: staging.dir });
  } catch (e) {
    fs.rmSync(staging.dir, { recursive: true, force: true });
    STAGINGS.delete(session);
    throw e;
  }
  staging.done.add(stack);
  if (stacks.filter((s) => (s.synthesizer as any)[STAGED]).every((s) => staging!.done.has(s))) {
    moveInto(staging.dir, session.outdir);
    fs.rmSync(staging.dir, { recursive: true, force: true });
    STAGINGS.delete(session);
  }
}

/**
 * Moves the files under `from` to the same places under `to`, replacing files that are
 * there and keeping the others (the staging folder is inside the output, on the same file
 * system: a rename per file, or per folder the output does not have yet, not a copy).
 */
function moveInto(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory() && fs.existsSync(target)) {
      moveInto(source, target);
    } else {
      fs.renameSync(source, target);
    }
  }
}

