/**
 * Deploy safety with real terraform, real sshd and the real kernel (namespace lab,
 * test/support/terraform-lab.ts):
 *
 * - a local unprivileged user (`mallory`, in the host's own mount namespace) races every
 *   step Terraform uploads and runs: it rewrites any file of the deploy it can open for
 *   writing with a payload that records the uid it ran as. A control resource that runs
 *   plain remote-exec steps from /tmp (Terraform's default) shows the attack works; the
 *   library's steps, as root and as a sudo user, deploy and destroy without one rewrite;
 * - a deploy user whose sudo asks for a password fails at once, saying what to configure;
 * - two operators (two apps, two states) deploy different rulesets to one host at the same
 *   time, several times: each run lands and says so, or fails saying it was superseded;
 *   the ruleset the host records as current is a successful run's, and it is the live one.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DataResource, RemoteExecProvisioner, TerraformStack } from 'cdktf';
import { Port, StatefulHost } from '../../src';
import { library } from '../support/iptables-objects';
import { runHost } from '../support/netns';
import { LabHost, TerraformLab, TerraformResult, terraformLabUnsupported, waitFor } from '../support/terraform-lab';

const unsupported = terraformLabUnsupported();
if (unsupported) console.warn(`test/deploy/deploy-safety.test.ts skipped: ${unsupported}`);
const describeLab = unsupported ? describe.skip : describe;

const MALLORY = 'useradd -l -M -d /nonexistent -s /bin/sh mallory';
const DEPLOY_USER = `useradd -l -m -d /home/deploy -s /bin/sh -p '*' deploy
chmod 0700 /home/deploy
echo 'deploy ALL=(root) NOPASSWD: ALL' >/etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy`;
// sudo that wants a password (the account has one; sudoers without NOPASSWD)
const PASSWORD_SUDO = `useradd -l -m -d /home/deploy -s /bin/sh -p "$(openssl passwd -6 secret 2>/dev/null || echo '$6$x$y')" deploy
chmod 0700 /home/deploy
echo 'deploy ALL=(root) ALL' >/etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy`;

/**
 * The attacker: for `seconds`, rewrites every file it can open for writing under the given
 * folders with a payload that appends "<file> uid=<uid>" to /tmp/pwned. It is woken by
 * inotify (a chmod, a write, a new file) in every folder it may watch, and also rescans
 * all folders between events. Prints each rewrite and, at the end, how many scans it made.
 */
const ATTACKER = `
import ctypes, os, select, signal, struct, sys, time
deadline = time.time() + float(sys.argv[1])
stopped = []
signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
roots = sys.argv[2:]
payload = b'#!/bin/sh\\necho "$0 uid=$(id -u)" >> /tmp/pwned\\n'
libc = ctypes.CDLL('libc.so.6', use_errno=True)
IN_ATTRIB, IN_CLOSE_WRITE, IN_CREATE, IN_MOVED_TO = 0x4, 0x8, 0x100, 0x80
fd = libc.inotify_init1(os.O_NONBLOCK)
watched = {}
def watch(d):
    if d in watched.values():
        return
    wd = libc.inotify_add_watch(fd, d.encode(), IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO)
    if wd >= 0:
        watched[wd] = d
scans = 0
rewritten = set()
def attack(path):
    # once per file: a file held open for writing cannot be executed (ETXTBSY)
    if path in rewritten:
        return
    try:
        f = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.write(f, payload)
        os.close(f)
        if path not in rewritten:
            rewritten.add(path)
            print('rewrote ' + path, flush=True)
    except OSError:
        pass
def walk(d, depth=0):
    try:
        entries = list(os.scandir(d))
    except OSError:
        return
    watch(d)
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                if depth < 4:
                    walk(e.path, depth + 1)
            elif e.is_file(follow_symlinks=False):
                attack(e.path)
        except OSError:
            pass
for r in roots:
    walk(r)
print('ready watching %d folder(s)' % len(watched), flush=True)
while time.time() < deadline and not stopped:
    try:
        r, _, _ = select.select([fd], [], [], 0.002)
    except InterruptedError:
        r = []
    if r:
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            buf = b''
        i = 0
        while i + 16 <= len(buf):
            wd, mask, cookie, n = struct.unpack_from('iIII', buf, i)
            name = buf[i + 16:i + 16 + n].split(b'\\0', 1)[0].decode(errors='replace')
            i += 16 + n
            if name and wd in watched:
                attack(os.path.join(watched[wd], name))
    scans += 1
    for root in roots:
        walk(root)
print('scans %d' % scans, flush=True)
`;

interface Attacker {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the attacker as `mallory` in the host's mount and network namespaces. */
async function startAttacker(lab: TerraformLab, host: LabHost, seconds: number): Promise<Attacker> {
  const child = spawn('nsenter', ['-t', String(lab.sshdPid(host)), '-m', '-n', '--',
    'setpriv', '--reuid=mallory', '--regid=mallory', '--clear-groups',
    '/usr/bin/python3', '-u', '-c', ATTACKER, String(seconds), '/tmp', '/root', '/home', '/var/lib/stateful-firewall'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  if (!(await waitFor(() => out.includes('ready') || child.exitCode !== null, 10_000, 50)) || !out.includes('ready')) {
    child.kill('SIGKILL');
    throw new Error(`the attacker did not start: ${out}`);
  }
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await waitFor(() => child.exitCode !== null || child.signalCode !== null, 5_000, 50);
      }
    },
  };
}

