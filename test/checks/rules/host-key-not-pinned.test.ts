import { App, Fn, TerraformStack, Testing } from 'cdktf';
import { CheckLevel, DeploymentOptions, HostFacts, HostKeyNotPinned, Peer, PolicyChecks, StatefulHost } from '../../../src';
import { synthError, warnings } from '../../support/synth';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf';
const BASTION_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4NFPEMjaznX3G5Im5h4M2kh4lHExs7X46bqlD/Nn3+';

const HOST_WARNING =
  "[SFW6] stack/web deploys without a pinned host key: set deployment.connection.hostKey to the host's public key " +
  "(ssh-keyscan -t ed25519 192.0.2.10, verified out of band, or the key your provisioning generated, e.g. a tls_private_key's public_key_openssh); " +
  'without it the deploy trusts any machine answering at 192.0.2.10';
const BASTION_WARNING =
  '[SFW6] stack/web deploys through bastion 198.51.100.1 without a pinned bastion key: set deployment.connection.bastionHostKey ' +
  "to the bastion's public key (ssh-keyscan -t ed25519 198.51.100.1, verified out of band, or the key your provisioning generated, " +
  "e.g. a tls_private_key's public_key_openssh); without it the deploy trusts any machine answering at 198.51.100.1";

interface Setup {
  readonly app: App;
  readonly stack: TerraformStack;
  readonly host: StatefulHost;
}

/** One deployed host with AdminAccess (SFW4 satisfied) and the given deployment options. */
function setup(deployment?: DeploymentOptions): Setup {
  const app = new App({ outdir: Testing.app().outdir });
  const stack = new TerraformStack(app, 'stack');
  const host = new StatefulHost(stack, 'web', { address: '192.0.2.10', deployment });
  host.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
  return { app, stack, host };
}


describe('SFW6: host key not pinned', () => {
  test('a deployed host without a host key warns by default, naming the path, the address and the fix', () => {
    const { app, host } = setup();
    expect(synthError(app)).toBeUndefined();
    expect(warnings(host)).toEqual([HOST_WARNING]);
  });

  test('a pinned host key silences it; a key Terraform reads at plan time counts as pinned', () => {
    const literal = setup({ connection: { hostKey: HOST_KEY } });
    const fromFile = setup({ connection: { hostKey: Fn.trimspace(Fn.file('host-keys/web.pub')) } });
    for (const { app, host } of [literal, fromFile]) {
      expect(synthError(app)).toBeUndefined();
      expect(warnings(host)).toEqual([]);
    }
  });

  test('an empty host key is no key (Terraform ignores it)', () => {
    const { app, host } = setup({ connection: { hostKey: ' ' } });
    app.synth();
    expect(warnings(host)).toEqual([HOST_WARNING]);
  });

  test('a bastion without its key warns for the bastion; with both keys pinned, nothing', () => {
    const bastionOnly = setup({ connection: { hostKey: HOST_KEY, bastionHost: '198.51.100.1' } });
    bastionOnly.app.synth();
    expect(warnings(bastionOnly.host)).toEqual([BASTION_WARNING]);

    const neither = setup({ connection: { bastionHost: '198.51.100.1' } });
    neither.app.synth();
    expect(warnings(neither.host)).toEqual([HOST_WARNING, BASTION_WARNING]);

    const both = setup({ connection: { hostKey: HOST_KEY, bastionHost: '198.51.100.1', bastionHostKey: BASTION_KEY } });
    both.app.synth();
    expect(warnings(both.host)).toEqual([]);
  });

  test('a bastion key alone does not pin the host behind it', () => {
    const { app, host } = setup({ connection: { bastionHost: '198.51.100.1', bastionHostKey: BASTION_KEY } });
    app.synth();
    expect(warnings(host)).toEqual([HOST_WARNING]);
  });

  test('acknowledged with a reason (on the host or above it), it is silent', () => {
    const onHost = setup({ connection: { bastionHost: '198.51.100.1' } });
    PolicyChecks.of(onHost.host).acknowledge('SFW6', 'throw-away lab VMs on an isolated network');
    expect(synthError(onHost.app)).toBeUndefined();
    expect(warnings(onHost.host)).toEqual([]);
    expect(PolicyChecks.of(onHost.host).reasonFor('SFW6')).toBe('throw-away lab VMs on an isolated network');

    const onStack = setup();
    PolicyChecks.of(onStack.stack).acknowledge('SFW6', 'keys pinned by the bootstrap\'s known_hosts');
    PolicyChecks.of(onStack.app).strict();
    expect(synthError(onStack.app)).toBeUndefined();
    expect(warnings(onStack.host)).toEqual([]);
  });

  test('strict makes it a synth error with the construct path; so does setLevel ERROR', () => {
    const strict = setup({ connection: { bastionHost: '198.51.100.1' } });
    PolicyChecks.of(strict.app).strict();
    const error = synthError(strict.app);
    expect(error).toContain(`[stack/web] ${HOST_WARNING}`);
    expect(error).toContain(`[stack/web] ${BASTION_WARNING}`);
    expect(warnings(strict.host)).toEqual([]);

    const raised = setup();
    PolicyChecks.of(raised.host).setLevel('SFW6', CheckLevel.ERROR);
    expect(synthError(raised.app)).toContain(`[stack/web] ${HOST_WARNING}`);
  });

  test('a host whose deployment is disabled gets no SFW6, bastion or not', () => {
    const { app, host } = setup({ enabled: false, connection: { bastionHost: '198.51.100.1' } });
    PolicyChecks.of(app).strict();
    expect(synthError(app)).toBeUndefined();
    expect(warnings(host)).toEqual([]);
    expect(host.facts.connection).toBeUndefined();
  });

  test('the facts carry the connection\'s address, user and keys, never its credentials', () => {
    const { host } = setup({
      connection: { user: 'deploy', privateKey: 'PRIVATE', bastionHost: '198.51.100.1', bastionPrivateKey: 'BASTION PRIVATE', hostKey: HOST_KEY },
    });
    expect(host.facts.connection).toEqual({ host: '192.0.2.10', user: 'deploy', hostKey: HOST_KEY, bastionHost: '198.51.100.1', bastionHostKey: undefined });
    expect(JSON.stringify(host.facts.connection)).not.toContain('PRIVATE');
    expect(setup().host.facts.connection).toEqual({ host: '192.0.2.10', user: 'root', hostKey: undefined, bastionHost: undefined, bastionHostKey: undefined });
  });

  test('the rule alone: hand-built facts without a deployment or without a connection find nothing', () => {
    const rule = new HostKeyNotPinned();
    const base: HostFacts = { path: 'p', allowances: [], adminAccessPaths: [], deploys: true, sshPort: 22, families: [] };
    expect(rule.check(base)).toEqual([]);
    expect(rule.check({ ...base, deploys: false, connection: { host: 'h.example.net', user: 'root' } })).toEqual([]);
    expect(rule.check({ ...base, connection: { host: 'h.example.net', user: 'root' } })).toEqual([
      "p deploys without a pinned host key: set deployment.connection.hostKey to the host's public key (ssh-keyscan -t ed25519 h.example.net, " +
        "verified out of band, or the key your provisioning generated, e.g. a tls_private_key's public_key_openssh); without it the deploy trusts any machine answering at h.example.net",
    ]);
    expect(rule.id).toBe('SFW6');
    expect(rule.defaultLevel).toBe(CheckLevel.WARNING);
  });
});
