/**
 * Drift, end to end (namespace lab, test/support/terraform-lab.ts): real terraform, real
 * sshd, the real kernel. Two hosts deployed with `reapplyOnDrift`: h1 on iptables + ipset
 * (deployed and verified as a user with password-less sudo, the deploy's own sudo rule),
 * h2 on nftables (as root). Every peer list is a set (`setThreshold: 0`).
 *
 * After the deploy, changes by hand: a foreign chain / table (shared mode: not drift), a
 * rule added to the library's chain, a member deleted from its set, then its chain flushed
 * (iptables) or its table deleted (nftables). `sfw-apply.sh verify`, run over SSH as the
 * deploy runs it, reports each (exit 1) saying what differs, while probes show what each
 * change did to the traffic; the next `terraform apply` (the drift check) re-applies both
 * hosts, verify exits 0 and the probes are as declared again; a deploy without drift
 * re-applies nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { Backend, Peer, Port, ProvisioningResource, StatefulHost } from '../../src';
import { SCRIPT } from '../support/script-lab';
import { LabHost, TerraformLab, TerraformResult, terraformLabUnsupported } from '../support/terraform-lab';

const unsupported = terraformLabUnsupported();
if (unsupported) console.warn(`test/deploy/drift-lab.test.ts skipped: ${unsupported}`);
const describeLab = unsupported ? describe.skip : describe;

const SUDO_SETUP = `useradd -l -m -d /home/deploy -s /bin/sh -p '*' deploy
chmod 0700 /home/deploy
echo 'deploy ALL=(root) NOPASSWD: ALL' >/etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy`;
const VERIFY = 'sh /var/lib/stateful-firewall/sfw-apply.sh verify';
const FLEET = path.resolve(__dirname, '..', '..', 'assets', 'verify-fleet.sh');

function ok(r: TerraformResult, what: string): TerraformResult {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.output}`);
  return r;
}

describeLab('drift: verify reports changes made by hand, the next deploy re-applies (namespace lab)', () => {
  let lab: TerraformLab;
  let h1: LabHost;
  let h2: LabHost;
  let built: { h1: StatefulHost; h2: StatefulHost };
  const outputs: string[] = [];

  const declare = (stack: TerraformStack) => {
    const deployment = (h: LabHost, user: string) => ({
      resource: ProvisioningResource.TERRAFORM_DATA,
      connection: { user, privateKey: lab.privateKey, hostKey: h.hostKey },
      rollbackTimeoutSeconds: 20,
      reapplyOnDrift: true,
    });
    const s1 = new StatefulHost(stack, 'h1', { address: h1.address, setThreshold: 0, deployment: deployment(h1, 'deploy') });
    const s2 = new StatefulHost(stack, 'h2', { address: h2.address, backend: Backend.NFTABLES, setThreshold: 0, deployment: deployment(h2, 'root') });
    for (const [s, h] of [[s1, h1], [s2, h2]] as const) {
      s.addService('App', { ports: [Port.tcp(8080)], peers: [Peer.ipv4(h.clientAddress), Peer.ipv4('192.0.2.10'), Peer.ipv6(h.clientAddress6)] });
      s.addAdminAccess('Ops', { peers: [Peer.ipv4(h.clientAddress), Peer.ipv6(h.clientAddress6)] });
    }
    return { h1: s1, h2: s2 };
  };
  const deploy = async () => {
    built = await lab.synth(declare);
    return ok(await lab.terraform(['apply', '-auto-approve', '-input=false'], 200_000), 'terraform apply');
  };
  /** verify over SSH as the deploy runs the script: h1 as the sudo user, h2 as root. */
  const verify = (h: LabHost, label: string) => {
    const r = h === h1 ? lab.ssh(h1, `sudo -n ${VERIFY}`, h1.address, 'deploy') : lab.ssh(h2, VERIFY);
    outputs.push(`--- ${label} (exit ${r.status})\n${r.stdout}${r.stderr}`);
    return { status: r.status, out: r.stdout + r.stderr };
  };
  const state = (h: LabHost) => fs.readFileSync(path.join(lab.stateDir(h), 'current.env'), 'utf8');
  /** The state dir's entries with their mtimes and sizes (verify must change nothing). */
  const listing = (h: LabHost) => {
    const dir = lab.stateDir(h);
    const walk = (d: string): string[] => fs.readdirSync(d).sort().flatMap((n) => {
      const p = path.join(d, n);
      const st = fs.statSync(p);
      return [`${path.relative(dir, p)} ${st.mtimeMs} ${st.size}`, ...(st.isDirectory() ? walk(p) : [])];
    });
    return walk(dir);
  };
  const probes = (h: LabHost) => ({ app: lab.probe(h, 8080), app6: lab.probe(h, 8080, 6), other: lab.probe(h, 9090), ssh: lab.probe(h, 22) });
  const declared = { app: 'open', app6: 'open', other: 'refused', ssh: 'open' };

  beforeAll(async () => {
    lab = new TerraformLab('drift');
    h1 = await lab.addHost('h1', 1, { setup: SUDO_SETUP });
    h2 = await lab.addHost('h2', 2);
    await lab.listen(h1, [8080, 9090]);
    await lab.listen(h2, [8080, 9090]);
  }, 90_000);

  afterAll(() => {
    lab?.destroy();
    if (outputs.length > 0) console.log(`drift lab: verify outputs\n${outputs.join('\n')}`);
  });

  test('before any deploy verify cannot verify (exit 2)', () => {
    // the package's script, in h2's network namespace, on h2's (missing) state dir
    const r = lab.lab.run(h2.ns, ['dash', SCRIPT, 'verify', '--state-dir', lab.stateDir(h2)]);
    outputs.push(`--- h2 before any deploy (exit ${r.status})\n${r.stdout}${r.stderr}`);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('verify: nothing to verify');
  });

  test('deploy: verify is in sync (exit 0) and writes nothing; the drift check re-applied nothing', async () => {
    const r = await deploy();
    // Apply, Teardown, DriftCheck per host
    expect(r.stdout).toContain('Apply complete! Resources: 6 added, 0 changed, 0 destroyed.');
    expect(r.stdout.match(/drift check: in sync with confirmed apply [0-9a-f-]+: nothing re-applied/g)).toHaveLength(2);
    expect(r.stdout.match(/applied nothing \(its drift check found the host in sync/g)).toHaveLength(2);
    for (const h of [h1, h2]) {
      const before = listing(h);
      const v = verify(h, `${h.name} after the deploy`);
      expect(v.status).toBe(0);
      expect(v.out).toMatch(/verify: in sync with apply [0-9a-f-]+/);
      expect(listing(h)).toEqual(before);
      expect(probes(h)).toEqual(declared);
    }
  }, 240_000);

  test('shared mode: a foreign chain and a foreign table added by hand are not drift', () => {
    lab.hostExec(h1, ['iptables-restore', '--noflush'], '*filter\n:FOREIGN - [0:0]\n-I INPUT 1 -j FOREIGN\n-A FOREIGN -s 198.51.100.66/32 -j DROP\nCOMMIT\n');
    lab.hostExec(h2, ['nft', '-f', '-'], 'table inet foreign {\n\tchain input {\n\t\ttype filter hook input priority 10; policy accept;\n\t\ttcp dport 9999 counter\n\t}\n}\n');
    for (const h of [h1, h2]) expect(verify(h, `${h.name} with a foreign chain or table`).status).toBe(0);
  });

  test('a rule added by hand to the library chain: drift (exit 1) naming the rule; the port opens', () => {
    lab.hostExec(h1, ['iptables', '-I', 'SFW-INPUT', '1', '-p', 'tcp', '--dport', '9090', '-j', 'ACCEPT']);
    lab.hostExec(h2, ['nft', 'insert', 'rule', 'inet', 'stateful_firewall', 'sfw_new', 'tcp', 'dport', '9090', 'accept']);
    const v1 = verify(h1, 'h1: a rule added by hand');
    expect(v1.status).toBe(1);
    expect(v1.out).toContain('drift: ipv4 filter chain SFW-INPUT: 1 rule(s) not in the confirmed ruleset\n    + -A SFW-INPUT -p tcp -m tcp --dport 9090 -j ACCEPT\n');
    expect(v1.out).toMatch(/DRIFTED: the live ruleset is not the one apply [0-9a-f-]+ confirmed/);
    const v2 = verify(h2, 'h2: a rule added by hand');
    expect(v2.status).toBe(1);
    expect(v2.out).toContain('drift: nftables table inet stateful_firewall chain sfw_new: 1 rule(s) not in the confirmed ruleset\n    + tcp dport 9090 accept\n');
    for (const h of [h1, h2]) expect(probes(h)).toEqual({ ...declared, other: 'open' });
  });

  test('a member deleted from the library set: drift naming the member; the client loses the port', () => {
    const ipset = /^create (sfw-\S*App\S*) /m.exec(built.h1.renderedFiles['sets.ipset'])![1];
    const nftSet = /set (sfw-4i-App-\w+) \{/.exec(built.h2.renderedFiles['ruleset.nft'])![1];
    lab.hostExec(h1, ['ipset', 'del', ipset, h1.clientAddress]);
    lab.hostExec(h2, ['nft', 'delete', 'element', 'inet', 'stateful_firewall', nftSet, `{ ${h2.clientAddress} }`]);
    const v1 = verify(h1, 'h1: a set member deleted');
    expect(v1.status).toBe(1);
    expect(v1.out).toContain(`drift: ipset set ${ipset}: 1 member(s) missing\n    - ${h1.clientAddress}\n`);
    const v2 = verify(h2, 'h2: a set element deleted');
    expect(v2.status).toBe(1);
    expect(v2.out).toContain(`drift: nftables table inet stateful_firewall set ${nftSet}: 1 element(s) missing\n    - ${h2.clientAddress}\n`);
    for (const h of [h1, h2]) expect(probes(h)).toEqual({ ...declared, app: 'refused', other: 'open' });
  });

  test('the library chain flushed (iptables), its table deleted (nftables): drift; the host is open', () => {
    lab.hostExec(h1, ['iptables', '-F', 'SFW-INPUT']);
    lab.hostExec(h2, ['nft', 'delete', 'table', 'inet', 'stateful_firewall']);
    const v1 = verify(h1, 'h1: the library chain flushed');
    expect(v1.status).toBe(1);
    expect(v1.out).toMatch(/drift: ipv4 filter chain SFW-INPUT: \d+ rule\(s\) missing \(it is empty now\)\n/);
    const v2 = verify(h2, 'h2: the library table deleted');
    expect(v2.status).toBe(1);
    expect(v2.out).toMatch(/drift: nftables table inet stateful_firewall: missing \(with \d+ chain\(s\) or set\(s\), \d+ line\(s\) in them\)\n/);
    // no firewall left: every port answers
    for (const h of [h1, h2]) expect(probes(h)).toEqual({ ...declared, other: 'open' });
  });

  test('the next deploy re-applies both hosts (drift check); verify is in sync, the probes as declared, foreign objects kept', async () => {
    const ids = [state(h1), state(h2)];
    const r = await deploy();
    // only the drift checks are replaced
    expect(r.stdout).toContain('Apply complete! Resources: 2 added, 0 changed, 2 destroyed.');
    expect(r.stdout.match(/drift check: the host drifted from confirmed apply [0-9a-f-]+: applying again/g)).toHaveLength(2);
    expect(r.stdout.match(/confirmed apply [0-9a-f-]+: rollback cancelled/g)).toHaveLength(2);
    expect([state(h1), state(h2)]).not.toEqual(ids);
    for (const h of [h1, h2]) {
      expect(verify(h, `${h.name} after the redeploy`).status).toBe(0);
      expect(probes(h)).toEqual(declared);
    }
    expect(lab.hostExec(h1, ['iptables-save'])).toContain('-A FOREIGN -s 198.51.100.66/32 -j DROP');
    expect(lab.hostExec(h2, ['nft', 'list', 'tables'])).toContain('table inet foreign');
  }, 240_000);

  test('a deploy without drift re-applies nothing', async () => {
    const ids = [state(h1), state(h2)];
    const r = await deploy();
    expect(r.stdout.match(/nothing re-applied/g)).toHaveLength(2);
    expect([state(h1), state(h2)]).toEqual(ids);
    for (const h of [h1, h2]) expect(verify(h, `${h.name} after a deploy without drift`).status).toBe(0);
  }, 240_000);

  test('assets/verify-fleet.sh with the deploy\'s SSH settings: 0 in sync, 1 when a host drifted, 2 when one cannot be verified', () => {
    const fleet = (...hosts: string[]) => {
      const r = lab.lab.run(lab.client, ['sh', FLEET, '-i', path.join(lab.dir, 'client_ed25519'), '-o', 'IdentitiesOnly=yes',
        '-o', `UserKnownHostsFile=${path.join(lab.dir, 'known_hosts')}`, '-o', 'ConnectTimeout=5', '--', ...hosts],
      { env: { PATH: process.env.PATH, HOME: lab.dir }, timeoutMs: 60_000 });
      outputs.push(`--- verify-fleet.sh ${hosts.join(' ')} (exit ${r.status})\n${r.stdout}${r.stderr}`);
      return r;
    };
    const hosts = [`deploy@${h1.address}`, `root@${h2.address}`];
    let r = fleet(...hosts);
    expect(r.stdout).toContain('verify-fleet: 2 in sync, 0 drifted, 0 not verified');
    expect(r.status).toBe(0);
    lab.hostExec(h2, ['nft', 'insert', 'rule', 'inet', 'stateful_firewall', 'sfw_new', 'tcp', 'dport', '9090', 'accept']);
    r = fleet(...hosts);
    expect(r.stdout).toContain(`root@${h2.address}: drift: nftables table inet stateful_firewall chain sfw_new: 1 rule(s) not in the confirmed ruleset\n`);
    expect(r.stdout).toContain('verify-fleet: 1 in sync, 1 drifted, 0 not verified');
    expect(r.status).toBe(1);
    // a host without a deployment (nothing answers on 10.98.1.9)
    r = fleet(`deploy@${h1.address}`, 'root@10.98.1.9');
    expect(r.stdout).toContain('verify-fleet: 1 in sync, 0 drifted, 1 not verified');
    expect(r.status).toBe(2);
  }, 120_000);
});
