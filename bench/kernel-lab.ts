/**
 * The bench's kernel side: a HOST network namespace that holds the ruleset under test and a
 * CLIENT namespace joined to it by a veth pair, the packet sender (bench/sender.c) pinned to
 * one CPU, command timing inside a namespace (bench/timeit.c), and rule counters.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Lab } from '../lab/netns';

export const BENCH_DIR = __dirname;
export const TMP = path.join(BENCH_DIR, 'tmp');
export const SENDER = path.join(TMP, 'sender');
export const TIMEIT = path.join(TMP, 'timeit');

export const HOST_IP = '10.98.0.1';
const CLIENT_IP = '10.98.0.2';
const HOST_IF = 'veth-bh';
const CLIENT_IF = 'veth-bc';
/** The CPU the sender (and with it the receiving softirq) runs on. */
export const BENCH_CPU = 1;

/** What `timeit` reports for one command. */
export interface Timed {
  readonly ms: number;
  readonly status: number;
  readonly rssKiB: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Median of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Options of `timed`. */
export interface TimedOptions {
  readonly inputFile?: string;
  /** Kill the command after this many seconds (`timeit -t`): the result then has status 124. */
  readonly limitSeconds?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly allowFail?: boolean;
}

/** Runs argv inside `ns` under `timeit` (stdin from `inputFile`); throws unless it exits 0 (or `allowFail`). */
export function timed(lab: Lab, ns: string, argv: readonly string[], opts: TimedOptions = {}): Timed {
  const args = [TIMEIT, ...(opts.limitSeconds ? ['-t', String(opts.limitSeconds)] : []), ...(opts.inputFile ? ['-i', opts.inputFile] : []), ...argv];
  const r = lab.run(ns, args, { env: opts.env, timeoutMs: opts.timeoutMs ?? 600_000 });
  const lines = r.stderr.trimEnd().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const m = /^timeit (\d+) (\d+) (\d+)$/.exec(last);
  if (!m) throw new Error(`timeit gave no timing for ${argv.join(' ')}: ${r.stderr.slice(-2000)}`);
  const out = { ms: Number(m[1]) / 1e6, status: Number(m[2]), rssKiB: Number(m[3]), stdout: r.stdout, stderr: lines.slice(0, -1).join('\n') };
  if (out.status !== 0 && !opts.allowFail) throw new Error(`${argv.join(' ')} exited ${out.status}: ${out.stderr.slice(-2000)}`);
  return out;
}

/** Writes text to a file under bench/tmp and returns its path. */
export function tmpFile(name: string, text: string): string {
  fs.mkdirSync(TMP, { recursive: true });
  const file = path.join(TMP, name);
  fs.writeFileSync(file, text);
  return file;
}

/** One kernel-cost measurement: nanoseconds per packet, per repeat. */
export interface KernelCost {
  readonly medianNs: number;
  readonly minNs: number;
  readonly maxNs: number;
  readonly samples: number[];
  readonly packetsPerRepeat: number;
}

/** The lab: host and client namespaces, and the operations the bench runs in them. */
export class KernelLab {
  public readonly lab = new Lab('bench');
  public readonly host: string;
  public readonly client: string;
  private readonly hostMac: string;

  public constructor() {
    this.host = this.lab.addNamespace('host');
    this.client = this.lab.addNamespace('client');
    this.lab.connect({ ns: this.host, ifname: HOST_IF, addresses: [`${HOST_IP}/24`] }, { ns: this.client, ifname: CLIENT_IF, addresses: [`${CLIENT_IP}/24`] });
    this.lab.exec(this.host, ['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', `net.ipv4.conf.${HOST_IF}.rp_filter=0`]);
    // replies (RSTs to allowed SYNs in the counter checks) leave through the veth without ARP
    this.lab.exec(this.host, ['ip', 'route', 'add', 'default', 'via', CLIENT_IP, 'dev', HOST_IF]);
    const info = JSON.parse(this.lab.exec(this.host, ['ip', '-j', 'link', 'show', 'dev', HOST_IF])) as { address: string }[];
    this.hostMac = info[0].address;
    const clientInfo = JSON.parse(this.lab.exec(this.client, ['ip', '-j', 'link', 'show', 'dev', CLIENT_IF])) as { address: string }[];
    this.lab.exec(this.host, ['ip', 'neigh', 'replace', CLIENT_IP, 'lladdr', clientInfo[0].address, 'dev', HOST_IF, 'nud', 'permanent']);
  }

