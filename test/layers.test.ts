import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', 'src');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Each source file's relative imports that load code (`import type` erases at compile time), resolved to files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files(SRC).filter((x) => x.endsWith('.ts'))) {
    const text = fs.readFileSync(f, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/^(import|export)\s(?!type\s)[^;]*?from\s*'(\.[^']*)'/gm)) {
      const base = path.resolve(path.dirname(f), m[2]);
      const target = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
      if (target) deps.push(target);
    }
    graph.set(f, deps);
  }
  return graph;
}

/** The import cycles: strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(path.relative(SRC, w));
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('the layers of src/', () => {
  const graph = importGraph();

  test('no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  test('the cycle finder finds a planted cycle (so the test above can fail)', () => {
    const planted = new Map(graph);
    const a = path.join(SRC, 'core', 'values', 'port.ts');
    const b = path.join(SRC, 'constructs', 'stateful-host.ts');
    planted.set(a, [...(planted.get(a) ?? []), b]);
    expect(cycles(planted).some((c) => c.includes('core/values/port.ts') && c.includes('constructs/stateful-host.ts'))).toBe(true);
  });

  test('each layer imports only the layers below it', () => {
    // core <- checks, constructs <- synth, deploy; cli and testing use core only
    const allowed: Record<string, string[]> = {
      core: ['core'],
      cli: ['cli', 'core'],
      testing: ['testing', 'core'],
      synth: ['synth'],
      checks: ['checks', 'core'],
      deploy: ['deploy', 'core', 'synth'],
      constructs: ['constructs', 'core', 'checks', 'deploy', 'synth'],
    };
    const layer = (f: string) => path.relative(SRC, f).split(path.sep)[0];
    const offenders = [...graph.entries()].flatMap(([f, deps]) => {
      const from = layer(f);
      const ok = allowed[from];
      if (!ok) return [];
      return deps.filter((d) => !ok.includes(layer(d))).map((d) => `${path.relative(SRC, f)} imports ${path.relative(SRC, d)}`);
    });
    expect(offenders).toEqual([]);
  });
});
