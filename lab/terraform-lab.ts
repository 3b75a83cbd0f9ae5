/**
 * A namespace lab for end-to-end deploy tests: real `terraform`, real `sshd`, real
 * netfilter (run as root).
 *
 * - one client namespace, from which terraform and the probes run;
 * - one namespace per host, linked to the client by its own veth pair
 *   (client 10.98.<n>.1 / fd00:98:<n>::1, host 10.98.<n>.2 / fd00:98:<n>::2);
 * - optionally a shared segment (`addHost(..., { lan: true })`): a bridge in a namespace
 *   of its own that the client (10.97.0.1 / fd00:97::1) and those hosts
 *   (10.97.0.<100+n> / fd00:97::<100+n>) are attached to, so hosts reach each other;
 * - every host runs its own `sshd -D` (own config, generated ed25519 host key, the lab's
 *   client key authorized for root) in a private mount namespace: /etc and /var/lib are
 *   overlays whose writes land in the host's folder (so the library's state dir
 *   /var/lib/stateful-firewall is per host and visible from here, and persistence never
 *   touches this machine's /etc), /tmp is a folder of its own, /run a tmpfs.
 *
 * Everything lives in a folder under os.tmpdir() (test-tmp/ in jest). `destroy()` kills
 * every process in the lab's namespaces (sshd, sessions, rollback timers, listeners,
 * terraform) and deletes the namespaces; it also runs on process exit (see netns.ts).
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import { Lab, netnsSupported, ProbeResult, runHost, RunResult } from './netns';
import { Peer, Port, ProvisioningResource, StatefulHost } from '../src';

const SSHD = '/usr/sbin/sshd';

/** One line of terraform output and when it arrived (ms since the run started). */
export interface TimedLine {
  readonly atMs: number;
  readonly text: string;
}

/** Outcome of a terraform run. */
export interface TerraformResult extends RunResult {
  /** stdout lines with their arrival times. */
  readonly lines: readonly TimedLine[];
  /** stdout and stderr together. */
  readonly output: string;
}

/** A terraform run in progress. */
export interface TerraformRun {
  /** stdout lines so far. */
  readonly lines: readonly TimedLine[];
  /** Date.now() when the run started. */
  readonly startedAt: number;
  /** Resolves when terraform exits (or was killed at the timeout). */
  readonly done: Promise<TerraformResult>;
}

/** A host of the lab. */
export interface LabHost {
  readonly name: string;
  readonly ns: string;
  /** The host's lab addresses. */
  readonly address: string;
  readonly address6: string;
  /** Further IPv4 addresses sshd listens on. */
  readonly extraAddresses: readonly string[];
  /** The client's addresses on the link to this host. */
  readonly clientAddress: string;
  readonly clientAddress6: string;
  /** The host's addresses on the shared segment (undefined unless added with `lan`); sshd listens on them too. */
  readonly lanAddress?: string;
  readonly lanAddress6?: string;
  /** The host's public key ("ssh-ed25519 AAAA... comment"). */
  readonly hostKey: string;
  /** The host's folder (config, keys, overlays). */
  readonly dir: string;
  /** The sshd process. */
  readonly sshd: ChildProcess;
}

/** Options of `TerraformLab.addHost`. */
/** Options of `TerraformLab.firewall`. */
export interface LabFirewallOptions {
  /** The SSH user (default root). */
  readonly user?: string;
  /** The ports of the host's `App` service, open to anyone. */
  readonly ports: readonly Port[];
  /** Who gets SSH (default: the client's addresses on the host's link, so the deploy can confirm). */
  readonly admins?: readonly Peer[];
  /** rollbackTimeoutSeconds (default 30). */
  readonly rollbackSeconds?: number;
  /** The construct id (default the lab host's name). */
  readonly id?: string;
}

export interface AddHostOptions {
  /** Further IPv4 addresses (on the link to the client) sshd listens on. */
  readonly extraAddresses?: string[];
  /** A shell script run as root in the host's mount namespace before sshd starts. */
  readonly setup?: string;
  /** Also attach the host to the lab's shared segment (10.97.0.<100+n> / fd00:97::<100+n>; n up to 150). */
  readonly lan?: boolean;
  /** sshd's LogLevel (e.g. VERBOSE, which logs every accepted key: `sshdLog` then shows each connection). Default: sshd's own (INFO). */
  readonly sshdLogLevel?: string;
}

