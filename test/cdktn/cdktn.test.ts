// Runs only in the cdktn project (test/cdktn/jest.config.js), where 'cdktf' imports load
// the real cdktn 0.24 from test/cdktn/node_modules.
/* eslint-disable import/no-extraneous-dependencies */ // cdktf and cdktn come from the repository's and test/cdktn's node_modules
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cdk from 'cdktf';
import { Construct } from 'constructs';
import { Peer, Port, ProvisioningResource, StatefulHost } from '../../src';

const ROOT = path.join(__dirname, '..', '..');
// typed as cdktf (the library's typings are, against one copy of constructs)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cdktn: typeof cdk = require('cdktn');

function appIn(dir: string) {
  const app = new cdktn.App({ outdir: dir });
  const stack = new cdktn.TerraformStack(app, 'web');
  return { app, stack };
}

function outdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-cdktn-'));
}

describe('the cdktn run loads the real CDK Terrain', () => {
  test("'cdktf' here is cdktn 0.24 and constructs 10.7, from test/cdktn/node_modules", () => {
    expect(cdk).toBe(cdktn);
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', 'cdktn', 'package.json'), 'utf8'));
    expect(pkg.name).toBe('cdktn');
    expect(pkg.version).toMatch(/^0\.24\./);
    expect(require.resolve('cdktf')).toContain(path.join('test', 'cdktn', 'node_modules', 'cdktn') + path.sep);
    expect(require.resolve('constructs')).toContain(path.join('test', 'cdktn', 'node_modules', 'constructs') + path.sep);
    expect(JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', 'constructs', 'package.json'), 'utf8')).version).toMatch(/^10\.7\./);
    // a cdktn-only method (the one whose absence crashed cdktf constructs in cdktn apps)
    expect(typeof (cdktn.TerraformElement.prototype as any)._resetResolveDiscoveredProviderFeatureUsage).toBe('function');
  });

  test('why the library needs the adapter: a cdktf 0.21 resource in a cdktn stack crashes the synth', () => {
    // the real cdktf, by path (the name 'cdktf' is cdktn here)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const realCdktf = require(path.join(ROOT, 'node_modules', 'cdktf'));
    expect(realCdktf).not.toBe(cdktn);
    expect(typeof realCdktf.TerraformElement.prototype._resetResolveDiscoveredProviderFeatureUsage).toBe('undefined');
    const { app, stack } = appIn(outdir());
    new realCdktf.TerraformResource(stack as unknown as Construct, 'r', { terraformResourceType: 'terraform_data' });
    expect(() => app.synth()).toThrow(/_resetResolveDiscoveredProviderFeatureUsage is not a function/);
  });
});

describe('the library in a cdktn app', () => {
  test.each([
    ['null_resource', ProvisioningResource.NULL_RESOURCE],
    ['terraform_data', ProvisioningResource.TERRAFORM_DATA],
  ])('App.synth() writes the stack with %s resources of cdktn, and the rulesets', (type, resource) => {
    const dir = outdir();
    const { app, stack } = appIn(dir);
    const host = new StatefulHost(stack, 'web', {
      address: '203.0.113.10',
      deployment: { resource, connection: { hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf' } },
    });
    host.addService('Web', { ports: [Port.HTTPS] });
    host.addAdminAccess('Admins', { peers: [Peer.ipv4('198.51.100.7')] });
    app.synth();

    expect(host.deployment!.resource).toBeInstanceOf(cdktn.TerraformResource);
    expect(host.deployment!.resource.terraformResourceType).toBe(type);
    const stackDir = path.join(dir, 'stacks', 'web');
    const tf = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
    expect(Object.keys(tf.resource[type])).toHaveLength(2);
    expect(tf['//'].metadata.version).toMatch(/^0\.24\./);
    if (type === 'null_resource') {
      expect(tf.terraform.required_providers.null).toEqual({ source: 'null', version: '3.2.4' });
      expect(tf.provider.null).toEqual([{}]);
    } else {
      expect(tf.terraform.required_providers).toBeUndefined();
    }
    const files = fs.readdirSync(path.join(stackDir, 'firewall'), { recursive: true }).map(String);
    expect(files).toEqual(expect.arrayContaining(['web/rules.v4', 'web/rules.v6', '_deploy/sfw-apply.sh']));
    expect(fs.readFileSync(path.join(stackDir, 'firewall', 'web', 'rules.v4'), 'utf8')).toMatch(/--dport 443/);
  });
});
