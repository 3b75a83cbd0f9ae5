/**
 * End to end, machines whose addresses Terraform knows only at apply time: each host's
 * "instance" is a `terraform_data` resource of the same stack (input = the address of a lab
 * namespace, output known only after apply, as an `aws_instance.private_ip` is), and the
 * `StatefulHost`s take `instance.output` as their address. web, app and db roles; db allows
 * app:5432, app allows web:8080. Deployed with the real terraform over real SSH onto the
 * kernel, on the lab's shared segment, probed host to host; once with iptables + ipset,
 * once with nftables (the sets are an ipset / a set in the library's nft table).
 *
 * Then the app "instance" is replaced by a machine at another address: the plan replaces
 * exactly the instance, app's own deployment and db's (whose rules refer to app's
 * address), not web's; after the apply the new address reaches db:5432 and the old one
 * is refused. A bad late-bound value (a token peer set to something that is no address)
 * fails db's deploy with the construct path, and nothing on db changes.
 *
 * The tests run in order and build on each other's Terraform state.
 */
import { Aspects, DataResource, TerraformStack, TerraformVariable } from 'cdktf';
import { Backend, FleetBaseline, HostGroup, Peer, Port, ProvisioningResource, StatefulHost } from '../../src';
import { LabHost, TerraformLab, TerraformResult, terraformLabUnsupported } from '../support/terraform-lab';

const unsupported = terraformLabUnsupported();
if (unsupported) console.warn(`test/deploy/late-bound-lab.test.ts skipped: ${unsupported}`);
const describeLab = unsupported ? describe.skip : describe;

