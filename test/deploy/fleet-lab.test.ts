/**
 * End to end, a fleet: three hosts in three roles (web, app, db), each a `StatefulHost` in
 * its own `HostGroup`, deployed with the real `terraform` (terraform_data) over real SSH
 * onto the kernel (test/support/terraform-lab.ts). The hosts share a lab segment (a bridge,
 * 10.97.0.0/24 and fd00:97::/64), so the openings between groups are tested host to host:
 * app -> db:5432 and web -> app:8080 connect, everything else gets the firewall's TCP reset.
 * Admin SSH comes from the terraform client only, through a `FleetBaseline` aspect.
 * The reachability matrix the synth writes (`firewall/reachability.json`, from the compiled
 * rulesets) is checked cell by cell with real connections: every ordered pair of hosts,
 * both families, every port a target listens on (sshd on 22, the services on 5432, 8080).
 *
 * The tests run in order and build on each other's Terraform state.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Aspects, TerraformStack } from 'cdktf';
import { FleetBaseline, FleetDiagram, HostGroup, Peer, Port, ProvisioningResource, StatefulHost } from '../../src';
import { LabHost, TerraformLab, TerraformResult, terraformLabUnsupported } from '../support/terraform-lab';

const unsupported = terraformLabUnsupported();
if (unsupported) console.warn(`test/deploy/fleet-lab.test.ts skipped: ${unsupported}`);
const describeLab = unsupported ? describe.skip : describe;

const ROLLBACK_SECONDS = 10;
const FAMILIES = [4, 6] as const;

function ok(r: TerraformResult, what: string): TerraformResult {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.output}`);
  return r;
}

/** Time from each apply provisioner's "Connected!" to its script's "apply id:" line, by host. */
function scriptDurations(r: TerraformResult): Record<string, number> {
  const out: Record<string, number> = {};
  r.lines.forEach((l, i) => {
    const m = /^terraform_data\.((.+)_Deployment_Apply_\w+) \(remote-exec\): stateful-firewall: apply id: /.exec(l.text);
    const connected = m && r.lines.slice(0, i).reverse().find((c) => c.text === `terraform_data.${m[1]} (remote-exec): Connected!`);
    if (connected) out[m[2]] = l.atMs - connected.atMs;
  });
  return out;
}

/** The library's rule lines (`-A SFW-...`) of iptables-save output or a rendered file, counters stripped. */
function libraryRules(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/^\[\d+:\d+\] /, '')).filter((l) => l.startsWith('-A SFW-'));
}

