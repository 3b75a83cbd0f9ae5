import type { RemoteExecProvisioner, SSHProvisionerConnection, TerraformProvider, TerraformResource, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { applyScriptSha256, sha256 } from './apply-script';
import { DeploymentOptions, ProvisioningResource, TableOwnership } from './deployment-options';
import { newNullResource, newTerraformData, nullProviderOf } from './provisioning-resources';
import { FIRST_SCRIPT_PATH, hostBundle, LATE_TRIGGER_PREFIX, scriptStep, STEP_SCRIPT_PATH } from './remote-steps';
import { REMOTE_STATE_DIR, StackDeployFiles } from './stack-deploy-files';
import { escapeTerraformTemplate } from './terraform-escape';
import { Backend } from '../core/backends/backend';
import { backendFor } from '../core/backends/registry';
import { SetDefinition } from '../core/ir/set-definition';
import { ConntrackSizing } from '../core/policy/conntrack-sizing';
import { lazyAny, lazyString } from '../synth/lazy-token';
import { onSynthesize } from '../synth/synth-session';
import { stackOf, terraformLib } from '../synth/terraform-lib';

const NULL_PROVIDERS = new WeakMap<TerraformStack, TerraformProvider>();

export { REMOTE_STATE_DIR } from './stack-deploy-files';
/** The script as `apply` installs it (root's copy, used by the rollback timer and `confirm`). */
const REMOTE_SCRIPT = `${REMOTE_STATE_DIR}/sfw-apply.sh`;

/**
 * A host whose rendered rulesets can be deployed (implemented by `StatefulHost`).
 */
export interface IDeployableHost {
  /** The address to connect to. */
  readonly address: string;
  /** The backend the rendered files are for. */
  readonly backend: Backend;
  /** The rendered files by file name, read at synth time. */
  readonly renderedFiles: { [name: string]: string };
  /**
   * The conntrack sizing to set on the host (raise-only), read at synth time.
   *
   * @default - the host's conntrack table is left as it is
   */
  readonly kernelConntrackSizing?: ConntrackSizing;
  /**
   * A short human summary of the ruleset, read at synth time: added to the provisioning
   * resource's triggers next to the ruleset's hash, so `terraform plan` and `cdktf diff`
   * show which openings a change alters (keys are stable per declaration).
   *
   * @default - the triggers carry only the ruleset's hash
   */
  readonly planSummary?: { [key: string]: string };

  /**
   * The ruleset's sets whose members Terraform knows only at apply time (token addresses),
   * read at synth time: their tokens become triggers (`addr_<label>`), so a changed address
   * re-provisions the host, and the apply step fills them in on the host.
   *
   * @default - none
   * @experimental the model's types may change in a minor release
   */
  readonly lateBoundSets?: SetDefinition[];
}

/** Properties of a `HostDeployment`. */
export interface HostDeploymentProps extends DeploymentOptions {
  /** The host to deploy. */
  readonly host: IDeployableHost;
}

/**
 * The provisioning resources of one host: `resource` uploads the rendered rulesets and the
 * apply script, applies with an armed rollback and confirms from a fresh SSH connection;
 * `teardown` removes what the library installed when the host's deployment is destroyed.
 *
 * They are two resources because Terraform runs destroy-time provisioners on every
 * replacement too: `resource` is replaced whenever the ruleset changes, and a destroy-time
 * provisioner there would remove the live firewall before each redeploy (the host would be
 * open until the new apply, and a redeploy that fails or rolls back would leave it with no
 * firewall at all). `teardown` is replaced only when the host's address, backend or
 * ownership changes, and its connection reads the address from its own state (`self`), so
 * it reaches the host the firewall was installed on.
 */
export class HostDeployment extends Construct {
  /** The stack's null provider, declared once. */
  private static nullProvider(scope: Construct): TerraformProvider {
    const stack = stackOf(scope);
    // searched once per stack, not once per host (fleets have hundreds)
    let provider = NULL_PROVIDERS.get(stack);
    if (!provider) {
      provider = nullProviderOf(stack);
      NULL_PROVIDERS.set(stack, provider);
    }
    return provider;
  }

  /** The Terraform resource that applies the ruleset (null_resource or terraform_data). */
  public readonly resource: TerraformResource;
  /** The Terraform resource whose destroy-time provisioners remove what the library installed. */
  public readonly teardown: TerraformResource;
  /**
   * The drift check (with `reapplyOnDrift`): replaced on every deploy, it re-applies the
   * ruleset only where the live one drifted from the last confirmed apply.
   */
  public readonly driftCheck?: TerraformResource;

  public constructor(scope: Construct, id: string, props: HostDeploymentProps) {
    super(scope, id);
    // cdktf or cdktn: whichever the app's stacks are built with
    const { Fn } = terraformLib(this);
    const kind = props.resource ?? ProvisioningResource.NULL_RESOURCE;
    const timeout = props.rollbackTimeoutSeconds ?? 60;
    if (!Number.isInteger(timeout) || timeout < 10 || timeout > 3600) {
      throw new Error(`${this.node.path}: rollbackTimeoutSeconds ${timeout} is out of range: use 10 to 3600 seconds`);
    }
    const ownership = props.ownership ?? TableOwnership.SHARED;
    const c = props.connection ?? {};
    const connection: SSHProvisionerConnection = {
      type: 'ssh',
      host: props.host.address,
      user: c.user ?? 'root',
      port: c.port,
      privateKey: c.privateKey,
      agent: c.privateKey === undefined ? 'true' : undefined,
      hostKey: c.hostKey,
      timeout: c.timeout ?? '2m',
      bastionHost: c.bastionHost,
      bastionUser: c.bastionUser,
      bastionPrivateKey: c.bastionPrivateKey,
      bastionHostKey: c.bastionHostKey,
      bastionPort: c.bastionPort,
    };
    const files = StackDeployFiles.of(this);
    // every file of the backend is uploaded, an unused one empty (the apply script reads an empty sets.ipset as "no sets")
    const fileNames = backendFor(props.host.backend).fileNames;
    const rendered = (name: string) => props.host.renderedFiles[name] ?? '';
    const sizing = () => {
      const z = props.host.kernelConntrackSizing;
      return z ? ` --conntrack-max ${z.maxEntries} --conntrack-buckets ${z.hashBuckets}` : '';
    };
    const sudo = connection.user !== 'root';
    const common = `--state-dir ${REMOTE_STATE_DIR} --backend ${props.host.backend} --mode ${ownership}`;

    // The host's bundle (its rendered files and the apply arguments, with each file's
    // sha256: the apply script refuses a file replaced between upload and apply) is
    // written into the stack's output at synth, under a name unique to this deployment.
    const bundleKey = this.node.addr;
    // addresses Terraform knows only at apply time: read once the rulesets are final
    let lateCache: LateBinding | undefined;
    const late = (): LateBinding => (lateCache ??= lateBinding(props.host.lateBoundSets ?? []));
    files.addLateUser(() => late().map !== '');
    onSynthesize(this, (_session, stackDir) => {
      const texts: { [name: string]: string } = {};
      for (const name of fileNames) texts[name] = rendered(name);
      if (late().map !== '') texts['late.map'] = late().map;
      files.writeBundle(stackDir, bundleKey, hostBundle(texts, sudo, `${common} --rollback-timeout ${timeout}${sizing()}`, sha256));
    });

    // Every step runs from a file in the SSH user's home directory, never from /tmp (see
    // remote-steps.ts). The apply step checks the home directory, writes the bundle's
    // files and the apply script into the private ~/.stateful-firewall/<apply id>, and
    // applies: one SSH connection. The confirm step must come from a new connection.
    // the resource's connection is the first step's; only the confirm step overrides it
    const firstStep: SSHProvisionerConnection = { ...connection, scriptPath: FIRST_SCRIPT_PATH };
    // the confirm step must outlive a rollback: Terraform retries the connection until
    // this timeout, and only a connection after the rollback can report it
    const confirmConnection: SSHProvisionerConnection = { ...connection, scriptPath: STEP_SCRIPT_PATH, timeout: `${timeout + 60}s` };
    // destroy-time provisioners may only reference `self`: the address comes from the
    // teardown's own triggers (the address it was created for, not the configuration's)
    const data = kind === ProvisioningResource.TERRAFORM_DATA;
    const own = data ? 'self.triggers_replace' : 'self.triggers';
    // and so does a pinned host key: a replaced machine presents another key, and the old
    // deployment's teardown still connects to the old machine, which has the old one
    const teardownConnection: SSHProvisionerConnection = {
      ...connection,
      // `self.…` written out: the same text TerraformSelf.getString resolves to, without a token
      host: `\${${own}.host}`,
      hostKey: c.hostKey === undefined ? undefined : `\${${own}.host_key}`,
    };
    const teardownFirst: SSHProvisionerConnection = { ...teardownConnection, scriptPath: FIRST_SCRIPT_PATH };

    const applyCall = `\${templatefile("${files.applyTemplatePath}", { id = self.id, bundle = "${files.bundlePath(bundleKey)}", script = "${files.scriptPath}" })}`;
    const applyLateCall = `\${templatefile("${files.applyLateTemplatePath}", { id = self.id, bundle = "${files.bundlePath(bundleKey)}", script = "${files.scriptPath}", late = ${own} })}`;
    const provisioners: RemoteExecProvisioner[] = [
      {
        type: 'remote-exec',
        // hosts whose rules wait for addresses known at apply time pass their triggers (the addr_* ones hold them)
        inline: [lazyString(this, (context) => (!context.preparing && late().map !== '' ? applyLateCall : applyCall))],
      },
      {
        type: 'remote-exec',
        connection: confirmConnection,
        inline: [scriptStep(sudo, REMOTE_SCRIPT, `confirm ${common} --apply-id \${self.id}`)],
      },
    ];
    // destroy: the apply script again (the host may have been rebuilt), then remove what
    // the library installed, as recorded in the teardown's own state
    const teardownProvisioners: RemoteExecProvisioner[] = [
      {
        type: 'remote-exec',
        when: 'destroy',
        inline: [`\${templatefile("${files.teardownTemplatePath}", { id = self.id, script = "${files.scriptPath}", sudo = "${sudo ? 'sudo -n ' : ''}", backend = ${own}.backend, mode = ${own}.ownership })}`],
      } as RemoteExecProvisioner,
    ];

    const identity = {
      host: props.host.address,
      backend: props.host.backend,
      ownership,
    };
    // the teardown is the deployment on one machine: its address and, when pinned, its host key
    const teardownIdentity = c.hostKey === undefined ? identity : { ...identity, host_key: c.hostKey };
    const fixed = {
      ...identity,
      rollback_timeout: String(timeout),
      script_sha256: applyScriptSha256(),
    };
    // empty files stay out of the hash, so hosts without sets keep the hash they had before sets.ipset existed
    // the conntrack sizing is hashed with the files (hosts without one keep their hash)
    const rulesetSha256 = () => sha256(fileNames.filter((n) => rendered(n) !== '').map((n) => `${n}\n${rendered(n)}`).join('\n') + sizing());
    // the readable summary next to the hash (its keys never collide with the fixed ones: each has a ':' or is 'more'),
    // read after validation like the rendered files
    // construct paths and descriptions are text: `${` and `%{` in keys or values are not Terraform's
    const summary = () => Object.fromEntries(Object.entries(props.host.planSummary ?? {})
      .map(([k, v]) => [escapeTerraformTemplate(k), escapeTerraformTemplate(v)]));
    const triggers = lazyAny(this, (context) => (context.preparing
      ? { ...fixed, ruleset_sha256: '' }
      // the late-bound addresses (Terraform expressions, e.g. `${aws_instance.app.private_ip}`), once the rulesets are final
      : { ...summary(), ...fixed, ruleset_sha256: rulesetSha256(), ...late().triggers })) as unknown as { [key: string]: string };

    // the drift check (with reapplyOnDrift): the apply step with --if-drifted (nothing is
    // applied while the host is in sync, and its confirm then has nothing to do), after the
    // apply resource; replaced on every run (timestamp() is known only when Terraform applies)
    const drift = () => ({
      triggers: { checked_at: Fn.timestamp() },
      connection: firstStep,
      provisioners: [
        {
          type: 'remote-exec',
          // hosts with late-bound sets read the addresses from the apply resource's triggers
          inline: [lazyString(this, (context) => (!context.preparing && late().map !== ''
            ? `\${templatefile("${files.driftLateTemplatePath}", { id = self.id, bundle = "${files.bundlePath(bundleKey)}", script = "${files.scriptPath}", late = ${this.resource.terraformResourceType}.${this.resource.friendlyUniqueId}.${data ? 'triggers_replace' : 'triggers'} })}`
            : `\${templatefile("${files.driftTemplatePath}", { id = self.id, bundle = "${files.bundlePath(bundleKey)}", script = "${files.scriptPath}" })}`))],
        },
        provisioners[1],
      ] as RemoteExecProvisioner[],
      dependsOn: [this.resource],
    });
    if (props.reapplyOnDrift) files.requireDriftCheck();

    if (data) {
      files.requireTerraformData();
      this.resource = newTerraformData(this, 'Apply', { triggers, connection: firstStep, provisioners });
      this.teardown = newTerraformData(this, 'Teardown', {
        triggers: teardownIdentity,
        connection: teardownFirst,
        provisioners: teardownProvisioners,
        dependsOn: [this.resource],
      });
      if (props.reapplyOnDrift) {
        this.driftCheck = newTerraformData(this, 'DriftCheck', drift());
      }
    } else {
      HostDeployment.nullProvider(this);
      this.resource = newNullResource(this, 'Apply', { triggers, connection: firstStep, provisioners });
      this.teardown = newNullResource(this, 'Teardown', {
        triggers: teardownIdentity,
        connection: teardownFirst,
        provisioners: teardownProvisioners,
        dependsOn: [this.resource],
      });
      if (props.reapplyOnDrift) {
        this.driftCheck = newNullResource(this, 'DriftCheck', drift());
      }
    }
  }
}

/** A host's late-bound addresses: trigger key to token, and the late.map file for the host. */
interface LateBinding {
  readonly triggers: { [key: string]: string };
  /** `KEY SET FAMILY NET ORIGIN` lines, empty when the host has no late-bound sets. */
  readonly map: string;
}

/**
 * The triggers (`addr_<label>`, one per distinct token) and the late.map lines (one per
 * member of each set) of a host's late-bound sets.
 */
function lateBinding(sets: readonly SetDefinition[]): LateBinding {
  const keyOf = new Map<string, string>();
  const triggers: { [key: string]: string } = {};
  const lines: string[] = [];
  for (const set of sets) {
    for (const m of set.lateMembers ?? []) {
      if (m.value === undefined) continue;
      let key = keyOf.get(m.value);
      if (key === undefined) {
        const base = `${LATE_TRIGGER_PREFIX}${m.label.replace(/[^A-Za-z0-9_-]/g, '_')}`;
        key = base;
        for (let n = 2; key in triggers; n++) key = `${base}_${n}`;
        keyOf.set(m.value, key);
        triggers[key] = m.value;
      }
      lines.push(`${key} ${set.name} ${set.family ?? 'ipv4'} ${m.net ? 1 : 0} ${m.origin.replace(/\s/g, '_')}`);
    }
  }
  return { triggers, map: lines.length > 0 ? `${lines.join('\n')}\n` : '' };
}
