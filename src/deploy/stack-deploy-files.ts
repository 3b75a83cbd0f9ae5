import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { applyScript } from './apply-script';
import { applyStepTemplate, SCRIPT_TERMINATOR, teardownStepTemplate } from './remote-steps';
import { onSynthesize } from '../synth/synth-session';
import { stackOf } from '../synth/terraform-lib';

/** The folder, relative to the stack's working directory, with the deploy files. */
export const DEPLOY_DIR = 'firewall/_deploy';

const FILES = new WeakMap<TerraformStack, StackDeployFiles>();

/**
 * The files every host deployment of a stack shares, written once per stack into
 * `firewall/_deploy/` of the stack's output: the apply script and the two step
 * templates. Hosts' bundles go into `firewall/_deploy/hosts/`. Terraform reads them with
 * `templatefile()` and `file()` when it runs the provisioners, so cdk.tf.json holds only
 * their paths, not their text (the apply script alone is 56 KB).
 */
export class StackDeployFiles extends Construct {
  /** The stack's deploy files, created on first use. */
  public static of(scope: Construct): StackDeployFiles {
    const stack = stackOf(scope);
    let files = FILES.get(stack);
    if (!files) {
      files = new StackDeployFiles(stack, 'stateful-firewall-deploy-files');
      FILES.set(stack, files);
    }
    return files;
  }

  /** Path expression of the apply script (for `templatefile` variables). */
  public readonly scriptPath = `\${path.module}/${DEPLOY_DIR}/sfw-apply.sh`;
  /** Path expression of the apply step's template. */
  public readonly applyTemplatePath = `\${path.module}/${DEPLOY_DIR}/apply.sh.tftpl`;
  /** Path expression of the drift check's step template (`apply --if-drifted`, see `requireDriftCheck`). */
  public readonly driftTemplatePath = `\${path.module}/${DEPLOY_DIR}/drift-check.sh.tftpl`;

  /** Path expression of the drift check's template for hosts with late-bound sets (it reads the `late` variable too). */
  public readonly driftLateTemplatePath = `\${path.module}/${DEPLOY_DIR}/drift-check-late.sh.tftpl`;
  /** Path expression of the destroy step's template. */
  public readonly teardownTemplatePath = `\${path.module}/${DEPLOY_DIR}/teardown.sh.tftpl`;

  /** Path expression of the apply step's template for hosts with late-bound sets (it reads the `late` variable too). */
  public readonly applyLateTemplatePath = `\${path.module}/${DEPLOY_DIR}/apply-late.sh.tftpl`;

  private needsTerraformData = false;
  /** Per host deployment: whether it has late-bound sets (asked at synth, when the rulesets are final). */
  private readonly lateUsers: (() => boolean)[] = [];
  private needsDriftCheck = false;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const script = applyScript();
    if (script.split('\n').includes(SCRIPT_TERMINATOR)) {
      throw new Error(`the apply script contains the line ${SCRIPT_TERMINATOR}, which ends its here-document in the apply step`);
    }
    onSynthesize(this, (_session, stackDir) => {
      const dir = path.join(stackDir, DEPLOY_DIR);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'sfw-apply.sh'), script);
      fs.writeFileSync(path.join(dir, 'apply.sh.tftpl'), applyStepTemplate());
      fs.writeFileSync(path.join(dir, 'teardown.sh.tftpl'), teardownStepTemplate(REMOTE_STATE_DIR));
      // only stacks with hosts whose rules wait for addresses known at apply time
      const late = this.lateUsers.some((uses) => uses());
      if (late) fs.writeFileSync(path.join(dir, 'apply-late.sh.tftpl'), applyStepTemplate(true));
      // only stacks with a host that re-applies on drift
      if (this.needsDriftCheck) fs.writeFileSync(path.join(dir, 'drift-check.sh.tftpl'), applyStepTemplate(false, '--if-drifted'));
      if (this.needsDriftCheck && late) fs.writeFileSync(path.join(dir, 'drift-check-late.sh.tftpl'), applyStepTemplate(true, '--if-drifted'));
    });
  }

  /** Registers a deployment that may need the late-bound apply template (asked at synth). */
  public addLateUser(uses: () => boolean): void {
    this.lateUsers.push(uses);
  }

  /** Path expression of a host's bundle, by a unique key (the deployment's node address). */
  public bundlePath(key: string): string {
    return `\${path.module}/${DEPLOY_DIR}/hosts/${key}.sh`;
  }

  /** Writes a host's bundle into the stack's output. */
  public writeBundle(stackDir: string, key: string, text: string): void {
    const dir = path.join(stackDir, DEPLOY_DIR, 'hosts');
    const file = path.join(dir, `${key}.sh`);
    try {
      fs.writeFileSync(file, text);
    } catch (e) {
      // the first bundle of the stack creates the folder (not every host: fleets have thousands)
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(file, text);
    }
  }

  /** A host of the stack re-applies on drift: the drift check's template is written too. */
  public requireDriftCheck(): void {
    this.needsDriftCheck = true;
  }

  /**
   * terraform_data needs Terraform 1.4: checked once per stack (cdktf's own
   * `DataResource` runs `terraform version` once per resource, which made synthesizing a
   * fleet about 10 times slower).
   */
  public requireTerraformData(): void {
    if (this.needsTerraformData) return;
    this.needsTerraformData = true;
    this.node.addValidation({ validate: () => terraformDataSupported() });
  }
}

/** Where the library keeps its files on a host. */
export const REMOTE_STATE_DIR = '/var/lib/stateful-firewall';

/** Problems with the local Terraform for terraform_data (which needs 1.4 or later). */
function terraformDataSupported(): string[] {
  const binary = process.env.TERRAFORM_BINARY_NAME ?? 'terraform';
  let out: string;
  try {
    out = execFileSync(binary, ['version'], { stdio: 'pipe', encoding: 'utf8' });
  } catch (e) {
    return [`ProvisioningResource.TERRAFORM_DATA needs Terraform 1.4 or later, and '${binary} version' failed: ${(e as Error).message.split('\n')[0]}`];
  }
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m) return [`ProvisioningResource.TERRAFORM_DATA needs Terraform 1.4 or later, and '${binary} version' printed no version`];
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major > 1 || (major === 1 && minor >= 4)) return [];
  return [`ProvisioningResource.TERRAFORM_DATA needs Terraform 1.4 or later (found ${m[0]}): upgrade Terraform, or use ProvisioningResource.NULL_RESOURCE`];
}
