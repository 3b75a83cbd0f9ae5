#!/usr/bin/env node
// sfw-diff: the traffic two synthesized cdktf outputs accept differently, per host.
//
//   npx sfw-diff OLD_OUT NEW_OUT [--format text|markdown]
import { findHostModels } from './explain';
import { DiffHost, formatDiffMarkdown, formatDiffText, hasChanges, semanticDiff, SemanticDiffResult } from '../core/diff/semantic-diff';

/** The compiled hosts of a synthesized output, as the diff compares them. */
export function outputHosts(outdir: string): DiffHost[] {
  return findHostModels(outdir).map(({ stack, file }) => ({
    stack, hostName: file.hostName, path: file.path, backend: file.backend, model: file.model,
  }));
}

/** The semantic difference between two synthesized outputs (`cdktf synth` folders). */
export function diffOutputs(oldOut: string, newOut: string): SemanticDiffResult {
  return semanticDiff(outputHosts(oldOut), outputHosts(newOut));
}

/** `sfw-diff --help`. */
export const USAGE = `usage: sfw-diff OLD_OUT NEW_OUT [--format text|markdown]

Compares the compiled rulesets of two synthesized cdktf outputs (e.g. cdktf.out of the
main branch and of a pull request) and prints, per host and family, the traffic the new
rulesets newly allow and newly refuse: the first packets of connections (TCP SYN, UDP,
ICMP by type) by peer addresses, protocol and ports, and state, each row with an example
packet the simulator confirms; hosts added and removed. Computed exactly over the whole
address and port space: a change of rule text that keeps the behaviour reports nothing.

  OLD_OUT, NEW_OUT    output directories of \`cdktf synth\`
  --format FORMAT     text (default) or markdown (a pull-request comment)
  -h, --help          this help

Exit status: 0 no semantic change, 1 a change (or a host added or removed), 2 bad usage
or unreadable output.
`;

/**
 * The command: returns the exit status (0 no change, 1 changes, 2 bad usage or input).
 * Output goes through the given writers (process.stdout and stderr by default).
 */
export function main(
  argv: readonly string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
): number {
  let format = 'text';
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      out(USAGE);
      return 0;
    } else if (a === '--format' || a.startsWith('--format=')) {
      const value = a === '--format' ? argv[++i] : a.slice('--format='.length);
      if (value !== 'text' && value !== 'markdown') {
        err(`sfw-diff: --format takes text or markdown, got ${value === undefined ? 'nothing' : `'${value}'`}\n${USAGE}`);
        return 2;
      }
      format = value;
    } else if (a === '--markdown') {
      format = 'markdown';
    } else if (a.startsWith('-')) {
      err(`sfw-diff: unknown option ${a}\n${USAGE}`);
      return 2;
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) {
    err(`sfw-diff: two output directories expected (old and new), got ${positional.length}\n${USAGE}`);
    return 2;
  }
  let diff: SemanticDiffResult;
  try {
    diff = diffOutputs(positional[0], positional[1]);
  } catch (e) {
    err(`sfw-diff: ${(e as Error).message}\n`);
    return 2;
  }
  out(format === 'markdown' ? formatDiffMarkdown(diff) : formatDiffText(diff));
  return hasChanges(diff) ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