/** Why the lab cannot run here, or undefined when it can. */
export function terraformLabUnsupported(): string | undefined {
  // as root the lab runs, and a missing terraform, ssh or sshd fails it (scripts/test-setup.sh installs them)
  if (!netnsSupported()) return 'needs root (network namespaces, sshd)';
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until cond() is true; false after timeoutMs. */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    await sleep(stepMs);
  }
}

// The host's sshd runs in a private mount namespace (ip netns exec makes one, slave to
// this machine's, so nothing mounted here propagates back).
const HOST_INIT = `set -eu
d=$1
mount -t tmpfs -o mode=755 sfw-lab-run /run
mkdir -p /run/sshd /run/sfw-lab
# sshd reads authorized keys as the user logging in: a copy outside the private lab folder
install -m 644 "$d/authorized_keys" /run/sfw-lab/authorized_keys
mount -t overlay sfw-lab-etc -o "lowerdir=/etc,upperdir=$d/etc.up,workdir=$d/etc.work" /etc
mount -t overlay sfw-lab-varlib -o "lowerdir=/var/lib,upperdir=$d/varlib.up,workdir=$d/varlib.work" /var/lib
mount --bind "$d/tmp" /tmp
# home directories of the host's own (root's private, as on Debian), so deploy files stay in the lab
mkdir -p "$d/root" "$d/home"
chmod 0700 "$d/root"
mount --bind "$d/root" /root
mount --bind "$d/home" /home
if [ -f "$d/setup.sh" ]; then sh "$d/setup.sh"; fi
exec ${SSHD} -D -e -f "$d/sshd_config"
`;

// Accepts and closes connections on every port given (dual-stack).
const LISTENER = `
import socket, sys, selectors
sel = selectors.DefaultSelector()
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(p)))
    s.listen(64)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.close()
`;

/** The lab: client namespace, hosts with sshd, a cdktf app folder and terraform runner. */
export class TerraformLab {
  /** The namespaces. */
  public readonly lab: Lab;
  /** The client namespace. */
  public readonly client: string;
  /** The lab's folder. */
  public readonly dir: string;
  /** The client's private key (authorized on every host). */
  public readonly privateKey: string;
  /** cdktf output folder; the stack is `stackName`. */
  public readonly outdir: string;
  public readonly stackName = 'lab';
  /** The client's addresses on the shared segment (see `addHost`'s `lan`). */
  public readonly lanClientAddress = '10.97.0.1';
  public readonly lanClientAddress6 = 'fd00:97::1';
  private readonly keyPath: string;
  private readonly knownHosts: string;
  private readonly tfrc: string;
  private readonly hosts: LabHost[] = [];
  /** Whether the lab's folder is outside the test run's folder (and removed by destroy). */
  private readonly ownsDir: boolean;
  private readonly logs = new Map<string, string>();
  private readonly accepted = new Map<string, number>();
  /** The namespace of the shared segment's bridge, once a host joined it. */
  private lanNs?: string;

