import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import { DataResource, FileProvisioner, Lazy, RemoteExecProvisioner, SSHProvisionerConnection, TerraformResource, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { applyScript, sha256 } from './apply-script';
import { DeploymentOptions, ProvisioningResource, TableOwnership } from './deployment-options';
import { escapeTerraformTemplate } from './terraform-escape';
import { Backend } from '../engine/compiler/backend';

/** Where the library keeps its files on a host. */
export const REMOTE_STATE_DIR = '/var/lib/stateful-firewall';
const REMOTE_PENDING_DIR = `${REMOTE_STATE_DIR}/pending`;
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
}

/** Properties of a `HostDeployment`. */
export interface HostDeploymentProps extends DeploymentOptions {
  /** The host to deploy. */
  readonly host: IDeployableHost;
}

/**
 * The provisioning resource of one host: uploads the rendered rulesets and the apply
 * script, applies with an armed rollback, confirms from a fresh SSH connection, and
 * removes what it installed on destroy.
 */
export class HostDeployment extends Construct {
  /** The Terraform resource (null_resource or terraform_data). */
  public readonly resource: TerraformResource;

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
    // the confirm step must outlive a rollback: Terraform retries the connection until
    // this timeout, and only a connection after the rollback can report it
    const confirmConnection: SSHProvisionerConnection = { ...connection, timeout: `${timeout + 60}s` };

    const script = applyScript();
    const fileNames = props.host.backend === Backend.NFTABLES ? ['ruleset.nft'] : ['rules.v4', 'rules.v6'];
    const content = (name: string) => Lazy.stringValue({ produce: () => escapeTerraformTemplate(props.host.renderedFiles[name]) });
    const sudo = (connection.user === 'root' ? '' : 'sudo ');
    const common = `--state-dir ${REMOTE_STATE_DIR} --backend ${props.host.backend} --mode ${ownership}`;
    const run = (command: string, extra = '') => escapeTerraformTemplate(`${sudo}sh ${REMOTE_SCRIPT} ${command} ${common}${extra}`);

    const provisioners: (FileProvisioner | RemoteExecProvisioner)[] = [
      { type: 'remote-exec', inline: [`${sudo}mkdir -p -m 700 ${REMOTE_PENDING_DIR}`, `${sudo}chown "$(id -u)" ${REMOTE_STATE_DIR} ${REMOTE_PENDING_DIR}`] },
      { type: 'file', destination: REMOTE_SCRIPT, content: escapeTerraformTemplate(script) },
      ...fileNames.map((name): FileProvisioner => ({ type: 'file', destination: `${REMOTE_PENDING_DIR}/${name}`, content: content(name) })),
      { type: 'remote-exec', inline: [run('apply', ` --dir ${REMOTE_PENDING_DIR} --rollback-timeout ${timeout}`)] },
      { type: 'remote-exec', inline: [run('confirm')], connection: confirmConnection },
      // destroy: upload the script again (the host may have been rebuilt), then remove what the library installed
      { type: 'file', destination: `/tmp/sfw-apply-destroy.sh`, content: escapeTerraformTemplate(script), when: 'destroy' } as FileProvisioner,
      { type: 'remote-exec', inline: [escapeTerraformTemplate(`${sudo}sh /tmp/sfw-apply-destroy.sh destroy ${common}`)], when: 'destroy' } as RemoteExecProvisioner,
    ];

    const triggers = {
      host: props.host.address,
      backend: props.host.backend,
      ownership,
      rollback_timeout: String(timeout),
      script_sha256: sha256(script),
      ruleset_sha256: Lazy.stringValue({ produce: () => sha256(fileNames.map((n) => `${n}\n${props.host.renderedFiles[n]}`).join('\n')) }),
    };

    if (kind === ProvisioningResource.TERRAFORM_DATA) {
      this.resource = new DataResource(this, 'Apply', { triggersReplace: triggers, connection, provisioners });
    } else {
      HostDeployment.nullProvider(this);
      this.resource = new NullResource(this, 'Apply', { triggers, connection, provisioners });
    }
  }

  /** The stack's null provider, declared once. */
  private static nullProvider(scope: Construct): NullProvider {
    const stack = TerraformStack.of(scope);
    const existing = stack.node.findAll().find((c): c is NullProvider => c instanceof NullProvider);
    return existing ?? new NullProvider(stack, 'stateful-firewall-null-provider');
  }
}
