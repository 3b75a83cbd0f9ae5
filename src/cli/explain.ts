#!/usr/bin/env node
// sfw-explain: prints, for every host in a synthesized cdktf output, who can reach what.
//
//   npx sfw-explain [cdktf.out] [--markdown] [--host NAME]
import * as fs from 'fs';
import * as path from 'path';
import { backendFor } from '../core/backends/registry';
import { CompiledRuleset } from '../core/compiled-ruleset';
import { Explain } from '../core/explain/explain';
import { HostModelFile, MODEL_FILE } from '../core/host-model-file';
import { ConntrackSizing } from '../core/policy/conntrack-sizing';

/** Every host model under a synthesized output directory, sorted by stack and host. */
export function findHostModels(outdir: string): { stack: string; file: HostModelFile }[] {
  const stacksDir = path.join(outdir, 'stacks');
  if (!fs.existsSync(stacksDir)) throw new Error(`no synthesized stacks in ${outdir}: run cdktf synth first`);
  const out: { stack: string; file: HostModelFile }[] = [];
  for (const stack of fs.readdirSync(stacksDir).sort()) {
    const fwDir = path.join(stacksDir, stack, 'firewall');
    if (!fs.existsSync(fwDir)) continue;
    for (const host of fs.readdirSync(fwDir).sort()) {
      const file = path.join(fwDir, host, MODEL_FILE);
      if (fs.existsSync(file)) out.push({ stack, file: JSON.parse(fs.readFileSync(file, 'utf8')) as HostModelFile });
    }
  }
  return out;
}

/** The explain report for a synthesized output. */
export function explainOutput(outdir: string, options: { markdown?: boolean; host?: string } = {}): string {
  const hosts = findHostModels(outdir).filter((h) => !options.host || h.file.hostName === options.host);
  if (hosts.length === 0) throw new Error(options.host ? `no host named '${options.host}' in ${outdir}` : `no hosts in ${outdir}`);
  return hosts
    .map(({ stack, file }) => {
      const ruleset = CompiledRuleset.fromModel(file.hostName, file.model);
      const title = `stack ${stack}, ${file.path}, backend ${file.backend}`;
      // a backend this version does not know is an error, not a report naming another
      const backend = backendFor(file.backend).id;
      const explain = {
        backend,
        conntrackSizing: file.conntrack ? ConntrackSizing.forConnections(file.conntrack.expectedConnections) : undefined,
        tunesKernel: file.conntrack?.tuneKernel,
      };
      return options.markdown ? `<!-- ${title} -->\n${Explain.markdown(ruleset, explain)}` : `# ${title}\n${Explain.text(ruleset, explain)}`;
    })
    .join('\n');
}

/** `sfw-explain --help`. */
export const USAGE = `usage: sfw-explain [OUTDIR] [--markdown] [--host NAME]

Prints, for every host in a synthesized cdktf output (default: cdktf.out), who can
reach what, as the compiled ruleset decides it, chain by chain: inbound (input),
outbound (output), before connection tracking (notrack of untracked services) and
conntrack helpers, with rate and connection limits and logging in their rows; then
the host's conntrack sizing (the same tables as firewall/<host>/explain.md).

  OUTDIR        the output directory of \`cdktf synth\` (default: cdktf.out)
  --markdown    Markdown tables instead of plain text
  --host NAME   only the host with this hostName
  -h, --help    this help
`;

/**
 * The command: returns the exit status (0 done, 1 nothing to explain, 2 bad usage).
 * Output goes through the given writers (process.stdout and stderr by default).
 */
export function main(
  argv: readonly string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
): number {
  let markdown = false;
  let host: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      out(USAGE);
      return 0;
    } else if (a === '--markdown') {
      markdown = true;
    } else if (a === '--host' || a.startsWith('--host=')) {
      const value = a === '--host' ? argv[++i] : a.slice('--host='.length);
      if (value === undefined || value === '' || value.startsWith('-')) {
        err(`sfw-explain: --host needs a host name\n${USAGE}`);
        return 2;
      }
      host = value;
    } else if (a.startsWith('-')) {
      err(`sfw-explain: unknown option ${a}\n${USAGE}`);
      return 2;
    } else {
      positional.push(a);
    }
  }
  if (positional.length > 1) {
    err(`sfw-explain: one output directory expected, got ${positional.length}: ${positional.join(' ')}\n${USAGE}`);
    return 2;
  }
  try {
    out(explainOutput(positional[0] ?? 'cdktf.out', { markdown, host }));
    return 0;
  } catch (e) {
    err(`sfw-explain: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