  /** Empties the host's firewall: every nftables table (iptables-nft's too) and every ipset. */
  public clear(): void {
    this.lab.exec(this.host, ['nft', 'flush', 'ruleset']);
    this.lab.exec(this.host, ['ipset', 'destroy']);
    this.lab.exec(this.host, ['conntrack', '-F'], { timeoutMs: 60_000 });
  }

  /** Sends `count` SYNs from `sources` addresses starting at `from` to the host's port; returns ns per packet (wall). */
  public send(from: string, port: number, count: number, sources = 64): number {
    const out = this.lab.exec(this.client, ['taskset', '-c', String(BENCH_CPU), SENDER, CLIENT_IF, this.hostMac, from, HOST_IP, String(port), String(count), String(sources)], {
      timeoutMs: 600_000,
    });
    return (JSON.parse(out) as { wall_ns: number }).wall_ns;
  }

  /**
   * Kernel cost per unsolicited packet: a warm-up, a calibration that sizes each repeat to
   * about `repeatSeconds`, then `repeats` timed runs of SYNs from 64 addresses that are not
   * admins, to port 22 (an admin port: the worst case for one-rule-per-address rulesets).
   */
  public kernelCost(repeats: number, repeatSeconds = 0.25): KernelCost {
    const from = '100.64.0.1';
    this.send(from, 22, 16);
    const probe = this.send(from, 22, 64);
    const packets = Math.max(16, Math.min(400_000, Math.round((repeatSeconds * 1e9) / probe / 16) * 16));
    const samples = Array.from({ length: repeats }, () => this.send(from, 22, packets));
    return { medianNs: median(samples), minNs: Math.min(...samples), maxNs: Math.max(...samples), samples, packetsPerRepeat: packets };
  }

  /**
   * Rules the kernel evaluated for one packet, read from the rule counters: counters
   * zeroed, the packet sent, then `iptables-save -c` walked from INPUT (a rule whose
   * counter moved either decided, jumped or returned; every rule before it was evaluated).
   */
  public countedRules(save: string, zero: string, from: string, port: number): number {
    this.lab.exec(this.host, [zero, '-Z']);
    this.lab.exec(this.host, ['conntrack', '-F']);
    this.send(from, port, 1, 1);
    return walkCounters(this.lab.exec(this.host, [save, '-c', '-t', 'filter']));
  }

  /** Deletes the namespaces. */
  public destroy(): void {
    this.lab.destroy();
  }
}

/** Rules evaluated for the one packet whose counters an `iptables-save -c` text shows (see `countedRules`). */
export function walkCounters(save: string): number {
  const chains = new Map<string, { packets: number; target: string }[]>();
  for (const line of save.split('\n')) {
    const m = /^\[(\d+):\d+\] -A (\S+) (.*)$/.exec(line);
    if (m) {
      const t = / -[jg] (\S+)/.exec(` ${m[3]}`);
      if (!chains.has(m[2])) chains.set(m[2], []);
      chains.get(m[2])!.push({ packets: Number(m[1]), target: t ? t[1] : '' });
    } else if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (!chains.has(name)) chains.set(name, []);
    }
  }
  let count = 0;
  const walk = (name: string): 'decided' | 'returned' => {
    for (const rule of chains.get(name) ?? []) {
      count++;
      if (rule.packets === 0) continue;
      if (['ACCEPT', 'DROP', 'REJECT'].includes(rule.target)) return 'decided';
      if (rule.target === 'RETURN') return 'returned';
      if (chains.has(rule.target) && walk(rule.target) === 'decided') return 'decided';
    }
    return 'returned';
  };
  walk('INPUT');
  return count;
}
