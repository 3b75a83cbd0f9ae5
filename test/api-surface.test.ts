import * as path from 'path';
import * as ts from 'typescript';

// The package's API as TypeScript sees src/index.ts: the root export is the user's
// vocabulary (classes, interfaces, enums; no helpers), the `model` submodule is experimental
// type by type, and a stable member that takes or returns a model type is experimental too.
// jsii-diff (`npx projen api-compat`) guards the stable API against api/baseline; this test
// guards the split itself.

const SRC = path.join(__dirname, '..', 'src');

interface Exported {
  readonly name: string;
  readonly declarations: ts.Declaration[];
}

function loadApi() {
  const program = ts.createProgram([path.join(SRC, 'index.ts')], {
    target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, strict: true, noEmit: true, skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const exportsOf = (moduleSymbol: ts.Symbol): Exported[] => checker.getExportsOfModule(moduleSymbol).map((s) => {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    return { name: s.name, declarations: target.declarations ?? [] };
  });
  const root = exportsOf(checker.getSymbolAtLocation(program.getSourceFile(path.join(SRC, 'index.ts'))!)!);
  const model = exportsOf(checker.getSymbolAtLocation(program.getSourceFile(path.join(SRC, 'core', 'model', 'index.ts'))!)!);
  return { root, model };
}

const isType = (d: ts.Declaration) => ts.isClassDeclaration(d) || ts.isInterfaceDeclaration(d) || ts.isEnumDeclaration(d);
const tags = (d: ts.Node) => ts.getJSDocTags(d).map((t) => t.tagName.text);

/** The type annotations of a member: its own type, and its parameters' types. */
function memberTypeText(m: ts.Node): string {
  const parts: string[] = [];
  if ((ts.isPropertyDeclaration(m) || ts.isPropertySignature(m) || ts.isMethodDeclaration(m) || ts.isMethodSignature(m)
    || ts.isGetAccessorDeclaration(m)) && m.type) parts.push(m.type.getText());
  if (ts.isMethodDeclaration(m) || ts.isMethodSignature(m) || ts.isConstructorDeclaration(m)) {
    for (const p of m.parameters) if (p.type) parts.push(p.type.getText());
  }
  return parts.join(' ');
}

/** Public members of a root type that mention a model type without being @experimental. */
function stableMembersExposing(root: Exported[], modelNames: readonly string[]): string[] {
  const mentions = new RegExp(`\\b(${modelNames.join('|')})\\b`);
  const out: string[] = [];
  for (const e of root) {
    for (const d of e.declarations) {
      if (!(ts.isClassDeclaration(d) || ts.isInterfaceDeclaration(d))) continue;
      for (const m of d.members as ts.NodeArray<ts.Node>) {
        const modifiers = ts.canHaveModifiers(m) ? ts.getModifiers(m) ?? [] : [];
        if (modifiers.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
        if (mentions.test(memberTypeText(m)) && !tags(m).includes('experimental')) {
          out.push(`${e.name}.${(m as ts.NamedDeclaration).name?.getText() ?? 'constructor'}`);
        }
      }
    }
  }
  return out.sort();
}

describe('the public API (src/index.ts)', () => {
  const { root, model } = loadApi();
  const modelTypes = model.filter((e) => e.declarations.some(isType));

  test('the root exports only classes, interfaces and enums, and the model submodule', () => {
    const other = root.filter((e) => e.name !== 'model' && !e.declarations.every(isType)).map((e) => e.name);
    expect(other).toEqual([]);
    expect(root.map((e) => e.name)).toEqual(expect.arrayContaining(['StatefulHost', 'Port', 'Peer', 'CompiledRuleset', 'Packet', 'Explain', 'model']));
  });

  test('no model type is exported from the root as well', () => {
    const rootNames = new Set(root.map((e) => e.name));
    expect(modelTypes.map((e) => e.name).filter((n) => rootNames.has(n))).toEqual([]);
    expect(modelTypes.map((e) => e.name)).toEqual(expect.arrayContaining(['Rule', 'Chain', 'RulesetModel', 'SetDefinition', 'VerdictMap']));
  });

  test('every model type is @experimental', () => {
    const unmarked = modelTypes.filter((e) => e.declarations.some((d) => isType(d) && !tags(d).includes('experimental'))).map((e) => e.name);
    expect(unmarked).toEqual([]);
  });

  test('a stable member that takes or returns a model type is @experimental', () => {
    expect(stableMembersExposing(root, modelTypes.map((e) => e.name))).toEqual([]);
  });

  test('the exposure check finds an unmarked member (so the test above can fail)', () => {
    const file = ts.createSourceFile('planted.ts', [
      '/** A stable class. */',
      'export class Planted {',
      '  /** Unmarked. */',
      '  public readonly rules: Rule[] = [];',
      '  /** Marked.\n   * @experimental\n   */',
      '  public chain(c: Chain): void {}',
      '  public safe(n: number): string { return String(n); }',
      '}',
    ].join('\n'), ts.ScriptTarget.ES2020, true);
    const planted = file.statements.filter(ts.isClassDeclaration).map((d) => ({ name: 'Planted', declarations: [d] }));
    expect(stableMembersExposing(planted, ['Rule', 'Chain'])).toEqual(['Planted.rules']);
  });
});
