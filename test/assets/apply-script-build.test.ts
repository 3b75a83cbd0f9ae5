/**
 * assets/sfw-apply.sh is generated from assets/sfw-apply/ (shell parts and awk programs) by
 * scripts/build-apply-script.ts: the committed file must be exactly what the build makes of
 * the committed sources (nobody edits the output by hand), and the build refuses sources
 * that would not give one self-contained POSIX sh file.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { APPLY_SCRIPT_OUT, buildApplyScript, GENERATED_NOTICE } from '../../scripts/build-apply-script';

describe('the generated apply script', () => {
  const built = buildApplyScript();

  test('the committed assets/sfw-apply.sh is the build of assets/sfw-apply/ (run `npx projen build-apply-script`)', () => {
    expect(fs.readFileSync(APPLY_SCRIPT_OUT, 'utf8')).toBe(built.text);
  });

  test('its header says it is generated, after the line self_install looks for', () => {
    const head = built.text.split('\n').slice(0, 4);
    expect(head).toEqual(['#!/bin/sh', '# sfw-apply: stateful-firewall on-host apply script', ...GENERATED_NOTICE]);
  });

  test('it has no marker left and depends on no part at run time', () => {
    // (the generated notice names the sources; nothing after it)
    const body = built.text.split('\n').slice(2 + GENERATED_NOTICE.length).join('\n');
    expect(body).not.toMatch(/@awk|sfw-apply\/|\.awk\b/);
  });

  test('every part stays under 300 lines, and every awk program is used', () => {
    const dir = path.join(path.dirname(APPLY_SCRIPT_OUT), 'sfw-apply');
    for (const part of built.parts) {
      const n = fs.readFileSync(path.join(dir, part), 'utf8').split('\n').length - 1;
      expect([part, n < 300]).toEqual([part, true]);
    }
    const used = new Set(built.origins.map((o) => o.file).filter((f) => f.endsWith('.awk')).map((f) => path.basename(f)));
    expect([...used].sort()).toEqual([...built.awkPrograms]);
  });

  test('the origins map every output line to its source line', () => {
    const out = built.text.split('\n').slice(0, -1);
    expect(built.origins).toHaveLength(out.length);
    const dir = path.join(path.dirname(APPLY_SCRIPT_OUT), 'sfw-apply');
    out.forEach((line, i) => {
      const o = built.origins[i];
      if (o.file.startsWith('(')) return;
      const src = fs.readFileSync(path.join(dir, o.file), 'utf8').split('\n')[o.line - 1];
      // an awk line is the source line indented (and, on a program's last line, the quote's rest)
      expect([o.file, o.line, line.includes(src.trim())]).toEqual([o.file, o.line, true]);
    });
  });
});

describe('the build refuses malformed sources', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-parts-'));
    fs.mkdirSync(path.join(dir, 'awk'));
    fs.writeFileSync(path.join(dir, '00-header.sh'), '#!/bin/sh\n# sfw-apply: stateful-firewall on-host apply script\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (files: Record<string, string>) => {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  };

  test('a well-formed program is inlined with the marker\'s indent and the quote\'s rest', () => {
    write({
      '10-x.sh': "f() {\n  awk '\n    @awk a.awk\n  ' \"$1\"\n  awk -v x=1 '\n    @awk b.awk' \"$1\"\n}\n",
      'awk/a.awk': '{ print }\n\nEND { }\n',
      'awk/b.awk': 'BEGIN {\n  exit\n}\n',
    });
    expect(buildApplyScript(dir).text).toBe([
      '#!/bin/sh', '# sfw-apply: stateful-firewall on-host apply script', ...GENERATED_NOTICE,
      'f() {', "  awk '", '    { print }', '', '    END { }', '  \' "$1"',
      "  awk -v x=1 '", '    BEGIN {', '      exit', '    }\' "$1"', '}', '',
    ].join('\n'));
  });

  test.each([
    ['a single quote in a program', { '10-x.sh': "awk '\n@awk a.awk\n'\n", 'awk/a.awk': "{ print \"'\" }\n" }, /a\.awk: contains a single quote/],
    ['a marker outside quotes', { '10-x.sh': '@awk a.awk\n', 'awk/a.awk': '{ print }\n' }, /10-x\.sh:1: the awk marker must be alone in a single-quoted string/],
    ['a marker not closed', { '10-x.sh': "awk '\n@awk a.awk\n\"$1\"\n", 'awk/a.awk': '{ print }\n' }, /10-x\.sh:2: the awk marker must be alone/],
    ['an unknown program', { '10-x.sh': "awk '\n@awk nope.awk\n'\n" }, /10-x\.sh:2: no awk program nope\.awk/],
    ['a malformed marker', { '10-x.sh': "awk '\n  x @awk a.awk\n'\n", 'awk/a.awk': '{ print }\n' }, /10-x\.sh:2: malformed awk marker/],
    ['an unused program', { '10-x.sh': 'true\n', 'awk/a.awk': '{ print }\n' }, /a\.awk: no part uses it/],
    ['a misnamed part', { 'x.sh': 'true\n' }, /x\.sh: not a part of the apply script/],
    ['a part without a final newline', { '10-x.sh': 'true' }, /10-x\.sh: must end with a newline/],
    ['an empty program', { '10-x.sh': "awk '\n@awk a.awk\n'\n", 'awk/a.awk': '\n' }, /a\.awk: is empty/],
    ['a header without the marker line', { '00-header.sh': '#!/bin/sh\n# other\n' }, /00-header\.sh: must start with/],
  ] as ReadonlyArray<[string, Record<string, string>, RegExp]>)('%s', (_name, files, error) => {
    write(files);
    expect(() => buildApplyScript(dir)).toThrow(error);
  });
});