  public constructor(tag = 'tf') {
    // each host's sshd sees a /tmp of its own (bind-mounted over /tmp), so the lab's folder,
    // which its sshd_config and keys live in, must not be under /tmp (as it is when the
    // repository itself is checked out under /tmp)
    const underTmp = `${path.resolve(os.tmpdir())}/`.startsWith('/tmp/');
    this.dir = fs.mkdtempSync(path.join(underTmp ? '/var/tmp' : os.tmpdir(), 'terraform-lab-'));
    this.ownsDir = underTmp;
    this.lab = new Lab(tag);
    this.client = this.lab.addNamespace('client');
    this.keyPath = path.join(this.dir, 'client_ed25519');
    this.knownHosts = path.join(this.dir, 'known_hosts');
    this.tfrc = path.join(this.dir, 'terraform.rc');
    this.outdir = path.join(this.dir, 'cdktf.out');
    fs.writeFileSync(this.tfrc, '');
    fs.writeFileSync(this.knownHosts, '');
    runHost(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'terraform-lab-client', '-f', this.keyPath]);
    this.privateKey = fs.readFileSync(this.keyPath, 'utf8');
  }

  /** Folder of the stack (terraform's working directory). */
  public get stackDir(): string {
    return this.stackDirOf(this.stackName);
  }

  /** Folder of a stack: the lab's own (`stackName`) or another app's (see `synth`). */
  public stackDirOf(stack: string): string {
    return path.join(this.outdirOf(stack), 'stacks', stack);
  }

  private outdirOf(stack: string): string {
    return stack === this.stackName ? this.outdir : path.join(this.dir, `cdktf.out-${stack}`);
  }

  /**
   * Creates host number `n` (1..250) with its link to the client and starts its sshd;
   * resolves once sshd accepts connections from the client. `setup` is a shell script run
   * as root in the host's mount namespace before sshd starts (e.g. to add a user: /etc is
   * the host's own overlay). With `lan` the host is also attached to the shared segment.
   */
  /**
   * The bundle file (the rendered files and apply arguments its apply step writes on the
   * host) of a host's deployment, read from the synthesized cdk.tf.json.
   */
  public bundleFile(hostId: string, stackName = this.stackName): string {
    const dir = this.stackDirOf(stackName);
    const tf = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8'));
    const resources = { ...tf.resource.terraform_data, ...tf.resource.null_resource };
    const apply = Object.entries(resources).find(([k]) => k.startsWith(`${hostId}_Deployment_Apply_`));
    if (!apply) throw new Error(`no deployment of ${hostId} in ${dir}/cdk.tf.json`);
    const m = /bundle = "\$\{path\.module\}\/([^"]+)"/.exec(JSON.stringify(apply[1]).replace(/\\"/g, '"'));
    if (!m) throw new Error(`no bundle in the apply step of ${hostId}`);
    return path.join(dir, m[1]);
  }

  public async addHost(name: string, n: number, opts: AddHostOptions = {}): Promise<LabHost> {
    if (opts.lan && (n < 1 || n > 150)) throw new Error(`lab host ${name}: n ${n} is out of range for the shared segment (1..150)`);
    const ns = this.lab.addNamespace(name);
    const dir = path.join(this.dir, name);
    for (const sub of ['etc.up', 'etc.work', 'varlib.up', 'varlib.work', 'tmp']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    fs.chmodSync(path.join(dir, 'tmp'), 0o1777); // the host's /tmp
    const address = `10.98.${n}.2`;
    const address6 = `fd00:98:${n}::2`;
    const extra = opts.extraAddresses ?? [];
    this.lab.connect(
      { ns: this.client, ifname: `h${n}`, addresses: [`10.98.${n}.1/24`, `fd00:98:${n}::1/64`] },
      { ns, ifname: 'eth0', addresses: [`${address}/24`, `${address6}/64`, ...extra.map((a) => `${a}/24`)] },
    );
    const lanAddress = opts.lan ? `10.97.0.${100 + n}` : undefined;
    const lanAddress6 = opts.lan ? `fd00:97::${100 + n}` : undefined;
    if (opts.lan) this.attachToLan(ns, `p${n}`, [`${lanAddress}/24`, `${lanAddress6}/64`]);
    const listen = [address, address6, ...extra, ...(opts.lan ? [lanAddress!, lanAddress6!] : [])];
    const hostKeyPath = path.join(dir, 'ssh_host_ed25519_key');
    runHost(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `terraform-lab-${name}`, '-f', hostKeyPath]);
    const hostKey = fs.readFileSync(`${hostKeyPath}.pub`, 'utf8').trim();
    fs.copyFileSync(`${this.keyPath}.pub`, path.join(dir, 'authorized_keys'));
    fs.writeFileSync(path.join(dir, 'sshd_config'), [
      ...listen.map((a) => `ListenAddress ${a.includes(':') ? `[${a}]` : a}`),
      `HostKey ${hostKeyPath}`,
      'AuthorizedKeysFile /run/sfw-lab/authorized_keys',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PrintMotd no',
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'Subsystem sftp internal-sftp',
      ...(opts.sshdLogLevel ? [`LogLevel ${opts.sshdLogLevel}`] : []),
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(dir, 'init.sh'), HOST_INIT);
    if (opts.setup) fs.writeFileSync(path.join(dir, 'setup.sh'), `set -eu\n${opts.setup}\n`);
    fs.appendFileSync(this.knownHosts, listen.map((a) => `${a} ${hostKey}\n`).join(''));

    const sshd = this.lab.spawn(ns, ['sh', path.join(dir, 'init.sh'), dir]);
    this.logs.set(name, '');
    this.accepted.set(name, 0);
    let partial = '';
    const log = (chunk: Buffer) => {
      this.logs.set(name, (this.logs.get(name)! + chunk.toString()).slice(-20_000));
      // whole lines only: a chunk may end inside one
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      this.accepted.set(name, this.accepted.get(name)! + lines.filter((l) => /^Accepted \S+ for /.test(l)).length);
    };
    sshd.stdout!.on('data', log);
    sshd.stderr!.on('data', log);
    const host: LabHost = {
      name, ns, address, address6, extraAddresses: extra, clientAddress: `10.98.${n}.1`, clientAddress6: `fd00:98:${n}::1`, lanAddress, lanAddress6, hostKey, dir, sshd,
    };
    this.hosts.push(host);
    const up = await waitFor(() => sshd.exitCode === null && this.probe(host, 22, 4, 1) === 'open', 15_000, 200);
    if (!up) throw new Error(`sshd of ${name} did not come up (exit ${sshd.exitCode}):\n${this.logs.get(name)}`);
    return host;
  }

  /**
   * Attaches a namespace to the shared segment (port `port` of the bridge, `lan0` in the
   * namespace); the first call creates the bridge's namespace and attaches the client.
   */
  private attachToLan(ns: string, port: string, addresses: string[]): void {
    if (!this.lanNs) {
      const lanNs = this.lab.addNamespace('lan');
      this.lab.exec(lanNs, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
      this.lab.exec(lanNs, ['ip', 'link', 'set', 'br0', 'up']);
      this.lanNs = lanNs;
      this.attachToLan(this.client, 'c0', [`${this.lanClientAddress}/24`, `${this.lanClientAddress6}/64`]);
    }
    this.lab.connect({ ns: this.lanNs, ifname: port }, { ns, ifname: 'lan0', addresses });
    this.lab.exec(this.lanNs, ['ip', 'link', 'set', port, 'master', 'br0']);
  }

  /** SSH logins sshd accepted on a host so far ("Accepted publickey for ..." lines). */
  public acceptedLogins(host: LabHost): number {
    return this.accepted.get(host.name) ?? 0;
  }

  /** The sshd log of a host (stderr, last 20 kB). */
  public sshdLog(host: LabHost): string {
    return this.logs.get(host.name) ?? '';
  }

  /** The PID of the host's sshd (its mount namespace is the host's /etc, /var/lib, /tmp, /root, /home). */
  public sshdPid(host: LabHost): number {
    return host.sshd.pid!;
  }

  /** The host's /var/lib/stateful-firewall, seen from this machine (the overlay's upper dir). */
  public stateDir(host: LabHost): string {
    return path.join(host.dir, 'varlib.up', 'stateful-firewall');
  }

  /**
   * The lab's usual firewall for a host: deployed over the lab's SSH key with the host key
   * pinned (terraform_data), an `App` service and SSH for the admins.
   */
  public firewall(stack: TerraformStack, h: LabHost, opts: LabFirewallOptions): StatefulHost {
    const host = new StatefulHost(stack, opts.id ?? h.name, {
      address: h.address,
      deployment: {
        resource: ProvisioningResource.TERRAFORM_DATA,
        connection: { user: opts.user ?? 'root', privateKey: this.privateKey, hostKey: h.hostKey },
        rollbackTimeoutSeconds: opts.rollbackSeconds ?? 30,
      },
    });
    host.addService('App', { ports: [...opts.ports] });
    host.addAdminAccess('Ops', { peers: [...(opts.admins ?? [Peer.ipv4(h.clientAddress), Peer.ipv6(h.clientAddress6)])] });
    return host;
  }

  /** Runs a command in the host's network namespace (iptables-save, nft, ...). */
  public hostExec(host: LabHost, argv: readonly string[], input?: string): string {
    return this.lab.exec(host.ns, argv, { input });
  }

  /** Starts a listener that accepts (and closes) connections on the ports, IPv4 and IPv6. */
  public async listen(host: LabHost, ports: readonly number[]): Promise<void> {
    const child = this.lab.spawn(host.ns, ['python3', '-u', '-c', LISTENER, ...ports.map(String)]);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    if (!(await waitFor(() => out.includes('ready') || child.exitCode !== null, 10_000, 50)) || !out.includes('ready')) {
      throw new Error(`listener on ${host.name} ports ${ports.join(',')} did not start: ${out}`);
    }
  }

  /** A TCP connection attempt from the client to the host. */
  public probe(host: LabHost, port: number, family: 4 | 6 = 4, timeoutSec = 2): ProbeResult {
    return this.lab.tcpProbe(this.client, family === 4 ? host.address : host.address6, port, timeoutSec);
  }

  /** A TCP connection attempt from one host's namespace to an address (e.g. another host's `lanAddress`). */
  public probeFrom(from: LabHost, address: string, port: number, timeoutSec = 2): ProbeResult {
    return this.lab.tcpProbe(from.ns, address, port, timeoutSec);
  }

  /** A real SSH login from the client (the lab key, the host key checked; root unless `user`). */
  public ssh(host: LabHost, command: string, address = host.address, user = 'root'): RunResult {
    return this.lab.run(this.client, [
      'ssh', '-F', '/dev/null', '-i', this.keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${this.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
      '-o', 'ConnectTimeout=5', `${user}@${address}`, command,
    ], { env: { PATH: process.env.PATH, HOME: this.dir }, timeoutMs: 20_000 });
  }

  /**
   * Builds the cdktf app (stack `lab`, local state in the lab folder), synthesizes it into
   * `outdir` and runs `terraform init`. Returns what `configure` returned.
   */
  public async synth<T>(configure: (stack: TerraformStack) => T, stackName = this.stackName): Promise<T> {
    // another stack name is another app with its own output folder and state: a second
    // operator deploying to the same hosts
    const app = new App({ outdir: this.outdirOf(stackName) });
    const stack = new TerraformStack(app, stackName);
    new LocalBackend(stack, { path: path.join(this.dir, stackName === this.stackName ? 'terraform.tfstate' : `${stackName}.tfstate`) });
    const result = configure(stack);
    app.synth();
    const init = await this.terraform(['init', '-input=false'], 60_000, stackName);
    if (init.status !== 0) throw new Error(`terraform init failed:\n${init.output}`);
    return result;
  }

  /** Starts `terraform -chdir=<stack> <args> -no-color` in the client namespace. */
  public terraformStart(args: readonly string[], timeoutMs = 120_000, stackName = this.stackName): TerraformRun {
    const env = {
      PATH: process.env.PATH,
      HOME: this.dir,
      TMPDIR: this.dir,
      LC_ALL: 'C',
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      TF_CLI_CONFIG_FILE: this.tfrc,
    };
    const startedAt = Date.now();
    const child = this.lab.spawn(this.client, ['terraform', `-chdir=${this.stackDirOf(stackName)}`, ...args, '-no-color'], { env });
    child.stdin!.end();
    const lines: TimedLine[] = [];
    let partial = '';
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      const text = c.toString();
      stdout += text;
      const parts = (partial + text).split('\n');
      partial = parts.pop()!;
      const atMs = Date.now() - startedAt;
      for (const p of parts) lines.push({ atMs, text: p });
    });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const done = new Promise<TerraformResult>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        if (partial) lines.push({ atMs: Date.now() - startedAt, text: partial });
        resolve({ status, signal, stdout, stderr, durationMs: Date.now() - startedAt, lines, output: `${stdout}\n${stderr}` });
      });
    });
    return { lines, startedAt, done };
  }

  /** Runs terraform to completion. */
  public async terraform(args: readonly string[], timeoutMs = 120_000, stackName = this.stackName): Promise<TerraformResult> {
    return this.terraformStart(args, timeoutMs, stackName).done;
  }

  /** The resource changes of a plan (`terraform plan -out` + `terraform show -json`), no-ops left out. */
  public async planChanges(extra: readonly string[] = []): Promise<{ plan: TerraformResult; changes: { address: string; actions: string[] }[] }> {
    const file = path.join(this.dir, 'plan.bin');
    const plan = await this.terraform(['plan', '-input=false', `-out=${file}`, ...extra]);
    if (plan.status !== 0 && plan.status !== 2) throw new Error(`terraform plan failed:\n${plan.output}`);
    const show = await this.terraform(['show', '-json', file]);
    if (show.status !== 0) throw new Error(`terraform show failed:\n${show.output}`);
    const json = JSON.parse(show.stdout);
    const changes = (json.resource_changes ?? [])
      .map((rc: any) => ({ address: rc.address as string, actions: rc.change.actions as string[] }))
      .filter((c: { actions: string[] }) => !c.actions.every((a) => a === 'no-op' || a === 'read'));
    return { plan, changes };
  }

  /** Kills everything in the lab's namespaces and deletes them (idempotent). */
  public destroy(): void {
    this.lab.destroy();
    if (this.ownsDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
