import * as fs from 'fs';
import * as path from 'path';

/**
 * A Terraform template rendered as `templatefile` would, for the interpolations given
 * (by their expression text); any other `${...}` or `%{...}` is an error.
 */
export function renderTemplate(text: string, values: { [expression: string]: string }): string {
  return text.replace(/([$%])(\1?)\{([^}]*)\}/g, (all, sigil: string, doubled: string, expr: string) => {
    if (doubled) return `${sigil}{${expr}}`;
    if (sigil === '%' || !(expr in values)) throw new Error(`unexpected template sequence ${all}`);
    return values[expr];
  });
}

/**
 * The shell text of a provisioner's inline step that is a `templatefile()` call, as
 * Terraform would render it from the stack's output directory. Variables bound to
 * Terraform expressions (`self.id`) stay as `${self.id}`.
 */
export function renderStep(stackDir: string, inline: string): string {
  const call = /^\$\{templatefile\("\$\{path\.module\}\/([^"]+)", \{ (.*) \}\)\}$/.exec(inline);
  if (!call) throw new Error(`not a templatefile step: ${inline.slice(0, 200)}`);
  const vars: { [name: string]: string } = {};
  for (const m of call[2].matchAll(/(\w+) = ("((?:[^"\\]|\\.)*)"|[\w.]+)/g)) {
    vars[m[1]] = m[3] !== undefined ? m[3].replace('${path.module}', stackDir) : `\${${m[2]}}`;
  }
  const values: { [expression: string]: string } = {};
  for (const [name, value] of Object.entries(vars)) {
    values[name] = value;
    // only paths into the output are read (lazily: `sudo` is a plain string)
    Object.defineProperty(values, `file(${name})`, { enumerable: true, get: () => fs.readFileSync(value, 'utf8') });
  }
  return renderTemplate(fs.readFileSync(path.join(stackDir, call[1]), 'utf8'), values);
}