function ok(r: TerraformResult, what: string): TerraformResult {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.output}`);
  return r;
}

describeLab.each([Backend.IPTABLES, Backend.NFTABLES])('hosts whose addresses come from other resources (terraform_data instances), deployed with terraform, %s (namespace lab)', (backend) => {
  let lab: TerraformLab;
  let web: LabHost;
  let app1: LabHost;
  let app2: LabHost;
  let db: LabHost;
  let hosts: { web: StatefulHost; app: StatefulHost; db: StatefulHost };
  const log: string[] = [];

  /** The stack: one instance per role, the app instance on `appMachine`; `office` is a variable db's Office service takes as a peer. */
  function declare(stack: TerraformStack, appMachine: LabHost) {
    const office = new TerraformVariable(stack, 'office', { type: 'string', default: '198.51.100.0/24' });
    // a machine: its address and its SSH host key, both known only once it exists
    const instance = (id: string, h: LabHost) => {
      const i = new DataResource(stack, `${id}-instance`, { input: { ip: h.lanAddress!, key: h.hostKey }, triggersReplace: [h.lanAddress!] });
      return { ip: i.getStringAttribute('output.ip'), key: i.getStringAttribute('output.key') };
    };
    const groups = { web: new HostGroup(stack, 'webs'), app: new HostGroup(stack, 'apps'), db: new HostGroup(stack, 'dbs') };
    const host = (id: string, machine: LabHost, group: HostGroup) => {
      const m = instance(id, machine);
      const h = new StatefulHost(stack, id, {
        address: m.ip,
        backend,
        deployment: {
          resource: ProvisioningResource.TERRAFORM_DATA,
          // every machine's host key is pinned, from the machine itself: when app's machine is replaced by
          // another (another key), the old deployment's teardown still connects to the old machine with its old key
          connection: { user: 'root', privateKey: lab.privateKey, hostKey: m.key },
          rollbackTimeoutSeconds: 10,
        },
      });
      group.addHost(h);
      return h;
    };
    const out = { web: host('web', web, groups.web), app: host('app', appMachine, groups.app), db: host('db', db, groups.db) };
    groups.db.connections.allowFrom(groups.app, Port.POSTGRES);
    groups.app.connections.allowFrom(groups.web, Port.tcp(8080));
    out.db.addService('Office', { ports: [Port.tcp(9187)], peers: [Peer.ipv4(office.stringValue)] });
    Aspects.of(stack).add(new FleetBaseline({ adminPeers: [Peer.ipv4(lab.lanClientAddress)] }));
    return out;
  }

  const apply = (extra: string[] = []) => lab.terraform(['apply', '-auto-approve', '-input=false', ...extra], 180_000);
  const probe = (from: LabHost, to: LabHost, port: number) => lab.probeFrom(from, to.lanAddress!, port);
  /** The members of db's sets, as the kernel holds them (`add SET MEMBER` lines). */
  const dbSets = (): string[] => {
    if (backend === Backend.IPTABLES) return lab.hostExec(db, ['ipset', 'save']).split('\n').filter((l) => l.startsWith('add sfw-')).sort();
    const out: string[] = [];
    let set = '';
    for (const line of lab.hostExec(db, ['nft', 'list', 'table', 'inet', 'stateful_firewall']).split('\n')) {
      const m = /^\s*set (sfw-\S+) \{/.exec(line);
      if (m) set = m[1];
      const e = /^\s*elements = \{ (.*) \}/.exec(line);
      if (e && set) e[1].split(', ').forEach((x) => out.push(`add ${set} ${x}`));
    }
    return out.sort();
  };
  /** db's live library rules. */
  const dbRules = () => (backend === Backend.IPTABLES
    ? lab.hostExec(db, ['iptables-save']).split('\n').filter((l) => l.startsWith('-A SFW-'))
    : lab.hostExec(db, ['nft', 'list', 'table', 'inet', 'stateful_firewall']).split('\n'));

  beforeAll(async () => {
    lab = new TerraformLab(backend === Backend.IPTABLES ? 'late4' : 'latenft');
    [web, app1, db, app2] = await Promise.all([
      lab.addHost('web', 1, { lan: true }),
      lab.addHost('app-1', 2, { lan: true }),
      lab.addHost('db', 3, { lan: true }),
      lab.addHost('app-2', 4, { lan: true }),
    ]);
    await Promise.all([lab.listen(db, [5432, 9187]), lab.listen(app1, [8080]), lab.listen(app2, [8080])]);
  }, 60_000);

  afterAll(() => {
    lab?.destroy();
    if (log.length > 0) console.log(`late-bound lab:\n${log.map((l) => `  ${l}`).join('\n')}`);
  });

  test('1. before any deploy the segment is open (web -> db:5432 connects)', () => {
    expect(probe(web, db, 5432)).toBe('open');
    expect(probe(app1, db, 5432)).toBe('open');
  });

  test('2. apply: the instances first, then the firewalls; app -> db:5432 connects, web -> db:5432 is refused', async () => {
    hosts = await lab.synth((stack) => declare(stack, app1));
    // at synth, db's rules wait for app's address: a set named after app, filled in at deploy
    expect(hosts.db.ruleset.lateBoundLabels).toEqual(['Office', 'app']);
    const r = ok(await apply(), 'terraform apply');
    expect(r.stdout).toContain('Apply complete! Resources: 9 added, 0 changed, 0 destroyed.');
    expect(r.stdout).toMatch(/db_Deployment_Apply_\w+ \(remote-exec\): stateful-firewall: late-bound sets: 2 member\(s\) known at apply time checked and filled in/);
    expect(dbSets()).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^add sfw-4i-app-[0-9a-f]{6} ${app1.lanAddress!.replace(/\./g, '\\.')}$`))]));
    const seen = { appToDb: probe(app1, db, 5432), webToDb: probe(web, db, 5432), webToApp: probe(web, app1, 8080), dbToApp: probe(db, app1, 8080) };
    log.push(`step 2 (apply, app at ${app1.lanAddress}): probes ${JSON.stringify(seen)}; db's sets: ${dbSets().join(' | ')}`);
    expect(seen).toEqual({ appToDb: 'open', webToDb: 'refused', webToApp: 'open', dbToApp: 'refused' });
  }, 300_000);

  test('3. the app instance is replaced by a machine at another address: the plan re-provisions exactly app and db', async () => {
    hosts = await lab.synth((stack) => declare(stack, app2));
    const { plan, changes } = await lab.planChanges();
    const changed = changes.map((c) => `${c.address} ${c.actions.join('+')}`).sort();
    log.push(`step 3 plan: ${changed.join(', ')}`);
    const addrLines = plan.stdout.split('\n').filter((l) => /addr_app|# terraform_data\.|"host"/.test(l));
    log.push(`step 3 plan output (excerpt):\n${addrLines.map((l) => `      ${l}`).join('\n')}`);
    const replaced = changes.map((c) => c.address.replace(/^terraform_data\./, '').replace(/_[0-9A-F]{8}$/, '')).sort();
    expect(replaced).toEqual(['app-instance', 'app_Deployment_Apply', 'app_Deployment_Teardown', 'db_Deployment_Apply']);
    // (the key's padding follows the longest key of the triggers, e.g. a plan summary's)
    expect(plan.stdout).toMatch(new RegExp(`addr_app += "${app1.lanAddress!.replace(/\./g, '\\.')}" -> \\(known after apply\\)`));
    const r = ok(await apply(), 'terraform apply (app replaced)');
    // the apply log: db re-provisioned, web untouched
    expect(r.stdout).toMatch(/terraform_data\.db_Deployment_Apply_\w+: Creation complete/);
    expect(r.stdout).not.toMatch(/terraform_data\.web_Deployment_Apply_\w+: (Creating|Destroying)/);
    const seen = {
      newAppToDb: probe(app2, db, 5432), oldAppToDb: probe(app1, db, 5432), webToDb: probe(web, db, 5432), webToNewApp: probe(web, app2, 8080),
    };
    log.push(`step 3 apply: ${r.stdout.split('\n').filter((l) => /: (Creating|Destroying|Creation complete|Destruction complete)/.test(l)).map((l) => l.replace(/ after \d+s.*$/, '')).join('; ')}`);
    log.push(`step 3 (app now at ${app2.lanAddress}): probes ${JSON.stringify(seen)}; db's sets: ${dbSets().join(' | ')}`);
    expect(seen).toEqual({ newAppToDb: 'open', oldAppToDb: 'refused', webToDb: 'refused', webToNewApp: 'open' });
    // the old machine's deployment was torn down over SSH with the old machine's own host key
    expect(r.stdout).toMatch(/terraform_data\.app_Deployment_Teardown_\w+: Destruction complete/);
    const oldAppRules = backend === Backend.IPTABLES
      ? lab.hostExec(app1, ['iptables-save']).split('\n').filter((l) => l.startsWith('-A SFW-'))
      : lab.hostExec(app1, ['nft', 'list', 'tables']).split('\n').filter((l) => l.includes('stateful_firewall'));
    log.push(`step 3: the old app machine's library rules after its teardown: ${oldAppRules.length}`);
    expect(oldAppRules).toEqual([]);
  }, 300_000);

  test('4. a late-bound value that is no address fails db\'s deploy with the construct path, and nothing on db changes', async () => {
    const before = dbRules();
    const setsBefore = dbSets();
    const r = await apply(['-var', 'office=not-an-address']);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/lab\/db\/Office: addr_Office = invalid is not a valid IPv4 address, CIDR block or range \(set sfw-4n-Office-[0-9a-f]{6}\); nothing was changed/);
    log.push(`step 4 (office=not-an-address): ${r.output.split('\n').find((l) => l.includes('lab/db/Office:'))?.trim()}`);
    expect(dbRules()).toEqual(before);
    expect(dbSets()).toEqual(setsBefore);
    expect(probe(app2, db, 5432)).toBe('open');
    expect(probe(web, db, 5432)).toBe('refused');
  }, 300_000);
});
