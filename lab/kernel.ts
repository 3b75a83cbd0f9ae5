import { execFileSync, spawnSync } from 'child_process';

/** True when this process may create network namespaces (root with iproute2). */
export function canUseNetns(): boolean {
  // root runs the kernel suites, and a missing tool fails them (see netnsSupported)
  return process.getuid?.() === 0;
}

/** Runs a command inside a network namespace, feeding `input` on stdin; throws with stderr on failure. */
export function nsExec(ns: string, argv: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...argv], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs a command inside a namespace and returns its status and output instead of throwing. */
export function nsRun(ns: string, argv: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { input, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Strips what iptables-save adds that is not part of the ruleset: comment headers and counters. */
export function normalizeIptablesSave(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ' [0:0]'))
    .join('\n');
}

/**
 * `ipset save` output (or a `sets.ipset` file) in a comparable form: the header fields the
 * kernel picks itself (`bucketsize`, and `initval`, the random hash seed) dropped, and each
 * set's `add` lines sorted (hash sets list their elements in bucket order).
 */
export function normalizeIpsetSave(text: string): string {
  const out: string[] = [];
  let adds: string[] = [];
  const flush = () => {
    out.push(...adds.sort());
    adds = [];
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('add ')) {
      adds.push(line);
      continue;
    }
    flush();
    if (line.startsWith('create ')) out.push(line.replace(/ bucketsize \d+/, '').replace(/ initval 0x[0-9a-f]+/, ''));
    else if (line.trim() !== '') out.push(line);
  }
  flush();
  return out.join('\n');
}
