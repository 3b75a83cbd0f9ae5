/**
 * End to end: the cdktf app is built here, synthesized, and deployed with the real
 * `terraform` binary (terraform_data, no provider) over real SSH to `sshd`s running in
 * network namespaces, onto the real kernel (test/support/terraform-lab.ts).
 *
 * Hosts: h1 (iptables, bare before the first deploy), h2 (iptables, with Docker- and
 * fail2ban-like chains and a foreign nftables table already there; sshd also listens on a
 * second address), h3 (nftables backend, with a foreign nftables table). The tests run in
 * order and build on each other's Terraform state.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { Backend, Peer, Port, ProvisioningResource, StatefulHost } from '../../src';
import { sha256 } from '../../src/deploy/apply-script';
import { foreign, library, normalizeSave } from '../support/iptables-objects';
import { LabHost, TerraformLab, TerraformResult, terraformLabUnsupported, TimedLine, waitFor } from '../support/terraform-lab';

const unsupported = terraformLabUnsupported();
if (unsupported) console.warn(`test/deploy/terraform-lab.test.ts skipped: ${unsupported}`);
const describeLab = unsupported ? describe.skip : describe;

const ROLLBACK_SECONDS = 10;
/** A service id with template sequences: they reach the host's rule comments literally. */
const WEB_ID = 'Web ${x} %{y}';
const H2_SECOND_ADDRESS = '10.98.2.3';

/** What the stack declares; each test synthesizes the variant it needs. */
interface Declarations {
  /** h1 also opens tcp/9090. */
  readonly h1Extra?: boolean;
  /** h1's AdminAccess leaves the client out: new SSH connections are refused. */
  readonly lockout?: boolean;
  /** h1's uploaded rules.v4 is replaced with a ruleset the kernel rejects. */
  readonly brokenV4?: boolean;
  /** With `brokenV4`: the apply step is told the broken file's digest (else it refuses the file as replaced). */
  readonly brokenV4Digest?: boolean;
  /** h2's address (default: its first one). */
  readonly h2Address?: string;
}

interface Built {
  readonly h1: StatefulHost;
  readonly h2: StatefulHost;
  readonly h3: StatefulHost;
  readonly brokenV4?: string;
}

const FOREIGN_V4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:f2b-sshd - [0:0]
-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -s 198.51.100.0/24 -j DROP
-A DOCKER-USER -j RETURN
-A f2b-sshd -s 203.0.113.66/32 -j REJECT --reject-with icmp-port-unreachable
-A f2b-sshd -j RETURN
COMMIT
`;
const FOREIGN_V6 = FOREIGN_V4.replace('198.51.100.0/24', '2001:db8:100::/48')
  .replace('203.0.113.66/32', '2001:db8:66::/64')
  .replace('icmp-port-unreachable', 'icmp6-port-unreachable');
const FOREIGN_NFT = `table inet foreign_fw {
\tchain input {
\t\ttype filter hook input priority 10; policy accept;
\t\ttcp dport 9999 counter
\t}
}
`;

function lineOf(lines: readonly TimedLine[], re: RegExp, from = 0): number {
  for (let i = from; i < lines.length; i++) if (re.test(lines[i].text)) return i;
  return -1;
}

/** Time from the apply provisioner's "Connected!" to the script's "apply id:" line, per resource. */
function scriptDurations(r: TerraformResult): Record<string, number> {
  const out: Record<string, number> = {};
  r.lines.forEach((l, i) => {
    const m = /^terraform_data\.(\w+) \(remote-exec\): stateful-firewall: apply id: /.exec(l.text);
    if (!m) return;
    for (let j = i - 1; j >= 0; j--) {
      if (r.lines[j].text === `terraform_data.${m[1]} (remote-exec): Connected!`) {
        out[m[1]] = l.atMs - r.lines[j].atMs;
        return;
      }
    }
  });
  return out;
}

/** Value of a key in the host's current.env (written by the apply script). */
function stateValue(lab: TerraformLab, host: LabHost, key: string): string {
  const env = fs.readFileSync(path.join(lab.stateDir(host), 'current.env'), 'utf8');
  const m = new RegExp(`^${key}='([^']*)'`, 'm').exec(env);
  if (!m) throw new Error(`${key} not in current.env of ${host.name}:\n${env}`);
  return m[1];
}

