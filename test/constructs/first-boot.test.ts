import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, DataResource, TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { Backend, HostGroup, Peer, Port, StatefulHost, UserDataFormat } from '../../src';
import { synthErrors, warnings } from '../support/synth';
import { terraformOutputs } from '../support/terraform-outputs';

function setup(backend = Backend.IPTABLES, outboundFiltering = false): { app: App; stack: TerraformStack; host: StatefulHost } {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'stack');
  const host = new StatefulHost(stack, 'db', { address: '192.0.2.10', backend, outboundFiltering, deployment: { enabled: false } });
  return { app, stack, host };
}

/** The user data as Terraform hands it to the machine. */
function userData(stack: TerraformStack, value: string): string {
  new TerraformOutput(stack, 'userData', { value });
  return terraformOutputs(stack).userData as string;
}

describe('StatefulHost.userData (first-boot baseline)', () => {
  test.each([Backend.IPTABLES, Backend.NFTABLES])('%s: the admin access and denials are in it, services and outbound rules are not', (backend) => {
    const { stack, host } = setup(backend, true);
    const value = host.userData();
    host.addService('Postgres', { ports: [Port.POSTGRES], peers: [Peer.ipv4('198.51.100.0/24')] });
    host.addAdminAccess('Ops', { peers: [Peer.ipv4('203.0.113.7')] });
    host.addDeny('Banned', { peers: [Peer.ipv4('203.0.113.66')] });
    host.addOutbound('Dns', { ports: [Port.udp(53)] });
    // in the JSON, the script's own ${...} is escaped: Terraform interpolates nothing
    new TerraformOutput(stack, 'raw', { value });
    expect(Testing.synth(stack, true)).not.toMatch(/(?<!\$)\$\{/);
    const text = userData(stack, value);
    expect(text).toContain('state=${SFW_STATE_DIR:-/var/lib/stateful-firewall}');
    expect(text).toMatch(/^#cloud-config\n/);
    expect(text).toMatch(backend === Backend.NFTABLES ? /203\.0\.113\.7 : accept/ : /stack\/db\/Ops/);
    expect(text).toContain('203.0.113.7');
    expect(text).toContain('stack/db/Banned');
    expect(text).not.toContain('stack/db/Postgres');
    expect(text).not.toContain('198.51.100.0');
    expect(text).not.toContain('stack/db/Dns');
  });

  test.each([Backend.IPTABLES, Backend.NFTABLES])('%s: the script is POSIX sh and shellcheck-clean', (backend) => {
    const { stack, host } = setup(backend);
    host.addAdminAccess('Ops', { peers: [Peer.ipv4Range('203.0.113.1', '203.0.113.9')], limits: { concurrentPerSource: 3 } });
    const script = userData(stack, host.userData({ format: UserDataFormat.SHELL_SCRIPT }));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-first-boot-')), 'user-data.sh');
    fs.writeFileSync(file, script);
    const lint = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' });
    expect(lint.stdout).toBe('');
    expect(lint.status).toBe(0);
    expect(spawnSync('dash', ['-n', file]).status).toBe(0);
  });

  test('a group\'s admin access is the host\'s too', () => {
    const { stack, host } = setup();
    const group = new HostGroup(stack, 'dbs');
    group.addHost(host);
    group.addAdminAccess('Dba', { peers: [Peer.ipv4('203.0.113.8')] });
    expect(userData(stack, host.userData())).toContain('stack/dbs/Dba');
  });

  test('without admin access: an error naming the host, nothing written', () => {
    const { app, stack, host } = setup();
    host.addService('Web', { ports: [Port.HTTP] });
    new TerraformOutput(stack, 'userData', { value: host.userData() });
    expect(synthErrors(app)).toEqual([
      '[stack/db] userData() needs an AdminAccess on stack/db or one of its groups: the first-boot baseline would refuse every new connection, the first deploy\'s too',
    ]);
  });

  test('an unknown format is an error naming the host', () => {
    const { host } = setup();
    expect(() => host.userData({ format: 'yaml' as UserDataFormat })).toThrow("stack/db: userData format 'yaml' is not one of cloud-config, shell-script");
  });

  test('user data over EC2\'s 16 KB: a warning with the size', () => {
    const { stack, host } = setup();
    // 600 single addresses, never merged (every other one), listed rule by rule
    const peers = Array.from({ length: 600 }, (_, i) => Peer.ipv4(`10.${Math.floor(i / 100)}.${(i % 100) * 2}.1`));
    const big = new StatefulHost(stack, 'big', { address: '192.0.2.11', setThreshold: Infinity, deployment: { enabled: false } });
    big.addAdminAccess('Ops', { peers });
    host.addAdminAccess('Ops', { peers: [Peer.ipv4('203.0.113.7')] });
    new TerraformOutput(stack, 'bigUserData', { value: big.userData() });
    new TerraformOutput(stack, 'smallUserData', { value: host.userData() });
    Testing.synth(stack, true);
    expect(warnings(big).join('\n')).toMatch(/the first-boot user data is \d+ bytes: EC2 accepts at most 16384/);
    expect(warnings(host).join('\n')).not.toMatch(/first-boot/);
  });
});

describe('StatefulHost.userData on machines the stack creates', () => {
  test('two machines that admit each other: their user data does not refer to each other (terraform plan finds no cycle)', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'stack');
    const hosts: Record<string, StatefulHost> = {};
    for (const name of ['a', 'b']) {
      // the host's address is the machine's output, the machine's user data the host's baseline
      const ip = `192.0.2.${name === 'a' ? 1 : 2}`;
      const machine = new DataResource(stack, `${name}-machine`, { input: { ip } });
      hosts[name] = new StatefulHost(stack, name, { address: machine.getStringAttribute('output.ip'), deployment: { enabled: false } });
      machine.input = { ip, user_data: hosts[name].userData() };
    }
    for (const [self, other] of [['a', 'b'], ['b', 'a']]) {
      hosts[self].addAdminAccess('Ops', { peers: [Peer.ipv4('203.0.113.7'), hosts[other].peer!] });
      hosts[self].connections.allowFrom(hosts[other], Port.tcp(8080));
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-first-boot-plan-'));
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), Testing.synth(stack, true));
    const tf = (args: string[]) => spawnSync('terraform', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
    expect(tf(['init', '-input=false', '-no-color']).status).toBe(0);
    const plan = tf(['plan', '-input=false', '-no-color']);
    expect(plan.stderr).not.toMatch(/cycle/i);
    expect(plan.status).toBe(0);
    expect(plan.stdout).toContain('Plan: 2 to add');
    // the other machine's address is left out of the baseline, with a warning; the office is in it
    expect(warnings(hosts.a).join('\n')).toContain('the first-boot baseline leaves out peers known only at deploy time (stack/a/Ops)');
    const input = JSON.parse(Testing.synth(stack)).resource.terraform_data['a-machine'].input;
    expect(input.user_data).toContain('203.0.113.7');
    expect(input.user_data).not.toMatch(/\$\{terraform_data/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
