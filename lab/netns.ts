/**
 * Network-namespace lab for kernel-level tests (run as root).
 *
 * A `Lab` creates uniquely named namespaces (`sfwt-<pid>-<n>-<name>`), veth
 * links with IPv4/IPv6 addresses between them, and runs commands inside them
 * with `ip netns exec`. `destroy()` kills every process left in the lab's
 * namespaces (including detached ones the code under test started) and
 * deletes the namespaces; it is idempotent and also runs on process exit.
 *
 * @example
 * await withLab(async (lab) => {
 *   const host = lab.addNamespace('host');
 *   const client = lab.addNamespace('client');
 *   lab.connect({ ns: host, ifname: 'eth0', addresses: ['192.0.2.1/24', '2001:db8::1/64'] },
 *     { ns: client, ifname: 'eth0', addresses: ['192.0.2.2/24', '2001:db8::2/64'] });
 *   lab.exec(host, ['iptables-restore'], { input: rules });
 *   expect(lab.tcpProbe(client, '192.0.2.1', 22)).toBe('open');
 * });
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';

/** Options for commands run inside a namespace. */
export interface ExecOptions {
  /** Data written to the command's stdin. */
  readonly input?: string;
  /** Full environment of the command (default: this process's environment). */
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the command after this many milliseconds (default 30 000). */
  readonly timeoutMs?: number;
}

/** Outcome of a command that is allowed to fail. */
export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** One end of a veth link. */
export interface Endpoint {
  readonly ns: string;
  readonly ifname: string;
  /** CIDR addresses, IPv4 or IPv6 (IPv6 ones are added with `nodad`). */
  readonly addresses?: readonly string[];
}

/** Result of `Lab.tcpProbe`: connected, RST received, no answer, or another socket error. */
export type ProbeResult = 'open' | 'refused' | 'timeout' | `error:${string}`;

const DEFAULT_TIMEOUT_MS = 30_000;
const liveLabs = new Set<Lab>();
let counter = 0;

process.on('exit', () => {
  for (const lab of liveLabs) lab.destroy();
});

/** Runs a command on the host (outside any namespace) without throwing. */
export function runHost(argv: readonly string[], opts: ExecOptions = {}): RunResult {
  const started = Date.now();
  const r = spawnSync(argv[0], argv.slice(1), {
    input: opts.input,
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    durationMs: Date.now() - started,
  };
}

/** Runs a command on the host; throws (with its output) unless it exits 0; returns stdout. */
export function execHost(argv: readonly string[], opts: ExecOptions = {}): string {
  return check(argv, runHost(argv, opts));
}

/** Whether this process may create network namespaces (root, `ip` present). */
export function netnsSupported(): boolean {
  // Root runs every kernel suite: a missing tool (iproute2, iptables, scapy, ...) makes the
  // suite fail, not skip (`npm test` installs them first: scripts/test-setup.sh). Without
  // root the kernel suites are skipped, and the setup script says which.
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function check(argv: readonly string[], r: RunResult): string {
  if (r.status !== 0) {
    const how = r.signal ? `signal ${r.signal}` : `exit ${r.status}`;
    throw new Error(`command failed (${how}): ${argv.join(' ')}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  }
  return r.stdout;
}

/** A set of network namespaces that are cleaned up together. */
export class Lab {
  /** Prefix shared by the names of this lab's namespaces. */
  public readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];

  /** Creates an empty lab; `tag` becomes part of the namespace names. */
  constructor(tag = 'lab') {
    counter += 1;
    this.prefix = `sfwt-${process.pid}-${counter}-${tag}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    liveLabs.add(this);
  }

  /** Creates namespace `<prefix>-<name>` with loopback up and returns its full name. */
  public addNamespace(name: string): string {
    const ns = `${this.prefix}-${name}`;
    execHost(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Creates a veth pair between two namespaces, assigns the addresses and brings both ends up. */
  public connect(a: Endpoint, b: Endpoint): void {
    execHost(['ip', '-n', a.ns, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
    for (const end of [a, b]) {
      for (const cidr of end.addresses ?? []) this.addAddress(end.ns, end.ifname, cidr);
      this.exec(end.ns, ['ip', 'link', 'set', end.ifname, 'up']);
    }
  }

  /** Adds an IPv4 or IPv6 address (IPv6 with `nodad`, usable at once) to an interface. */
  public addAddress(ns: string, ifname: string, cidr: string): void {
    const argv = ['ip', 'addr', 'add', cidr, 'dev', ifname];
    if (cidr.includes(':')) argv.push('nodad');
    this.exec(ns, argv);
  }

  /** Runs argv inside the namespace; throws unless it exits 0; returns stdout. */
  public exec(ns: string, argv: readonly string[], opts: ExecOptions = {}): string {
    return check(argv, this.run(ns, argv, opts));
  }

  /** Runs a `sh -c` script inside the namespace; throws unless it exits 0; returns stdout. */
  public sh(ns: string, script: string, opts: ExecOptions = {}): string {
    return this.exec(ns, ['sh', '-c', script], opts);
  }

  /** Runs argv inside the namespace and returns status and output without throwing. */
  public run(ns: string, argv: readonly string[], opts: ExecOptions = {}): RunResult {
    this.assertOwn(ns);
    return runHost(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  /** Starts a long-running process inside the namespace (killed by destroy); stdio is piped. */
  public spawn(ns: string, argv: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    this.assertOwn(ns);
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** PIDs of all processes currently inside the namespace. */
  public pids(ns: string): number[] {
    this.assertOwn(ns);
    return execHost(['ip', 'netns', 'pids', ns]).split(/\s+/).filter(Boolean).map(Number);
  }

  /** Tries a TCP connection from `ns` (python3) and reports open, refused (RST), timeout or error. */
  public tcpProbe(ns: string, host: string, port: number, timeoutSec = 2): ProbeResult {
    const script = [
      'import socket, sys',
      'h, p, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])',
      's = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_STREAM)',
      's.settimeout(t)',
      'try:',
      '    s.connect((h, p)); print("open")',
      'except ConnectionRefusedError:',
      '    print("refused")',
      'except socket.timeout:',
      '    print("timeout")',
      'except OSError as e:',
      '    print("error:%s" % e.errno)',
    ].join('\n');
    const out = this.exec(ns, ['python3', '-c', script, host, String(port), String(timeoutSec)], {
      timeoutMs: (timeoutSec + 10) * 1000,
    });
    return out.trim() as ProbeResult;
  }

  /** Kills processes left in the lab's namespaces and deletes them; safe to call more than once. */
  public destroy(): void {
    for (const child of this.children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        for (const pid of execHost(['ip', 'netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } catch {
        // namespace already gone
      }
      runHost(['ip', 'netns', 'delete', ns]);
    }
    liveLabs.delete(this);
  }

  private assertOwn(ns: string): void {
    if (!this.namespaces.includes(ns)) throw new Error(`namespace ${ns} does not belong to lab ${this.prefix}`);
  }
}

/** Creates a lab, runs `fn` with it and always destroys the lab afterwards. */
export async function withLab<T>(fn: (lab: Lab) => T | Promise<T>, tag = 'lab'): Promise<T> {
  const lab = new Lab(tag);
  try {
    return await fn(lab);
  } finally {
    lab.destroy();
  }
}