function outputLines(r: TerraformResult, address: RegExp): string[] {
  return r.lines.map((l) => l.text).filter((t) => address.test(t));
}

function ok(r: TerraformResult, what: string): TerraformResult {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.output}`);
  return r;
}

/** The live library chains equal the rendered files (both families). */
function expectLiveIsRendered(lab: TerraformLab, h: LabHost, host: StatefulHost): void {
  expect(library(lab.hostExec(h, ['iptables-save']))).toEqual(library(host.renderedFiles['rules.v4']));
  expect(library(lab.hostExec(h, ['ip6tables-save']))).toEqual(library(host.renderedFiles['rules.v6']));
}

describeLab('terraform deploys through sshd onto the kernel (namespace lab)', () => {
  let lab: TerraformLab;
  let h1: LabHost;
  let h2: LabHost;
  let h3: LabHost;
  let built: Built;
  const metrics: Record<string, string> = {};
  const before: Record<string, string> = {};

  function declare(stack: TerraformStack, d: Declarations): Built {
    const deployment = (h: LabHost) => ({
      resource: ProvisioningResource.TERRAFORM_DATA,
      connection: { user: 'root', privateKey: lab.privateKey, hostKey: h.hostKey },
      rollbackTimeoutSeconds: ROLLBACK_SECONDS,
    });
    const ops = (h: LabHost) => [Peer.ipv4(h.clientAddress), Peer.ipv6(h.clientAddress6)];

    const s1 = new StatefulHost(stack, 'h1', { address: h1.address, deployment: deployment(h1) });
    s1.addService(WEB_ID, { ports: d.h1Extra ? [Port.tcp(8080), Port.tcp(9090)] : [Port.tcp(8080)] });
    s1.addService('Db', { ports: [Port.POSTGRES], peers: [Peer.ipv4('192.0.2.0/24')] });
    s1.addAdminAccess('Ops', { peers: d.lockout ? [Peer.ipv4('192.0.2.10')] : ops(h1) });

    const s2 = new StatefulHost(stack, 'h2', { address: d.h2Address ?? h2.address, deployment: deployment(h2) });
    s2.addService('Web', { ports: [Port.HTTPS] });
    s2.addAdminAccess('Ops', { peers: ops(h2) });

    const s3 = new StatefulHost(stack, 'h3', { address: h3.address, backend: Backend.NFTABLES, deployment: deployment(h3) });
    s3.addService('App', { ports: [Port.tcp(8080)] });
    s3.addAdminAccess('Ops', { peers: ops(h3) });

    let brokenV4: string | undefined;
    if (d.brokenV4) {
      // written into h1's bundle after the synth (see `synth`)
      brokenV4 = s1.renderedFiles['rules.v4'].replace('-A SFW-INPUT -i lo ', '-A SFW-INPUT -i lo -m nosuchmatch ');
    }
    return { h1: s1, h2: s2, h3: s3, brokenV4 };
  }

  const synth = async (d: Declarations) => {
    built = await lab.synth((stack) => declare(stack, d));
    if (d.brokenV4) {
      // h1's bundle (the files its apply step writes on the host) gets the broken rules.v4
      const file = lab.bundleFile('h1');
      let text = fs.readFileSync(file, 'utf8');
      const good = built.h1.renderedFiles['rules.v4'];
      expect(text.split(good)).toHaveLength(2);
      text = text.replace(good, built.brokenV4!);
      if (d.brokenV4Digest) {
        // the apply step verifies each file's sha256: tell it the broken file's
        const digest = `rules.v4=${sha256(good)}`;
        expect(text.split(digest)).toHaveLength(2);
        text = text.replace(digest, `rules.v4=${sha256(built.brokenV4!)}`);
      }
      fs.writeFileSync(file, text);
    }
    return built;
  };
  const apply = () => lab.terraform(['apply', '-auto-approve', '-input=false'], 150_000);

  const save = (h: LabHost, cmd = 'iptables-save') => lab.hostExec(h, [cmd]);
  const nftTable = (h: LabHost, name: string) => lab.hostExec(h, ['nft', '-s', 'list', 'table', 'inet', name]);
  const nftTables = (h: LabHost) => lab.hostExec(h, ['nft', 'list', 'tables']).split('\n').filter(Boolean).sort();

  const expectRendered = (h: LabHost, host: StatefulHost) => expectLiveIsRendered(lab, h, host);

  /** Docker-, fail2ban-like chains and the foreign nftables tables are as before the first deploy. */
  function expectForeignIntact(): void {
    expect(foreign(save(h2))).toEqual(foreign(before.h2v4));
    expect(foreign(save(h2, 'ip6tables-save'))).toEqual(foreign(before.h2v6));
    expect(nftTable(h2, 'foreign_fw')).toBe(before.h2nft);
    expect(nftTable(h3, 'foreign_fw')).toBe(before.h3nft);
  }

  beforeAll(async () => {
    lab = new TerraformLab('tflab');
    [h1, h2, h3] = [await lab.addHost('h1', 1), await lab.addHost('h2', 2, { extraAddresses: [H2_SECOND_ADDRESS] }), await lab.addHost('h3', 3)];
    await lab.listen(h1, [8080, 5432, 9090]);
    await lab.listen(h2, [443, 8443]);
    await lab.listen(h3, [8080, 9090]);
    lab.hostExec(h2, ['iptables-restore', '--noflush'], FOREIGN_V4);
    lab.hostExec(h2, ['ip6tables-restore', '--noflush'], FOREIGN_V6);
    for (const h of [h2, h3]) lab.hostExec(h, ['nft', '-f', '-'], FOREIGN_NFT);
    before.h2v4 = save(h2);
    before.h2v6 = save(h2, 'ip6tables-save');
    before.h2nft = nftTable(h2, 'foreign_fw');
    before.h2tables = nftTables(h2).join('\n');
    before.h3nft = nftTable(h3, 'foreign_fw');
    expect(before.h2v4).toContain('-A f2b-sshd -s 203.0.113.66/32');
    expect(before.h2nft).toContain('tcp dport 9999 counter');
  }, 90_000);

  afterAll(() => {
    lab?.destroy();
    if (Object.keys(metrics).length > 0) {
      console.log(`terraform lab measurements:\n${Object.entries(metrics).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
    }
  });

  test('1. first deploy on a bare host: ports answer as declared, the live chains are the rendered files', async () => {
    // bare: no rules, no nftables table, every listener reachable
    expect(library(save(h1))).toEqual({});
    expect(lab.hostExec(h1, ['nft', 'list', 'ruleset']).trim()).toBe('');
    for (const port of [8080, 5432, 9090]) expect(lab.probe(h1, port)).toBe('open');

    await synth({});
    const logins = [h1, h2, h3].map((h) => lab.acceptedLogins(h));
    const r = ok(await apply(), 'terraform apply');
    expect(r.stdout).toContain('Apply complete! Resources: 6 added, 0 changed, 0 destroyed.');
    // two SSH connections per host deploy: the apply step (checks, files, apply), the confirm
    const perHost = [h1, h2, h3].map((h, i) => lab.acceptedLogins(h) - logins[i]);
    metrics['first deploy: SSH connections per host (sshd "Accepted" lines)'] = perHost.join(', ');
    expect(perHost).toEqual([2, 2, 2]);
    const durations = scriptDurations(r);
    metrics['first deploy: terraform apply wall time (3 hosts in parallel, incl. confirm)'] = `${r.durationMs} ms`;
    metrics['first deploy: apply provisioner, SSH connected -> "apply id" (sfw-apply.sh apply)'] =
      Object.entries(durations).map(([res, ms]) => `${res.split('_')[0]} ${ms} ms`).join(', ');
    expect(Object.keys(durations)).toHaveLength(3);

    // h1, iptables, both families: declared ports connect, others get a TCP reset
    for (const family of [4, 6] as const) {
      expect(lab.probe(h1, 22, family)).toBe('open');
      expect(lab.probe(h1, 8080, family)).toBe('open');
      expect(lab.probe(h1, 9090, family)).toBe('refused');
      expect(lab.probe(h1, 5432, family)).toBe('refused'); // open to 192.0.2.0/24 only
    }
    expectRendered(h1, built.h1);
    // the uploaded file is the rendered file byte for byte (template sequences unescaped by
    // Terraform): the apply step checked it against the rendered file's sha256
    const renderedV4 = fs.readFileSync(path.join(lab.stackDir, 'firewall', 'h1', 'rules.v4'), 'utf8');
    expect(renderedV4).toContain('${x} %{y}');
    expect(fs.readFileSync(lab.bundleFile('h1'), 'utf8')).toContain(`--sha256 rules.v4=${sha256(renderedV4)}`);
    // the upload directory is gone once applied; the state dir is root's alone
    // (Terraform leaves each step's file behind, emptied; the next deploy's first step removes them)
    const left = fs.readdirSync(path.join(h1.dir, 'root', '.stateful-firewall'));
    expect(left.filter((f) => !/^step-\d+\.sh$/.test(f) || fs.statSync(path.join(h1.dir, 'root', '.stateful-firewall', f)).size > 0)).toEqual([]);
    expect(fs.statSync(lab.stateDir(h1)).mode & 0o777).toBe(0o700);
    expect(save(h1)).toContain(`--comment "lab/h1/${WEB_ID}"`);
    expect(lab.ssh(h1, 'true').status).toBe(0);

    // h2, iptables with foreign chains
    expect(lab.probe(h2, 443)).toBe('open');
    expect(lab.probe(h2, 8443)).toBe('refused');
    expectRendered(h2, built.h2);
    expectForeignIntact();

    // h3, nftables
    for (const family of [4, 6] as const) {
      expect(lab.probe(h3, 22, family)).toBe('open');
      expect(lab.probe(h3, 8080, family)).toBe('open');
      expect(lab.probe(h3, 9090, family)).toBe('refused');
    }
    expect(lab.hostExec(h3, ['nft', 'list', 'table', 'inet', 'stateful_firewall'])).toBe(built.h3.renderedFiles['ruleset.nft']);
    expect(library(save(h3))).toEqual({});
  }, 120_000);

  test('2. one host changed: the plan replaces exactly its apply resource, and only that host is re-provisioned', async () => {
    const id = (h: LabHost) => stateValue(lab, h, 'ST_ID');
    const mtime = (h: LabHost) => fs.statSync(path.join(lab.stateDir(h), 'confirmed')).mtimeMs;
    const was = { h1: id(h1), h2: id(h2), h3: id(h3), h2m: mtime(h2), h3m: mtime(h3) };

    await synth({ h1Extra: true });
    const { plan, changes } = await lab.planChanges();
    expect(changes).toEqual([{ address: expect.stringMatching(/^terraform_data\.h1_Deployment_Apply_/), actions: ['delete', 'create'] }]);
    expect(plan.stdout).toContain('Plan: 1 to add, 0 to change, 1 to destroy.');

    const r = ok(await apply(), 'terraform apply');
    expect(r.stdout).toContain('Apply complete! Resources: 1 added, 0 changed, 1 destroyed.');
    // a redeploy never removes the live firewall first (no teardown ran)
    expect(r.stdout).not.toContain('removed the SFW-* chains');
    expect(outputLines(r, /^terraform_data\.h[23]_\w+(: (Creating|Destroying|Provisioning)| \()/)).toEqual([]);
    expect(id(h1)).not.toBe(was.h1);
    expect({ h2: id(h2), h3: id(h3), h2m: mtime(h2), h3m: mtime(h3) }).toEqual({ h2: was.h2, h3: was.h3, h2m: was.h2m, h3m: was.h3m });
    expect(lab.probe(h1, 9090)).toBe('open');
    expectRendered(h1, built.h1);
    expectForeignIntact();
  }, 120_000);

  test('3. redeploy without changes: the plan has zero changes', async () => {
    await synth({ h1Extra: true });
    const detailed = await lab.terraform(['plan', '-detailed-exitcode', '-input=false']);
    expect(detailed.status).toBe(0);
    expect(detailed.stdout).toContain('No changes.');
    const { changes } = await lab.planChanges();
    metrics['no-op redeploy: Terraform changes'] = `${changes.length} (plan -detailed-exitcode exit ${detailed.status})`;
    expect(changes).toEqual([]);
  }, 60_000);

  test('4. lockout: the host rolls back by itself, the deploy fails saying so, and SSH works again', async () => {
    const rulesBefore = library(save(h1));
    await synth({ h1Extra: true, lockout: true });
    const run = lab.terraformStart(['apply', '-auto-approve', '-input=false'], 150_000);
    const applied = await waitFor(() => lineOf(run.lines, /^terraform_data\.h1_Deployment_Apply_\w+ \(remote-exec\): stateful-firewall: apply id: /) >= 0, 60_000, 50);
    const lockedAt = Date.now();
    if (!applied) throw new Error(`no apply id within 60 s:\n${run.lines.map((l) => l.text).join('\n')}`);
    // the new ruleset is live: new SSH connections from the client are reset
    expect(lab.probe(h1, 22, 4, 1)).toBe('refused');
    const restored = await waitFor(() => lab.probe(h1, 22, 4, 1) === 'open', ROLLBACK_SECONDS * 1000 + 30_000, 100);
    const restoredAt = Date.now();
    const r = await run.done;
    expect(restored).toBe(true);
    metrics['lockout: apply done -> SSH accepted again (rollback timer)'] = `${restoredAt - lockedAt} ms (rollbackTimeoutSeconds ${ROLLBACK_SECONDS})`;
    metrics['lockout: apply done -> terraform reports the failure'] = `${run.startedAt + r.durationMs - lockedAt} ms`;
    // the rollback came no earlier than T after the load completed (host clock, from the
    // state dir: an order of events, not a duration measured by a possibly busy test process)
    const rolledBack = fs.readFileSync(path.join(lab.stateDir(h1), 'rolled-back'), 'utf8').split('\n');
    const window = new RegExp(`apply ${rolledBack[0]} loaded: rollback at (\\d+) \\(in ${ROLLBACK_SECONDS}s\\)`)
      .exec(fs.readFileSync(path.join(lab.stateDir(h1), 'rollback.log'), 'utf8'));
    expect(window).not.toBeNull();
    expect(rolledBack[1]).toBe('timeout');
    expect(Number(rolledBack[2])).toBeGreaterThanOrEqual(Number(window![1]));

    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/the host rolled back apply [0-9a-f-]+ \(lockout protection/);
    expect(r.output).toContain('Error: remote-exec provisioner error');
    expect(lab.ssh(h1, 'true').status).toBe(0);
    // back to the last confirmed ruleset (not to "no firewall")
    expect(library(save(h1))).toEqual(rulesBefore);
    expect(lab.probe(h1, 9090)).toBe('open');
    expect(lab.probe(h1, 5432)).toBe('refused');
  }, 180_000);

  test('5. a ruleset the kernel rejects: the deploy fails with iptables-restore\'s message and nothing changes', async () => {
    const full = () => [save(h1), save(h1, 'ip6tables-save'), lab.hostExec(h1, ['nft', '-s', 'list', 'ruleset'])].map(normalizeSave);
    const was = full();
    expect(was[0]).toContain('-A SFW-INPUT'); // h1's confirmed firewall is live
    await synth({ h1Extra: true, brokenV4: true, brokenV4Digest: true });
    expect(fs.readFileSync(lab.bundleFile('h1'), 'utf8')).toContain(built.brokenV4!);

    const r = await apply();
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/Couldn't load match `nosuchmatch'/);
    expect(r.output).toMatch(/rules\.v4 rejected by iptables-restore --test; nothing was changed/);
    expect(full()).toEqual(was);
    expect(lab.ssh(h1, 'true').status).toBe(0);
  }, 120_000);

  test('5b. a file replaced between upload and apply (its sha256 is not the deploy\'s): the deploy fails saying so and nothing changes', async () => {
    const full = () => [save(h1), save(h1, 'ip6tables-save'), lab.hostExec(h1, ['nft', '-s', 'list', 'ruleset'])].map(normalizeSave);
    const was = full();
    await synth({ h1Extra: true, brokenV4: true });
    const r = await apply();
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/rules\.v4 in \S+ is not the file this deploy uploaded \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\): another deploy or user replaced it; nothing was changed/);
    expect(full()).toEqual(was);
  }, 120_000);

  test('6. after the failures a good deploy goes through; foreign chains and tables are untouched', async () => {
    await synth({ h1Extra: true });
    const { changes } = await lab.planChanges();
    // h1's apply resource is tainted by the failed deploys
    expect(changes.map((c) => c.address)).toEqual([expect.stringMatching(/^terraform_data\.h1_Deployment_Apply_/)]);
    ok(await apply(), 'terraform apply');
    expectRendered(h1, built.h1);
    expectRendered(h2, built.h2);
    expectForeignIntact();
    expect(lab.probe(h1, 9090)).toBe('open');
  }, 120_000);

  test('6b. moving a host to another address: the teardown reaches the old address before the new one is deployed', async () => {
    await synth({ h1Extra: true, h2Address: H2_SECOND_ADDRESS });
    const { changes } = await lab.planChanges();
    expect(changes.map((c) => c.address).sort()).toEqual([
      expect.stringMatching(/^terraform_data\.h2_Deployment_Apply_/),
      expect.stringMatching(/^terraform_data\.h2_Deployment_Teardown_/),
    ]);
    const r = ok(await apply(), 'terraform apply');
    // every teardown connection (prepare, then destroy) goes to the old address
    expect([...new Set(outputLines(r, /^terraform_data\.h2_Deployment_Teardown_\w+ \(remote-exec\):\s+Host: /).map((l) => l.split('Host: ')[1]))]).toEqual([h2.address]);
    expect(outputLines(r, /^terraform_data\.h2_Deployment_Apply_\w+ \(remote-exec\):\s+Host: /).map((l) => l.split('Host: ')[1])).toContain(H2_SECOND_ADDRESS);
    const teardownDone = lineOf(r.lines, /^terraform_data\.h2_Deployment_Teardown_\w+: Destruction complete/);
    const applyStarted = lineOf(r.lines, /^terraform_data\.h2_Deployment_Apply_\w+: Creating\.\.\./);
    expect(teardownDone).toBeGreaterThanOrEqual(0);
    expect(applyStarted).toBeGreaterThan(teardownDone);
    // the firewall is there after the teardown of the old address
    expectRendered(h2, built.h2);
    expect(lab.probe(h2, 8443)).toBe('refused');
    expectForeignIntact();
  }, 120_000);

  test('7. terraform destroy removes exactly what the library installed; SSH still works', async () => {
    const r = ok(await lab.terraform(['destroy', '-auto-approve', '-input=false'], 120_000), 'terraform destroy');
    expect(r.stdout).toContain('Destroy complete! Resources: 6 destroyed.');
    for (const h of [h1, h2, h3]) {
      for (const cmd of ['iptables-save', 'ip6tables-save']) expect(save(h, cmd)).not.toContain('SFW-');
      expect(nftTables(h)).not.toContain('table inet stateful_firewall');
      expect(nftTables(h)).not.toContain('table inet sfw_prime');
      expect(lab.ssh(h, 'true', h === h2 ? H2_SECOND_ADDRESS : h.address).status).toBe(0);
    }
    expect([...new Set(outputLines(r, /^terraform_data\.h2_Deployment_Teardown_\w+ \(remote-exec\):\s+Host: /).map((l) => l.split('Host: ')[1]))]).toEqual([H2_SECOND_ADDRESS]);
    // h2: exactly the state before the first deploy
    expect(normalizeSave(save(h2))).toBe(normalizeSave(before.h2v4));
    expect(normalizeSave(save(h2, 'ip6tables-save'))).toBe(normalizeSave(before.h2v6));
    expect(nftTables(h2).join('\n')).toBe(before.h2tables);
    expectForeignIntact();
    // firewalls gone: undeclared ports reachable again
    expect(lab.probe(h1, 5432)).toBe('open');
    expect(lab.probe(h3, 9090)).toBe('open');
    expect(fs.existsSync(path.join(lab.stateDir(h1), 'current.env'))).toBe(false);
  }, 120_000);
});

