/**
 * A stack's outputs as Terraform evaluates them: the synthesized JSON is applied with the
 * real `terraform` (outputs and `terraform_data` need no provider download), so escaping
 * and interpolation are Terraform's, not the test's guess.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';

function terraform(dir: string, args: string[]): string {
  const r = spawnSync('terraform', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' } });
  if (r.status !== 0) throw new Error(`terraform ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Synthesizes the stack (with validations), applies it in a temp dir, returns its outputs' values. */
export function terraformOutputs(stack: TerraformStack): Record<string, unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-tf-outputs-'));
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), Testing.synth(stack, true));
  terraform(dir, ['init', '-input=false', '-no-color']);
  terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color']);
  const outputs = JSON.parse(terraform(dir, ['output', '-json'])) as Record<string, { value: unknown }>;
  fs.rmSync(dir, { recursive: true, force: true });
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
}
