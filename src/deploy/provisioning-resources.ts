import type {
  FileProvisioner, RemoteExecProvisioner, SSHProvisionerConnection, TerraformProvider, TerraformResource,
} from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { lazyString } from '../synth/lazy-token';
import { TerraformLib, terraformLib } from '../synth/terraform-lib';

/** The configuration of a provisioning resource. */
export interface ProvisioningResourceConfig {
  readonly triggers: { [key: string]: string };
  readonly connection: SSHProvisionerConnection;
  readonly provisioners: (FileProvisioner | RemoteExecProvisioner)[];
  readonly dependsOn?: TerraformResource[];
}

/**
 * `depends_on` entries for resources of the same stack: the text cdktf's `dependsOn`
 * resolves to (`<type>.<logical id>`, read at synth so an overridden logical id counts),
 * without the two stack-traced tokens cdktf creates for each dependency (a fleet has
 * thousands; capturing the traces cost more than the rest of the resource).
 */
function dependencies(scope: IConstruct, on: readonly TerraformResource[] | undefined): string[] | undefined {
  return on?.map((r) => lazyString(scope, () => `${r.terraformResourceType}.${r.friendlyUniqueId}`));
}

type ResourceClass = new (scope: Construct, id: string, config: ProvisioningResourceConfig) => TerraformResource;
type ProviderClass = new (scope: Construct, id: string) => TerraformProvider;

interface Classes {
  readonly terraformData: ResourceClass;
  readonly nullResource: ResourceClass;
  readonly nullProvider: ProviderClass;
}

const CLASSES = new WeakMap<TerraformLib, Classes>();

/**
 * The hashicorp/null provider as `@cdktf/provider-null` 11 declares it (same Terraform
 * JSON), written here so it extends the app's own CDK: cdktn has no `@cdktn/provider-null`,
 * and `@cdktf/provider-null`'s classes extend cdktf's, which a cdktn stack cannot
 * synthesize.
 */
const NULL_PROVIDER = { providerName: 'null', providerVersion: '3.2.4', providerVersionConstraint: '~> 3.0' };

/** The resource classes for the CDK that `scope`'s app runs on (made once per CDK module). */
function classesFor(scope: IConstruct): Classes {
  const lib = terraformLib(scope);
  let classes = CLASSES.get(lib);
  if (classes) return classes;

  const triggersHcl = (value: { [key: string]: string }) => ({
    value: lib.hashMapperHcl(lib.stringToHclTerraform)(value), isBlock: false, type: 'map', storageClassType: 'stringMap',
  });

  /**
   * A `terraform_data` resource, declared without cdktf's `DataResource`, which checks the
   * Terraform version by running `terraform version` once per resource (about 10 times
   * the synth time of a fleet); the stack's deploy files check it once per stack.
   */
  class TerraformDataResource extends lib.TerraformResource {
    private readonly triggersReplace: { [key: string]: string };
    public constructor(s: Construct, id: string, config: ProvisioningResourceConfig) {
      super(s, id, {
        terraformResourceType: 'terraform_data',
        terraformGeneratorMetadata: { providerName: 'terraform' },
        connection: config.connection,
        provisioners: config.provisioners,
      });
      this.dependsOn = dependencies(this, config.dependsOn);
      this.triggersReplace = config.triggers;
    }
    protected synthesizeAttributes(): { [name: string]: any } {
      return { triggers_replace: lib.hashMapper(lib.stringToTerraform)(this.triggersReplace) };
    }
    protected synthesizeHclAttributes(): { [name: string]: any } {
      return { triggers_replace: triggersHcl(this.triggersReplace) };
    }
  }

  /** `null_resource` of the hashicorp/null provider. */
  class NullResource extends lib.TerraformResource {
    private readonly triggers: { [key: string]: string };
    public constructor(s: Construct, id: string, config: ProvisioningResourceConfig) {
      super(s, id, {
        terraformResourceType: 'null_resource',
        terraformGeneratorMetadata: NULL_PROVIDER,
        connection: config.connection,
        provisioners: config.provisioners,
      });
      this.dependsOn = dependencies(this, config.dependsOn);
      this.triggers = config.triggers;
    }
    protected synthesizeAttributes(): { [name: string]: any } {
      return { triggers: lib.hashMapper(lib.stringToTerraform)(this.triggers) };
    }
    protected synthesizeHclAttributes(): { [name: string]: any } {
      return { triggers: triggersHcl(this.triggers) };
    }
  }

  /** The hashicorp/null provider (no attributes). */
  class NullProvider extends lib.TerraformProvider {
    public constructor(s: Construct, id: string) {
      super(s, id, { terraformResourceType: 'null', terraformGeneratorMetadata: NULL_PROVIDER, terraformProviderSource: 'null' });
    }
    protected synthesizeAttributes(): { [name: string]: any } {
      return { alias: lib.stringToTerraform(undefined) };
    }
    protected synthesizeHclAttributes(): { [name: string]: any } {
      return {};
    }
  }

  classes = { terraformData: TerraformDataResource, nullResource: NullResource, nullProvider: NullProvider };
  CLASSES.set(lib, classes);
  return classes;
}

/** A `terraform_data` resource (Terraform's built-in; no provider). */
export function newTerraformData(scope: Construct, id: string, config: ProvisioningResourceConfig): TerraformResource {
  return new (classesFor(scope).terraformData)(scope, id, config);
}

/** A `null_resource` (hashicorp/null). */
export function newNullResource(scope: Construct, id: string, config: ProvisioningResourceConfig): TerraformResource {
  return new (classesFor(scope).nullResource)(scope, id, config);
}

/**
 * The stack's hashicorp/null provider: one the app declared (e.g. `@cdktf/provider-null`'s
 * `NullProvider`, without an alias), else one declared here.
 */
export function nullProviderOf(stack: Construct): TerraformProvider {
  const lib = terraformLib(stack);
  const declared = stack.node.findAll().find((c): c is TerraformProvider => lib.TerraformProvider.isTerraformProvider(c)
    && c.terraformResourceType === 'null' && (c as TerraformProvider).alias === undefined);
  return declared ?? new (classesFor(stack).nullProvider)(stack, 'stateful-firewall-null-provider');
}
