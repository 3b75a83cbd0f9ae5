import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import {
  DataResource, FileProvisioner, Lazy, RemoteExecProvisioner, SSHProvisionerConnection, TerraformResource, TerraformSelf, TerraformStack,
} from 'cdktf';
import { Construct } from 'constructs';
import { applyScript, sha256 } from './apply-script';
import { DeploymentOptions, ProvisioningResource, TableOwnership } from './deployment-options';
import { ID_PLACEHOLDER, prepareStep, PREPARE_SCRIPT_PATH, PRIVATE_DIR, scriptStep, STEP_SCRIPT_PATH } from './remote-steps';
import { escapeTerraformTemplate } from './terraform-escape';
import { Backend } from '../engine/compiler/backend';
import { ConntrackSizing } from '../engine/conntrack-sizing';
import { IPSET_FILE } from '../engine/render/ipset';

const NULL_PROVIDERS = new WeakMap<TerraformStack, NullProvider>();

/** Where the library keeps its files on a host. */
export const REMOTE_STATE_DIR = '/var/lib/stateful-firewall';
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
    const script = applyScript();
    // sets.ipset is always uploaded for iptables, empty when the ruleset uses no sets: the
    // apply script treats an empty file as "no sets" (and prunes the library's old ones)
    const fileNames = props.host.backend === Backend.NFTABLES ? ['ruleset.nft'] : ['rules.v4', 'rules.v6', IPSET_FILE];
    const rendered = (name: string) => props.host.renderedFiles[name] ?? '';
    const sizing = () => {
      const z = props.host.kernelConntrackSizing;
      return z ? ` --conntrack-max ${z.maxEntries} --conntrack-buckets ${z.hashBuckets}` : '';
    };
    // cdktf resolves every value once before the Aspects run (a "preparing" pass whose results
    // it discards): the ruleset is compiled only in the real pass, after validation froze it
    const content = (name: string) => Lazy.stringValue({ produce: (context) => (context.preparing ? '' : escapeTerraformTemplate(rendered(name))) });
    // the apply script checks each uploaded file against these digests: a file replaced
    // between upload and apply (another deploy, another user) fails the deploy
    const digests = () => fileNames.map((n) => ` --sha256 ${n}=${sha256(rendered(n))}`).join('');
    const sudo = connection.user !== 'root';
    const common = `--state-dir ${REMOTE_STATE_DIR} --backend ${props.host.backend} --mode ${ownership}`;

    // Every step runs from the SSH user's home directory, never from /tmp (see
    // remote-steps.ts): the first from a file in the home directory itself, the others
    // from the private ~/.stateful-firewall, where each apply uploads into a directory of
    // its own, named by the resource's id, which is also the apply id `confirm` checks.
    const selfId = TerraformSelf.getString('id');
    const withId = (text: string) => {
      const parts = escapeTerraformTemplate(text).split(ID_PLACEHOLDER);
      return parts.join(selfId);
    };
    const firstStep: SSHProvisionerConnection = { ...connection, scriptPath: PREPARE_SCRIPT_PATH };
    const laterStep: SSHProvisionerConnection = { ...connection, scriptPath: STEP_SCRIPT_PATH };
    // destroy-time provisioners may only reference `self`: the address comes from the
    // teardown's own triggers (the address it was created for, not the configuration's)
    const data = kind === ProvisioningResource.TERRAFORM_DATA;
    const teardownConnection: SSHProvisionerConnection = {
      ...connection,
      host: TerraformSelf.getString(data ? 'triggers_replace.host' : 'triggers.host'),
    };
    const teardownFirst: SSHProvisionerConnection = { ...teardownConnection, scriptPath: PREPARE_SCRIPT_PATH };
    const teardownLater: SSHProvisionerConnection = { ...teardownConnection, scriptPath: STEP_SCRIPT_PATH };
    const uploadDir = `${PRIVATE_DIR}/${ID_PLACEHOLDER}`;
    const remoteScript = `${uploadDir}/sfw-apply.sh`;
    // the confirm step must outlive a rollback: Terraform retries the connection until
    // this timeout, and only a connection after the rollback can report it
    const confirmConnection: SSHProvisionerConnection = { ...laterStep, timeout: `${timeout + 60}s` };

    // one inline element per step: Terraform runs the lines of a step as one script, and
    // each step's script sets its own error handling
    const provisioners: (FileProvisioner | RemoteExecProvisioner)[] = [
      { type: 'remote-exec', inline: [withId(prepareStep(ID_PLACEHOLDER))], connection: firstStep },
      { type: 'file', destination: withId(`${uploadDir}/sfw-apply.sh`), content: escapeTerraformTemplate(script), connection: laterStep },
      ...fileNames.map((name): FileProvisioner => ({ type: 'file', destination: withId(`${uploadDir}/${name}`), content: content(name), connection: laterStep })),
      {
        type: 'remote-exec',
        connection: laterStep,
        inline: [Lazy.stringValue({
          produce: (context) => (context.preparing ? '' : withId(scriptStep(sudo, remoteScript,
            `apply ${common} --dir "$HOME_DIR"/${uploadDir} --apply-id ${ID_PLACEHOLDER} --rollback-timeout ${timeout}${digests()}${sizing()}`, uploadDir))),
        })],
      },
      {
        type: 'remote-exec',
        connection: confirmConnection,
        inline: [withId(scriptStep(sudo, REMOTE_SCRIPT, `confirm ${common} --apply-id ${ID_PLACEHOLDER}`))],
      },
    ];
    // destroy: upload the script again into the private directory (the host may have been
    // rebuilt), then remove what the library installed
    const destroyDir = `${PRIVATE_DIR}/destroy-${ID_PLACEHOLDER}`;
    const teardownProvisioners: (FileProvisioner | RemoteExecProvisioner)[] = [
      { type: 'remote-exec', inline: [withId(prepareStep(`destroy-${ID_PLACEHOLDER}`))], connection: teardownFirst, when: 'destroy' } as RemoteExecProvisioner,
      { type: 'file', destination: withId(`${destroyDir}/sfw-apply.sh`), content: escapeTerraformTemplate(script), connection: teardownLater, when: 'destroy' } as FileProvisioner,
      {
        type: 'remote-exec',
        inline: [withId(scriptStep(sudo, `${destroyDir}/sfw-apply.sh`, `destroy ${common}`, destroyDir))],
        connection: teardownLater,
        when: 'destroy',
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
      script_sha256: sha256(script),
      // empty files stay out of the hash, so hosts without sets keep the hash they had before sets.ipset existed
      // the conntrack sizing is hashed with the files (hosts without one keep their hash)
      ruleset_sha256: Lazy.stringValue({ produce: (context) => (context.preparing ? '' : sha256(fileNames.filter((n) => rendered(n) !== '').map((n) => `${n}\n${rendered(n)}`).join('\n') + sizing())) }),
    };

    if (data) {
      this.resource = new DataResource(this, 'Apply', { triggersReplace: triggers, connection, provisioners });
      this.teardown = new DataResource(this, 'Teardown', {
        triggersReplace: identity,
        connection: teardownConnection,
        provisioners: teardownProvisioners,
        dependsOn: [this.resource],
      });
    } else {
      HostDeployment.nullProvider(this);
      this.resource = new NullResource(this, 'Apply', { triggers, connection, provisioners });
      this.teardown = new NullResource(this, 'Teardown', {
        triggers: identity,
        connection: teardownConnection,
        provisioners: teardownProvisioners,
        dependsOn: [this.resource],
      });
    }
  }
}
