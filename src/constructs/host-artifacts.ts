import * as fs from 'fs';
import * as path from 'path';
import type { IResolveContext, TerraformStack } from 'cdktf';
import type { StatefulHost } from './stateful-host';
import { constructError } from './validation';
import { CompiledRuleset } from '../core/compiled-ruleset';
import { Explain } from '../core/explain/explain';
import { HostModelFile, MODEL_FILE } from '../core/host-model-file';
import { SetDefinition } from '../core/ir/set-definition';
import { lazyString } from '../synth/lazy-token';
import { terraformLib } from '../synth/terraform-lib';

/** A host's explain.md, by the ruleset it explains (the outputs and the file share it). */
const EXPLAINED = new WeakMap<CompiledRuleset, string>();

/** The host's `explain.md` text (computed once per compiled ruleset). */
export function explainMarkdown(host: StatefulHost): string {
  const ruleset = host.ruleset;
  let text = EXPLAINED.get(ruleset);
  if (text === undefined) {
    const tunesKernel = host.kernelConntrackSizing !== undefined;
    text = Explain.markdown(ruleset, { backend: host.backend, conntrackSizing: host.conntrackSizing, tunesKernel });
    EXPLAINED.set(ruleset, text);
  }
  return text;
}

/** What model.json holds: the host's identity, its compiled model and its conntrack sizing. */
function modelFile(host: StatefulHost, ruleset: CompiledRuleset): HostModelFile {
  const sizing = host.conntrackSizing;
  const conntrack = sizing ? { expectedConnections: sizing.expectedConnections, tuneKernel: host.kernelConntrackSizing !== undefined } : undefined;
  // the tokens of late-bound members mean nothing outside this synth: labels and origins stay
  const strip = (x: SetDefinition): SetDefinition => (x.lateMembers ? { ...x, lateMembers: x.lateMembers.map(({ value: _, ...m }) => m) } : x);
  const model = ruleset.model.sets?.some((x) => x.lateMembers) ? { ...ruleset.model, sets: ruleset.model.sets.map(strip) } : ruleset.model;
  return { hostName: host.hostName, path: host.node.path, backend: host.backend, model, ...(conntrack ? { conntrack } : {}) };
}

/** Writes the host's folder `firewall/<hostName>/`: the rendered rulesets, explain.md and model.json. */
export function writeHostArtifacts(host: StatefulHost, stackDir: string): void {
  const dir = path.join(stackDir, 'firewall', host.hostName);
  fs.mkdirSync(dir, { recursive: true });
  const ruleset = host.ruleset;
  const files: Record<string, string> = {
    ...host.renderedFiles,
    'explain.md': explainMarkdown(host),
    [MODEL_FILE]: `${JSON.stringify(modelFile(host, ruleset), undefined, 2)}\n`,
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

/** The host's outputs, in its stack (output names are per stack): a clash of names is an error naming the host. */
export function addHostOutputs(host: StatefulHost, stack: TerraformStack): void {
  const name = host.hostName.replace(/\./g, '_');
  // produced at synth, from the frozen policy (the preparing pass only collects tokens)
  const lib = terraformLib(host);
  const lazy = (produce: () => string) => lazyString(host, (context: IResolveContext) => (context.preparing ? '' : produce()));
  const outputs: [string, string, () => string][] = [
    ['ruleset_sha256', `sha256 of the rendered ruleset files of ${host.node.path} (${host.backend})`, () => host.rulesetSha256],
    ['explain', `what the firewall of ${host.node.path} allows (firewall/${host.hostName}/explain.md)`, () => explainMarkdown(host)],
  ];
  for (const [what, description, produce] of outputs) {
    const id = `${name}_${what}`;
    const taken = stack.node.tryFindChild(id);
    if (taken) {
      throw constructError(host, `terraformOutputs: the stack already has an output or construct '${id}' (${taken.node.path}): give this host another hostName`);
    }
    new lib.TerraformOutput(stack, id, { value: lazy(produce), description, staticId: true });
  }
}
