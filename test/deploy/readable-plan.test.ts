/**
 * The plan a reviewer reads: a host declared like examples/webserver (a website for
 * everyone, SSH for the webmasters) is deployed with the real `terraform` over real SSH
 * (lab/terraform-lab.ts); then one port of the website changes, and `terraform plan`
 * names exactly that opening, old and new, next to the ruleset's hash, and nothing else.
 */
import { TerraformStack } from 'cdktf';
import { Backend, Peer, Port, ProvisioningResource, StatefulHost } from '../../src';
import { LabHost, TerraformLab, terraformLabUnsupported, TerraformResult } from '../support/terraform-lab';

const unsupported = terraformLabUnsupported();
if (unsupported) console.warn(`test/deploy/readable-plan.test.ts skipped: ${unsupported}`);
const describeLab = unsupported ? describe.skip : describe;

function ok(r: TerraformResult, what: string): TerraformResult {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.output}`);
  return r;
}

describeLab('terraform plan names the changed opening (namespace lab)', () => {
  let lab: TerraformLab;
  let web: LabHost;
  let app: LabHost;

  beforeAll(async () => {
    lab = new TerraformLab('plan');
    web = await lab.addHost('web', 1);
    app = await lab.addHost('app', 2);
    await lab.listen(web, [80, 443, 8443]);
  }, 90_000);

  afterAll(() => lab?.destroy());

  /** The webserver example on lab addresses (iptables), and an unchanged nftables host next to it. */
  const declare = (websitePorts: Port[]) => lab.synth((stack: TerraformStack) => {
    const host = (h: LabHost, backend: Backend) => new StatefulHost(stack, h.name, {
      address: h.address,
      backend,
      deployment: {
        resource: ProvisioningResource.TERRAFORM_DATA,
        connection: { privateKey: lab.privateKey, hostKey: h.hostKey },
        rollbackTimeoutSeconds: 20,
      },
    });
    const w = host(web, Backend.IPTABLES);
    w.addService('Website', { ports: websitePorts });
    w.addAdminAccess('Webmasters', { peers: [Peer.ipv4(web.clientAddress), Peer.ipv6(web.clientAddress6)] });
    const a = host(app, Backend.NFTABLES);
    a.addService('Api', { ports: [Port.tcp(8080)], peers: [Peer.ipv4('192.0.2.0/24')] });
    a.addAdminAccess('Ops', { peers: [Peer.ipv4(app.clientAddress)] });
    return w;
  });

  test('one port changed: the plan shows that opening old and new, the hash, and no other row', async () => {
    await declare([Port.HTTP, Port.HTTPS]);
    ok(await lab.terraform(['apply', '-auto-approve', '-input=false'], 150_000), 'first terraform apply');
    expect(lab.probe(web, 443)).toBe('open');

    const changed = await declare([Port.HTTP, Port.tcp(8443)]);
    const { plan, changes } = await lab.planChanges();
    const text = plan.stdout;
    // only the web host's apply resource is replaced
    expect(changes.map((c) => c.address)).toEqual([expect.stringMatching(/^terraform_data\.web_Deployment_Apply_[0-9A-F]+$/)]);
    // the changed row, old -> new, as Terraform prints it
    const rows = text.split('\n').filter((l) => /^\s+~ "[a-z]+: /.test(l)).map((l) => l.trim().replace(/ +/g, ' '));
    expect(rows).toEqual(['~ "in: Website" = "tcp 80,443 from any" -> "tcp 80,8443 from any"']);
    expect(text).toMatch(/~ ruleset_sha256 += "[0-9a-f]{64}" -> "[0-9a-f]{64}"/);
    // the unchanged rows are hidden, not shown as changed
    expect(text).toMatch(/# \(\d+ unchanged (attributes|elements) hidden\)/);
    expect(text).not.toContain('"in: Webmasters" =');
    expect(changed.planSummary?.['in: Website']).toBe('tcp 80,8443 from any');
    console.log(`terraform plan after changing one port:\n${text.split('\n').filter((l) => /triggers_replace|~ |unchanged|forces/.test(l)).join('\n')}`);

    // applied, the plan is empty again and the new port answers
    ok(await lab.terraform(['apply', '-auto-approve', '-input=false'], 150_000), 'second terraform apply');
    expect(lab.probe(web, 8443)).toBe('open');
    expect(lab.probe(web, 443)).toBe('refused');
    expect((await lab.planChanges()).changes).toEqual([]);
  }, 420_000);
});