/** Runs a shell command as root in the host's own mount namespace (its /var/lib, /etc, /tmp). */
let inHost: (host: LabHost, script: string) => void;

const pwned = (host: LabHost): string => {
  const f = path.join(host.dir, 'tmp', 'pwned');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
};

function ok(r: TerraformResult, what: string): TerraformResult {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${r.output}`);
  return r;
}

describeLab('deploy safety (terraform, sshd, kernel in namespaces)', () => {
  let lab: TerraformLab;
  let asRoot: LabHost;
  let asSudo: LabHost;
  let withPassword: LabHost;

  beforeAll(async () => {
    lab = new TerraformLab('tfsafe');
    asRoot = await lab.addHost('r1', 21, { setup: `${MALLORY}\n${DEPLOY_USER}` });
    asSudo = await lab.addHost('s1', 22, { setup: `${MALLORY}\n${DEPLOY_USER}` });
    withPassword = await lab.addHost('p1', 23, { setup: PASSWORD_SUDO });
    for (const h of [asRoot, asSudo]) await lab.listen(h, [8080, 8081, 8082, 8083, 8084, 9090]);
  }, 90_000);
  afterAll(() => lab?.destroy());
  inHost = (host: LabHost, script: string) => {
    const r = runHost(['nsenter', '-t', String(lab.sshdPid(host)), '-m', '-n', '--', 'sh', '-c', script]);
    if (r.status !== 0) throw new Error(`in ${host.name}: ${script}: ${r.stderr}`);
  };

  const firewall = (stack: TerraformStack, h: LabHost, user: string, ports: Port[], id = h.name) => lab.firewall(stack, h, { user, ports, id });

  test('a local user racing every step cannot change what runs as root (root and sudo deploys, redeploy, destroy)', async () => {
    const attackers = [await startAttacker(lab, asRoot, 170), await startAttacker(lab, asSudo, 170)];
    try {
      // control: five plain remote-exec steps as root from /tmp, Terraform's default script_path
      await lab.synth((stack) => {
        new DataResource(stack, 'Control', {
          connection: { type: 'ssh', host: asRoot.address, user: 'root', privateKey: lab.privateKey, hostKey: asRoot.hostKey },
          provisioners: Array.from({ length: 5 }, (): RemoteExecProvisioner => ({ type: 'remote-exec', inline: ['sleep 0.2', 'true'] })),
        });
      });
      const controlRun = await lab.terraform(['apply', '-auto-approve', '-input=false'], 120_000);
      const control = pwned(asRoot);
      if (control === '') throw new Error(`the attack did not work against the control:\n${controlRun.output}\n--- attacker\n${attackers[0].output()}`);
      // the attack works against steps in /tmp: at least one ran the attacker's code as root
      expect(control).toMatch(/^\/tmp\/terraform_\d+\.sh uid=0$/m);
      fs.rmSync(path.join(asRoot.dir, 'tmp', 'pwned'));

      // the library: root on one host, a sudo user on the other; deploy, redeploy, destroy
      const deploy = (ports: Port[]) => lab.synth((stack) => {
        firewall(stack, asRoot, 'root', ports);
        firewall(stack, asSudo, 'deploy', ports);
      });
      await deploy([Port.tcp(8080)]);
      ok(await lab.terraform(['apply', '-auto-approve', '-input=false'], 150_000), 'first deploy');
      expect(lab.probe(asRoot, 8080)).toBe('open');
      expect(lab.probe(asSudo, 8080)).toBe('open');
      expect(lab.probe(asSudo, 9090)).toBe('refused');
      await deploy([Port.tcp(8080), Port.tcp(9090)]);
      ok(await lab.terraform(['apply', '-auto-approve', '-input=false'], 150_000), 'redeploy');
      expect(lab.probe(asSudo, 9090)).toBe('open');
      ok(await lab.terraform(['destroy', '-auto-approve', '-input=false'], 150_000), 'destroy');
      for (const h of [asRoot, asSudo]) {
        expect(pwned(h)).toBe('');
        expect(lab.hostExec(h, ['iptables-save'])).not.toContain('SFW-');
        // the state dir is root's alone; no step file is left behind
        const st = fs.statSync(lab.stateDir(h));
        expect([st.uid, st.mode & 0o777]).toEqual([0, 0o700]);
      }
      // nothing of the deploy is left but step files Terraform emptied after running them
      const nonEmpty = (dir: string, re: RegExp) => fs.readdirSync(dir).filter((f) => re.test(f) && fs.statSync(path.join(dir, f)).size > 0);
      expect(nonEmpty(path.join(asSudo.dir, 'home', 'deploy', '.stateful-firewall'), /./)).toEqual([]);
      expect(nonEmpty(path.join(asSudo.dir, 'home', 'deploy'), /^\.stateful-firewall-prepare/)).toEqual([]);
    } finally {
      for (const a of attackers) await a.stop();
    }
    for (const a of attackers) {
      // the attackers ran all along and found nothing of the library's to rewrite
      expect(a.output()).toMatch(/scans [1-9]\d*/);
      expect(a.output().split('\n').filter((l) => l.startsWith('rewrote ') && !/\/tmp\/terraform_\d+\.sh$/.test(l))).toEqual([]);
    }
  }, 600_000);

  test('a deploy user whose sudo wants a password fails at once, saying what to configure', async () => {
    await lab.synth((stack) => firewall(stack, withPassword, 'deploy', [Port.tcp(8080)]), 'password');
    // the terraform run is given far longer than the failure takes: a sudo prompt would hang until it is killed
    const r = await lab.terraform(['apply', '-auto-approve', '-input=false'], 300_000, 'password');
    expect(r.signal).toBeNull();
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('deploy cannot run sudo without a password');
    expect(r.output).toContain("'deploy ALL=(root) NOPASSWD: ALL'");
    expect(r.output).not.toContain('[sudo] password for');
    // nothing was installed
    expect(lab.hostExec(withPassword, ['iptables-save'])).not.toContain('SFW-');
  }, 320_000);

  test('two operators deploying to one host at once: each lands and says so, or fails; the host runs a successful run\'s ruleset', async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < 4; trial++) {
      const hosts: Record<string, StatefulHost> = {};
      await lab.synth((stack) => (hosts.a = firewall(stack, asSudo, 'deploy', [Port.tcp(8080 + trial)], 'shared-host')), 'opa');
      await lab.synth((stack) => (hosts.b = firewall(stack, asSudo, 'deploy', [Port.tcp(9090), Port.tcp(8080 + ((trial + 1) % 5))], 'shared-host')), 'opb');
      // the host's lock is held until both runs wait at their apply step, then released: the two
      // applies and the first one's confirm race for it, as two operators' deploys do
      inHost(asSudo, `mkdir -p /var/lib/stateful-firewall/lock && echo ${process.pid} >/var/lib/stateful-firewall/lock/pid`);
      const runs = { a: lab.terraformStart(['apply', '-auto-approve', '-input=false'], 240_000, 'opa'), b: lab.terraformStart(['apply', '-auto-approve', '-input=false'], 240_000, 'opb') };
      const atApply = (r: typeof runs.a) => r.lines.filter((l) => /Provisioning with 'remote-exec'/.test(l.text)).length >= 1;
      const waiting = await waitFor(() => atApply(runs.a) && atApply(runs.b), 45_000, 100);
      await new Promise((r) => setTimeout(r, 1500));
      inHost(asSudo, 'rm -rf /var/lib/stateful-firewall/lock');
      const results = { a: await runs.a.done, b: await runs.b.done };
      expect(waiting).toBe(true);
      const ids: Record<string, string> = {};
      for (const op of ['a', 'b'] as const) {
        const show = await lab.terraform(['show', '-json'], 60_000, `op${op}`);
        const resources = JSON.parse(show.stdout).values?.root_module?.resources ?? [];
        ids[op] = resources.find((r: any) => r.type === 'terraform_data' && r.name.includes('Apply'))?.values?.id ?? '';
      }
      const current = /^ST_ID='([^']*)'/m.exec(fs.readFileSync(path.join(lab.stateDir(asSudo), 'current.env'), 'utf8'))?.[1];
      const winner = (['a', 'b'] as const).find((op) => ids[op] === current);
      outcomes.push(`trial ${trial}: a ${results.a.status === 0 ? 'ok' : 'failed'}, b ${results.b.status === 0 ? 'ok' : 'failed'}, current ${winner ?? '?'}`);
      // the host's current apply is a run that reported success, and its ruleset is live
      expect(winner).toBeDefined();
      expect(results[winner!].status).toBe(0);
      expect(library(lab.hostExec(asSudo, ['iptables-save']))).toEqual(library(hosts[winner!].renderedFiles['rules.v4']));
      expect(library(lab.hostExec(asSudo, ['ip6tables-save']))).toEqual(library(hosts[winner!].renderedFiles['rules.v6']));
      // a run that failed says why: superseded by the other, or rolled back; never silence
      for (const op of ['a', 'b'] as const) {
        if (results[op].status !== 0) expect(results[op].output).toMatch(/is not the latest apply|rolled back|superseded|the active ruleset is not the one apply/);
      }
      // a success that is not current was confirmed before the other run's apply (sequential, not lost)
      const loser = winner === 'a' ? 'b' : 'a';
      if (results[loser].status === 0) {
        expect(fs.readFileSync(path.join(lab.stateDir(asSudo), 'confirmed'), 'utf8').split('\n')[0]).toBe(current);
      }
    }
    console.log(`overlapping deploys:\n${outcomes.join('\n')}`);
    for (const op of ['opa', 'opb']) await lab.terraform(['destroy', '-auto-approve', '-input=false'], 120_000, op);
  }, 900_000);
});
