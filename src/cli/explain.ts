#!/usr/bin/env node
// sfw-explain: prints, for every host in a synthesized cdktf output, who can reach what.
//
//   npx sfw-explain [cdktf.out] [--markdown] [--host NAME]
import * as fs from 'fs';
import * as path from 'path';
import { CompiledRuleset } from '../engine/compiled-ruleset';
import { Explain } from '../engine/explain/explain';
import { HostModelFile, MODEL_FILE } from '../engine/host-model-file';

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
      return options.markdown ? `<!-- ${title} -->\n${Explain.markdown(ruleset)}` : `# ${title}\n${Explain.text(ruleset)}`;
    })
    .join('\n');
}

function main(argv: string[]): number {
  const args = [...argv];
  const markdown = args.includes('--markdown');
  const hostAt = args.indexOf('--host');
  const host = hostAt >= 0 ? args[hostAt + 1] : undefined;
  const positional = args.filter((a, i) => !a.startsWith('--') && (hostAt < 0 || i !== hostAt + 1));
  try {
    process.stdout.write(explainOutput(positional[0] ?? 'cdktf.out', { markdown, host }));
    return 0;
  } catch (e) {
    process.stderr.write(`sfw-explain: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
