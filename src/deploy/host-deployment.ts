import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import {
  FileProvisioner, Fn, hashMapper, hashMapperHcl, ITerraformDependable, Lazy, RemoteExecProvisioner, SSHProvisionerConnection, stringToHclTerraform,
  stringToTerraform, TerraformResource, TerraformSelf, TerraformStack,
} from 'cdktf';
import { Construct } from 'constructs';
import { applyScriptSha256, sha256 } from './apply-script';
import { DeploymentOptions, ProvisioningResource, TableOwnership } from './deployment-options';
import { FIRST_SCRIPT_PATH, hostBundle, scriptStep, STEP_SCRIPT_PATH } from './remote-steps';
import { REMOTE_STATE_DIR, StackDeployFiles } from './stack-deploy-files';
import { Backend } from '../core/backends/backend';
import { IPSET_FILE } from '../core/backends/iptables/ipset';
import { ConntrackSizing } from '../core/policy/conntrack-sizing';
import { onSynthesize } from '../synth/synth-session';

const NULL_PROVIDERS = new WeakMap<TerraformStack, NullProvider>();

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
  private static nullProvider(scope: Construct): NullProvider {
    const stack = TerraformStack.of(scope);
    // searched once per stack, not once per host (fleets have hundreds)
    let provider = NULL_PROVIDERS.get(stack);
    if (!provider) {
      provider = stack.node.findAll().find((c): c is NullProvider => c instanceof NullProvider) ?? new NullProvider(stack, 'stateful-firewall-null-provider');
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
    // sets.ipset is always uploaded for iptables, empty when the ruleset uses no sets: the
    // apply script treats an empty file as "no sets" (and prunes the library's old ones)
    const fileNames = props.host.backend === Backend.NFTABLES ? ['ruleset.nft'] : ['rules.v4', 'rules.v6', IPSET_FILE];
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
    onSynthesize(this, (_session, stackDir) => {
      const texts: { [name: string]: string } = {};
      for (const name of fileNames) texts[name] = rendered(name);
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
    const teardownConnection: SSHProvisionerConnection = {
      ...connection,
      host: TerraformSelf.getString(data ? 'triggers_replace.host' : 'triggers.host'),
    };
    const teardownFirst: SSHProvisionerConnection = { ...teardownConnection, scriptPath: FIRST_SCRIPT_PATH };

    const provisioners: RemoteExecProvisioner[] = [
      {
        type: 'remote-exec',
        inline: [`\${templatefile("${files.applyTemplatePath}", { id = self.id, bundle = "${files.bundlePath(bundleKey)}", script = "${files.scriptPath}" })}`],
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
    const triggers = {
      ...identity,
      rollback_timeout: String(timeout),
      script_sha256: applyScriptSha256(),
      // empty files stay out of the hash, so hosts without sets keep the hash they had before sets.ipset existed
      // the conntrack sizing is hashed with the files (hosts without one keep their hash)
      ruleset_sha256: Lazy.stringValue({ produce: (context) => (context.preparing ? '' : sha256(fileNames.filter((n) => rendered(n) !== '').map((n) => `${n}\n${rendered(n)}`).join('\n') + sizing())) }),
    };

    // the drift check: the apply step with --if-drifted (nothing is applied while the host
    // is in sync, and its confirm then has nothing to do), after the apply resource
    const driftProvisioners: RemoteExecProvisioner[] = [
      {
        type: 'remote-exec',
        inline: [`\${templatefile("${files.driftTemplatePath}", { id = self.id, bundle = "${files.bundlePath(bundleKey)}", script = "${files.scriptPath}" })}`],
      },
      provisioners[1],
    ];
    if (props.reapplyOnDrift) files.requireDriftCheck();
    // replaced on every run: timestamp() is known only when Terraform applies
    const driftTrigger = { checked_at: Fn.timestamp() };

    if (data) {
      files.requireTerraformData();
      this.resource = new TerraformDataResource(this, 'Apply', { triggersReplace: triggers, connection: firstStep, provisioners });
      this.teardown = new TerraformDataResource(this, 'Teardown', {
        triggersReplace: identity,
        connection: teardownFirst,
        provisioners: teardownProvisioners,
        dependsOn: [this.resource],
      });
      if (props.reapplyOnDrift) {
        this.driftCheck = new TerraformDataResource(this, 'DriftCheck', {
          triggersReplace: driftTrigger, connection: firstStep, provisioners: driftProvisioners, dependsOn: [this.resource],
        });
      }
    } else {
      HostDeployment.nullProvider(this);
      this.resource = new NullResource(this, 'Apply', { triggers, connection: firstStep, provisioners });
      this.teardown = new NullResource(this, 'Teardown', {
        triggers: identity,
        connection: teardownFirst,
        provisioners: teardownProvisioners,
        dependsOn: [this.resource],
      });
      if (props.reapplyOnDrift) {
        this.driftCheck = new NullResource(this, 'DriftCheck', { triggers: driftTrigger, connection: firstStep, provisioners: driftProvisioners, dependsOn: [this.resource] });
      }
    }
  }
}

/**
 * A `terraform_data` resource, declared without cdktf's `DataResource`, which checks the
 * Terraform version by running `terraform version` once per resource (about 10 times
 * the synth time of a fleet); the stack's deploy files check it once per stack.
 */
class TerraformDataResource extends TerraformResource {
  private readonly triggersReplace: { [key: string]: string };

  public constructor(scope: Construct, id: string, config: {
    triggersReplace: { [key: string]: string };
    connection: SSHProvisionerConnection;
    provisioners: (FileProvisioner | RemoteExecProvisioner)[];
    dependsOn?: ITerraformDependable[];
  }) {
    super(scope, id, {
      terraformResourceType: 'terraform_data',
      terraformGeneratorMetadata: { providerName: 'terraform' },
      connection: config.connection,
      provisioners: config.provisioners,
      dependsOn: config.dependsOn,
    });
    this.triggersReplace = config.triggersReplace;
  }

  protected synthesizeAttributes(): { [name: string]: any } {
    return { triggers_replace: hashMapper(stringToTerraform)(this.triggersReplace) };
  }

  protected synthesizeHclAttributes(): { [name: string]: any } {
    return {
      triggers_replace: { value: hashMapperHcl(stringToHclTerraform)(this.triggersReplace), isBlock: false, type: 'map', storageClassType: 'stringMap' },
    };
  }
}