describeLab('a fleet (web, app, db groups) deployed with terraform onto a shared lab segment (namespace lab)', () => {
  let lab: TerraformLab;
  let web: LabHost;
  let app: LabHost;
  let db: LabHost;
  let app2: LabHost;
  let hosts: Map<LabHost, StatefulHost>;
  const metrics: Record<string, string> = {};

  const v4 = (h: LabHost) => h.lanAddress!;
  const v6 = (h: LabHost) => h.lanAddress6!;
  const addr = (h: LabHost, family: 4 | 6) => (family === 4 ? v4(h) : v6(h));
  const save = (h: LabHost, family: 4 | 6) => lab.hostExec(h, [family === 4 ? 'iptables-save' : 'ip6tables-save', '-c']);
  /** Packets that hit the library's TCP reset (the default action for TCP) on the host. */
  const resets = (h: LabHost, family: 4 | 6) => save(h, family).split('\n')
    .filter((l) => l.includes('-A SFW-INPUT -p tcp') && l.endsWith('-j REJECT --reject-with tcp-reset'))
    .reduce((sum, l) => sum + Number(/^\[(\d+):/.exec(l)![1]), 0);

  /** Declares the fleet; app-2 joins the app group when `withApp2`. */
  function declare(stack: TerraformStack, withApp2: boolean): Map<LabHost, StatefulHost> {
    const groups = { web: new HostGroup(stack, 'web'), app: new HostGroup(stack, 'app'), db: new HostGroup(stack, 'db') };
    const members: [LabHost, HostGroup][] = [[web, groups.web], [app, groups.app], [db, groups.db]];
    if (withApp2) members.push([app2, groups.app]);
    const out = new Map<LabHost, StatefulHost>();
    for (const [h, group] of members) {
      const host = new StatefulHost(stack, h.name, {
        address: v4(h),
        addresses: [v4(h), v6(h)],
        deployment: {
          resource: ProvisioningResource.TERRAFORM_DATA,
          connection: { user: 'root', privateKey: lab.privateKey, hostKey: h.hostKey },
          rollbackTimeoutSeconds: ROLLBACK_SECONDS,
        },
      });
      group.addHost(host);
      out.set(h, host);
    }
    groups.db.connections.allowFrom(groups.app, Port.POSTGRES);
    groups.app.connections.allowFrom(groups.web, Port.tcp(8080));
    // admin SSH from the terraform client only, on every host
    Aspects.of(stack).add(new FleetBaseline({ adminPeers: [Peer.ipv4(lab.lanClientAddress), Peer.ipv6(lab.lanClientAddress6)] }));
    new FleetDiagram(stack, 'Diagram');
    return out;
  }

  const synth = async (withApp2: boolean) => {
    hosts = await lab.synth((stack) => declare(stack, withApp2));
  };
  const apply = () => lab.terraform(['apply', '-auto-approve', '-input=false'], 120_000);

  /** The live SFW-* rules are the rendered ones, both families. */
  function expectLiveIsRendered(h: LabHost): void {
    const files = hosts.get(h)!.renderedFiles;
    expect(libraryRules(save(h, 4))).toEqual(libraryRules(files['rules.v4']));
    expect(libraryRules(save(h, 6))).toEqual(libraryRules(files['rules.v6']));
  }

  /** A connection from `from` to `to`:`port` is reset by `to`'s firewall (its reset counter goes up). */
  function expectResetByFirewall(from: LabHost, to: LabHost, port: number, family: 4 | 6): void {
    const before = resets(to, family);
    expect(lab.probeFrom(from, addr(to, family), port)).toBe('refused');
    expect(resets(to, family)).toBeGreaterThan(before);
  }

  /** Ports each lab host listens on (sshd on every host). */
  const listening = () => new Map<LabHost, number[]>([[web, [22]], [app, [22, 8080]], [db, [22, 5432]], [app2, [22, 8080]]]);
  const matrixChecks = { cells: 0, probes: 0, agreed: 0 };

  /**
   * Every cell of the synthesized reachability matrix between deployed hosts, probed with a
   * real TCP connection on each port the target listens on, both families: open exactly
   * when the matrix says the source can open that port to the target.
   */
  function expectMatrixMatchesConnections(): void {
    const matrix = JSON.parse(fs.readFileSync(path.join(lab.stackDir, 'firewall', 'reachability.json'), 'utf8')) as {
      cells: { from: string; to: string; open: string }[];
    };
    const byName = new Map([...hosts.keys()].map((h) => [h.name, h]));
    const mismatches: string[] = [];
    for (const cell of matrix.cells) {
      const from = byName.get(cell.from)!;
      const to = byName.get(cell.to)!;
      matrixChecks.cells++;
      for (const family of FAMILIES) {
        for (const port of listening().get(to)!) {
          // the cell's TCP ports, per family when the families differ (`tcp/5432 (IPv4)`)
          const tcp = cell.open.split('; ').filter((p) => p.startsWith('tcp/'))
            .filter((p) => !p.includes('(IPv') || p.endsWith(`(IPv${family})`))
            .flatMap((p) => p.slice(4).replace(/ \(IPv[46]\)$/, '').split(','));
          const opens = tcp.some((r) => {
            const [a, b] = r.split('-').map(Number);
            return a <= port && port <= (b ?? a);
          });
          const seen = lab.probeFrom(from, addr(to, family), port);
          matrixChecks.probes++;
          if (seen === (opens ? 'open' : 'refused')) matrixChecks.agreed++;
          else mismatches.push(`${cell.from} -> ${cell.to} IPv${family} tcp/${port}: matrix '${cell.open}', connection ${seen}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  }

  beforeAll(async () => {
    lab = new TerraformLab('fleet');
    [web, app, db, app2] = await Promise.all([
      lab.addHost('web-1', 1, { lan: true }),
      lab.addHost('app-1', 2, { lan: true }),
      lab.addHost('db-1', 3, { lan: true }),
      lab.addHost('app-2', 4, { lan: true }),
    ]);
    await Promise.all([lab.listen(db, [5432]), lab.listen(app, [8080]), lab.listen(app2, [8080])]);
  }, 60_000);

  afterAll(() => {
    lab?.destroy();
    if (Object.keys(metrics).length > 0) {
      console.log(`fleet lab measurements:\n${Object.entries(metrics).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
    }
  });

  test('1. before any deploy the segment is open: every host reaches every listener, both families', () => {
    for (const family of FAMILIES) {
      expect(lab.probeFrom(web, addr(db, family), 5432)).toBe('open');
      expect(lab.probeFrom(db, addr(app, family), 8080)).toBe('open');
      expect(lab.probeFrom(app, addr(db, family), 5432)).toBe('open');
    }
  });

  test('2. apply: app -> db:5432 and web -> app:8080 connect, web -> db and db -> app are reset by the firewall', async () => {
    await synth(false);
    const r = ok(await apply(), 'terraform apply');
    expect(r.stdout).toContain('Apply complete! Resources: 6 added, 0 changed, 0 destroyed.');
    metrics['terraform apply wall time, 3 hosts (web-1, app-1, db-1) in parallel'] = `${r.durationMs} ms`;
    const durations = scriptDurations(r);
    metrics['  of which SSH connected -> "apply id" (sfw-apply.sh apply), per host'] =
      Object.entries(durations).sort().map(([h, ms]) => `${h} ${ms} ms`).join(', ');
    expect(Object.keys(durations).sort()).toEqual(['app-1', 'db-1', 'web-1']);

    for (const h of [web, app, db]) expectLiveIsRendered(h);
    // the openings name the groups' members' addresses, both families
    expect(hosts.get(db)!.renderedFiles['rules.v4']).toContain(`-A SFW-INPUT -s ${v4(app)}/32 -p tcp -m conntrack --ctstate NEW -m tcp --dport 5432 `);
    expect(hosts.get(db)!.renderedFiles['rules.v6']).toContain(`-A SFW-INPUT -s ${v6(app)}/128 -p tcp -m conntrack --ctstate NEW -m tcp --dport 5432 `);

    for (const family of FAMILIES) {
      expect(lab.probeFrom(app, addr(db, family), 5432)).toBe('open');
      expectResetByFirewall(web, db, 5432, family);
      expect(lab.probeFrom(web, addr(app, family), 8080)).toBe('open');
      expectResetByFirewall(db, app, 8080, family);
      // app-2 is not in the fleet yet: db does not know it
      expectResetByFirewall(app2, db, 5432, family);
    }
    // admin SSH from the terraform client only
    for (const h of [web, app, db]) expect(lab.ssh(h, 'true', v4(h)).status).toBe(0);
    expect(lab.ssh(db, 'true', v6(db)).status).toBe(0);
    expectResetByFirewall(web, db, 22, 4);
    // the matrix: 6 ordered pairs, app -> db:5432 and web -> app:8080 the only openings between them
    expectMatrixMatchesConnections();
  }, 400_000);

  test('3. a second app host joins the app group: db is redeployed (only db), app-2 reaches db', async () => {
    await synth(true);
    const { changes } = await lab.planChanges();
    expect(changes.map((c) => `${c.address.replace(/_[0-9A-F]{8}$/, '')} ${c.actions.join(',')}`).sort()).toEqual([
      'terraform_data.app-2_Deployment_Apply create',
      'terraform_data.app-2_Deployment_Teardown create',
      'terraform_data.db-1_Deployment_Apply delete,create',
    ]);
    const r = ok(await apply(), 'terraform apply');
    expect(r.stdout).toContain('Apply complete! Resources: 3 added, 0 changed, 1 destroyed.');
    metrics['terraform apply wall time, app-2 added (app-2 created, db-1 replaced)'] = `${r.durationMs} ms`;

    for (const h of [web, app, db, app2]) expectLiveIsRendered(h);
    for (const family of FAMILIES) {
      expect(lab.probeFrom(app2, addr(db, family), 5432)).toBe('open');
      expect(lab.probeFrom(app, addr(db, family), 5432)).toBe('open');
      expect(lab.probeFrom(web, addr(app2, family), 8080)).toBe('open');
      expectResetByFirewall(db, app2, 8080, family);
      expectResetByFirewall(web, db, 5432, family);
    }
    expectMatrixMatchesConnections();
    metrics['reachability matrix checked with real connections'] =
      `${matrixChecks.agreed}/${matrixChecks.probes} probes agree over ${matrixChecks.cells} cells (steps 2 and 3)`;
  }, 400_000);

  test('4. terraform destroy removes every SFW-* chain; the segment is open again', async () => {
    const r = ok(await lab.terraform(['destroy', '-auto-approve', '-input=false'], 120_000), 'terraform destroy');
    expect(r.stdout).toContain('Destroy complete! Resources: 8 destroyed.');
    metrics['terraform destroy wall time, 4 hosts'] = `${r.durationMs} ms`;
    for (const h of [web, app, db, app2]) {
      for (const family of FAMILIES) expect(save(h, family)).not.toContain('SFW-');
      expect(lab.ssh(h, 'true', v4(h)).status).toBe(0);
    }
    for (const family of FAMILIES) {
      expect(lab.probeFrom(web, addr(db, family), 5432)).toBe('open');
      expect(lab.probeFrom(db, addr(app, family), 8080)).toBe('open');
    }
  }, 90_000);
});
