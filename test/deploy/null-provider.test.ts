// The library declares hashicorp/null itself (src/deploy/provisioning-resources.ts); an app
// that declares it with @cdktf/provider-null keeps its own. (cdktf only: the cdktn run has
// no @cdktf packages.)
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import { TerraformStack, Testing } from 'cdktf';
import { Peer, StatefulHost } from '../../src';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf';

function host(stack: TerraformStack, id: string, address: string) {
  const h = new StatefulHost(stack, id, { address, deployment: { connection: { hostKey: HOST_KEY } } });
  h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
  return h;
}

describe('the null provider', () => {
  test('the library\'s provider and null_resource synthesize as @cdktf/provider-null 11 declares them', () => {
    const ours = new TerraformStack(Testing.app(), 'ours');
    host(ours, 'web', '203.0.113.10');
    const theirs = new TerraformStack(Testing.app(), 'theirs');
    new NullProvider(theirs, 'stateful-firewall-null-provider');
    new NullResource(theirs, 'r', { triggers: { a: 'b' } });
    const a = JSON.parse(Testing.synth(ours));
    const b = JSON.parse(Testing.synth(theirs));
    expect(a.provider).toEqual(b.provider);
    expect(a.terraform.required_providers).toEqual(b.terraform.required_providers);
    expect(Object.keys(a.resource)).toEqual(['null_resource']);
  });

  test('one provider per stack, however many hosts; an app\'s own NullProvider is used, not doubled', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    new NullProvider(stack, 'mine');
    host(stack, 'web', '203.0.113.10');
    host(stack, 'db', '203.0.113.11');
    const json = JSON.parse(Testing.synth(stack));
    expect(json.provider.null).toHaveLength(1);
    expect(Object.keys(json.resource.null_resource)).toHaveLength(4);
    expect(stack.node.tryFindChild('stateful-firewall-null-provider')).toBeUndefined();
  });

  test('an aliased NullProvider is not the default one: the library declares the default', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    new NullProvider(stack, 'aliased', { alias: 'other' });
    host(stack, 'web', '203.0.113.10');
    const json = JSON.parse(Testing.synth(stack));
    expect(json.provider.null).toHaveLength(2);
    expect(json.provider.null.filter((p: { alias?: string }) => p.alias === undefined)).toHaveLength(1);
  });
});