// a deploy user with password-less sudo (its account in the host's own /etc overlay)
const SUDO_SETUP = `useradd -l -m -d /home/deploy -s /bin/sh -p '*' deploy
chmod 0700 /home/deploy
echo 'deploy ALL=(root) NOPASSWD: ALL' >/etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy`;
const describeSudo = !unsupported ? describe : describe.skip;

describeSudo('terraform deploys as a user with password-less sudo (namespace lab)', () => {
  let lab: TerraformLab;
  let h4: LabHost;

  beforeAll(async () => {
    lab = new TerraformLab('tfsudo');
    h4 = await lab.addHost('h4', 4, { setup: SUDO_SETUP });
    await lab.listen(h4, [8080, 9090]);
  }, 60_000);
  afterAll(() => lab?.destroy());

  const synth = (ports: Port[]) => lab.synth((stack) => lab.firewall(stack, h4, { user: 'deploy', ports, rollbackSeconds: ROLLBACK_SECONDS }));
  const apply = () => lab.terraform(['apply', '-auto-approve', '-input=false'], 120_000);

  test('deploy, redeploy and destroy', async () => {
    const who = lab.ssh(h4, 'id -un && sudo -n id -un', h4.address, 'deploy');
    if (who.status !== 0) throw new Error(`ssh deploy@h4 failed:\n${who.stderr}\n--- sshd\n${lab.sshdLog(h4)}`);
    expect(who.stdout).toBe('deploy\nroot\n');

    let host = await synth([Port.tcp(8080)]);
    ok(await apply(), 'first terraform apply');
    expectLiveIsRendered(lab, h4, host);
    expect(lab.probe(h4, 8080)).toBe('open');
    expect(lab.probe(h4, 9090)).toBe('refused');

    host = await synth([Port.tcp(8080), Port.tcp(9090)]);
    ok(await apply(), 'second terraform apply');
    expectLiveIsRendered(lab, h4, host);
    expect(lab.probe(h4, 9090)).toBe('open');

    ok(await lab.terraform(['destroy', '-auto-approve', '-input=false'], 120_000), 'terraform destroy');
    for (const cmd of ['iptables-save', 'ip6tables-save']) expect(lab.hostExec(h4, [cmd])).not.toContain('SFW-');
    expect(lab.ssh(h4, 'true', h4.address, 'deploy').status).toBe(0);
  }, 120_000);
});
