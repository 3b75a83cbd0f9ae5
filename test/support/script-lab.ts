/**
 * What the apply-script labs share: one test's folders (pending upload, state dir, the
 * persistence root `SFW_ROOT`), the environment `assets/sfw-apply.sh` runs with, running it
 * with dash in a namespace, and TCP listeners for the probes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Lab, ProbeResult, RunResult } from './netns';

/** An iptables variant the script is run with (`SFW_IPTABLES`, `SFW_IP6TABLES`). */
export interface Variant {
  readonly name: string;
  readonly ipt: string;
  readonly ip6t: string;
}
/** Both iptables variants, each lab runs with. */
export const VARIANTS: readonly Variant[] = [
  { name: 'iptables-nft', ipt: 'iptables-nft', ip6t: 'ip6tables-nft' },
  { name: 'iptables-legacy', ipt: 'iptables-legacy', ip6t: 'ip6tables-legacy' },
];

/** The on-host script under test. */
export const SCRIPT = path.resolve(__dirname, '..', '..', 'assets', 'sfw-apply.sh');

/** One test's folders and the environment the script runs with. */
export interface ScriptCtx {
  readonly dir: string;
  readonly pending: string;
  readonly state: string;
  /** The persistence root (`SFW_ROOT`): the host's /etc as the script sees it. */
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Options of `makeScriptCtx`. */
export interface ScriptCtxOptions {
  /** Extra environment (e.g. `SFW_IPTABLES` for a variant). */
  readonly env?: NodeJS.ProcessEnv;
  /** Give the root an `etc/systemd/system` (a host with systemd: confirm can install the boot unit). */
  readonly systemd?: boolean;
}

/** Fresh folders under the test run's temp dir (removed with it). */
export function makeScriptCtx(tag: string, opts: ScriptCtxOptions = {}): ScriptCtx {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sfw-${tag}-`));
  const root = path.join(dir, 'root');
  const ctx: ScriptCtx = {
    dir,
    pending: path.join(dir, 'pending'),
    state: path.join(dir, 'state'),
    root,
    env: { PATH: process.env.PATH, LC_ALL: 'C', TMPDIR: dir, SFW_ROOT: root, SFW_TIMER: 'detached', ...opts.env },
  };
  fs.mkdirSync(ctx.pending);
  fs.mkdirSync(opts.systemd ? path.join(root, 'etc', 'systemd', 'system') : root, { recursive: true });
  return ctx;
}

/** Runs the script with dash in a namespace, with the context's state dir and environment. */
export function runScript(lab: Lab, ns: string, ctx: ScriptCtx, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunResult {
  return lab.run(ns, ['dash', SCRIPT, ...args, '--state-dir', ctx.state], { env: { ...ctx.env, ...env }, timeoutMs: 60_000 });
}

/** The result, or an error with the script's output when it did not exit 0. */
export function scriptOk(r: RunResult): RunResult {
  if (r.status !== 0) throw new Error(`sfw-apply.sh exited ${r.status}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  return r;
}

// Accepts and closes connections on each port (dual-stack); prints "ready"; lives 15 minutes
// (a lab's steps take minutes on a busy machine; the lab's destroy kills it sooner).
const LISTENER = `
import socket, sys, threading, time
def listen(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    def loop():
        while True:
            c, _ = s.accept()
            c.close()
    threading.Thread(target=loop, daemon=True).start()
for p in sys.argv[1:]:
    listen(int(p))
print("ready", flush=True)
time.sleep(900)
`;

/** Starts a listener on the ports in a namespace (IPv4 and IPv6); resolves once it listens. */
export async function startListener(lab: Lab, ns: string, ports: readonly number[]): Promise<void> {
  const child = lab.spawn(ns, ['python3', '-c', LISTENER, ...ports.map(String)]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    child.on('exit', (code) => reject(new Error(`listener exited ${code}`)));
  });
}

/** Like `Lab.tcpProbe`, for several ports in one python process (one spawn instead of one per port). */
const PROBE = `
import json, socket, sys
h, t = sys.argv[1], float(sys.argv[2])
out = {}
for p in sys.argv[3:]:
    s = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(t)
    try:
        s.connect((h, int(p))); out[p] = "open"
    except ConnectionRefusedError:
        out[p] = "refused"
    except socket.timeout:
        out[p] = "timeout"
    except OSError as e:
        out[p] = "error:%s" % e.errno
    s.close()
print(json.dumps(out))
`;

/** TCP probes of several ports of `addr` from a namespace: port to result. */
export function probePorts(lab: Lab, ns: string, addr: string, ports: readonly number[], timeoutSec = 1): Record<number, ProbeResult> {
  return JSON.parse(lab.exec(ns, ['python3', '-c', PROBE, addr, String(timeoutSec), ...ports.map(String)], { timeoutMs: 60_000 }));
}
