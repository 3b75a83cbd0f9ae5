/**
 * `shellcheck -o all` on the shell that runs on a host: the apply script
 * (assets/sfw-apply.sh, run as root by dash with `set -eu`) and the remote
 * step scripts src/deploy/remote-steps.ts generates.
 *
 * CI runs as root and must lint: there a missing shellcheck fails the test.
 * Only a non-root run without shellcheck skips it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { APPLY_PARTS_DIR, buildApplyScript } from '../../scripts/build-apply-script';
import { applyStepTemplate, hostBundle, scriptStep, teardownStepTemplate } from '../../src/deploy/remote-steps';
import { renderTemplate } from '../support/deploy-steps';

const SCRIPT = path.resolve(__dirname, '..', '..', 'assets', 'sfw-apply.sh');

/** The checks of `-o all` left out, each with the reason. */
const EXCLUDED: ReadonlyArray<readonly [code: string, reason: string]> = [
  ['SC2250', 'style only: braces around every variable reference ("${x}" for "$x") change nothing where no name character follows'],
  ['SC2248', 'style only: quotes around values that cannot split or glob; the one unquoted one ($_nf: empty or one flag) is deliberate and marked SC2086'],
  ['SC2249', 'audited: every case without *) is a check that acts on the wrong values only (option validation, ipset_prune, stage_pending, the nft table name, the apply id, the dispatch of an already validated command)'],
];

/**
 * Left out for a part linted on its own (assets/sfw-apply/NN-*.sh) only: what another part
 * decides, as assets/sfw-apply/.shellcheckrc sets it (so a plain `shellcheck -s sh` on a part
 * agrees with this test), each with its reason from that file's comments. The whole script is
 * linted without these exclusions.
 */
const PART_EXCLUDED: ReadonlyArray<readonly [code: string, reason: string]> = partExclusions(path.join(APPLY_PARTS_DIR, '.shellcheckrc'));

function partExclusions(rc: string): [string, string][] {
  const text = fs.readFileSync(rc, 'utf8');
  const disabled = (/^disable=(.*)$/m.exec(text)?.[1] ?? '').split(',').filter(Boolean);
  const reasons = new Map([...text.matchAll(/^# (SC\d{4}): (.*)$/gm)].map((m) => [m[1], m[2]] as [string, string]));
  // every disabled check is explained, and every explained one disabled
  if (disabled.length === 0 || disabled.some((c) => !reasons.has(c)) || [...reasons.keys()].some((c) => !disabled.includes(c))) {
    throw new Error(`${rc}: each check in disable= needs a '# SCnnnn: reason' line, and each such line its check in disable=`);
  }
  return disabled.map((c) => [c, reasons.get(c)!]);
}

/**
 * SC2310 (a function called in an `if`, `||`, `&&` or `!` runs with set -e off) is
 * accepted only for calls to these functions: audited, each returns its own failures
 * explicitly (`|| return 1`, or a single command or test whose status is the answer),
 * so its status is its real status without set -e. A conditional call to any other
 * function is a finding: audit it (make every failure that matters return), then add it.
 */
const SC2310_AUDITED: ReadonlySet<string> = new Set([
  // single command or pure test
  'have', 'run_tool', 'gen_tx', 'nft_table_of', 'nft_has_table', 'ipset_lib', 'q',
  'restore_noflush', 'confirmed_id', 'rolled_back_id',
  // every failing step returns (or, best effort by design, is recorded in the status)
  'secure_state_dir', 'ipset_prepare', 'ipset_commit', 'lib_restore', 'restore_snapshot',
  'loose_restore', 'ct_seed', 'ct_raise', 'ct_untune', 'systemd_usable',
  // returns every failure; its persistence files go through atomic_write (see below)
  'ct_tune',
  // boot persistence: every failing step returns (pfail says what failed)
  'systemd_running', 'unit_wants', 'unit_enable', 'write_env', 'atomic_write', 'save_ipt', 'save_ipset', 'save_nft',
  'enable_units', 'boot_install', 'persist', 'nfp_ipset_plugin', 'systemd_present', 'unit_find',
  // the rollback timer: pure checks whose status is the answer (a failing look-up reads as
  // "no confirm / no new connection", which lets the rollback happen: the safe side)
  'timer_pid', 'armed_live', 'ssh_origin', 'confirm_live', 'new_ssh_conn', 'rollback_due',
  // a single command each (a heredoc; a version line; an awk): the status is the answer
  'boot_unit_text', 'variant', 'tables_of',
  // drift (verify): an awk or a dump whose status is the answer (dump prints a marker the
  // awk reads as "failed"); pure checks; baseline_record returns every failing step
  'drift_section', 'dump', 'nft_table_dump', 'trusted', 'baseline_load', 'baseline_record', 'fingerprint',
  // 0: apply, 1: nothing to do (its steps: say, drift_run, which always returns 0, drift_skip, which warns)
  'drift_gate',
]);

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly level: string;
  readonly code: number;
  readonly message: string;
}

const shellcheckPath = (() => {
  const r = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
// as root (CI) the tests run and fail without shellcheck; elsewhere they may skip
const describeLint = shellcheckPath !== undefined || isRoot ? describe : describe.skip;

function shellcheck(file: string, excluded = EXCLUDED): Finding[] {
  if (shellcheckPath === undefined) {
    throw new Error('shellcheck is not installed: the on-host shell must be linted (apt-get install shellcheck)');
  }
  const exclude = excluded.map(([code]) => code).join(',');
  const r = spawnSync(shellcheckPath, ['-o', 'all', '-s', 'sh', '-e', exclude, '-f', 'json1', file], { encoding: 'utf8' });
  // 0: clean, 1: findings; anything else is shellcheck failing
  if (r.status !== 0 && r.status !== 1) {
    throw new Error(`shellcheck failed (status ${r.status}): ${r.stderr}${r.error ? String(r.error) : ''}`);
  }
  return (JSON.parse(r.stdout) as { comments: Finding[] }).comments;
}

/** where(line): the source of a line of the linted file, shown next to it (a part for the apply script) */
function format(findings: readonly Finding[], lines?: readonly string[], where?: (line: number) => string): string {
  return findings
    .map((f) => {
      const src = lines ? `\n    ${lines[f.line - 1]?.trim() ?? ''}` : '';
      const from = where ? ` (${where(f.line)})` : '';
      return `${path.basename(f.file)}:${f.line}:${f.column}${from}: ${f.level}: ${f.message} [SC${f.code}]${src}`;
    })
    .join('\n');
}

/** The function name a finding's column points at (the callee of SC2310). */
function calleeAt(lines: readonly string[], f: Finding): string {
  return /^[A-Za-z_][A-Za-z0-9_]*/.exec(lines[f.line - 1].slice(f.column - 1))?.[0] ?? '';
}

describeLint('shellcheck -o all', () => {
  test('every excluded check has a reason', () => {
    for (const [code, reason] of [...EXCLUDED, ...PART_EXCLUDED]) {
      expect(code).toMatch(/^SC\d{4}$/);
      expect(reason.length).toBeGreaterThan(20);
    }
  });

  test('assets/verify-fleet.sh (runs on the deploying machine, README "Drift")', () => {
    const fleet = path.resolve(__dirname, '..', '..', 'assets', 'verify-fleet.sh');
    expect(format(shellcheck(fleet), fs.readFileSync(fleet, 'utf8').split('\n'))).toBe('');
  });

  test('the apply script', () => {
    const lines = fs.readFileSync(SCRIPT, 'utf8').split('\n');
    const findings = shellcheck(SCRIPT).filter((f) => !(f.code === 2310 && SC2310_AUDITED.has(calleeAt(lines, f))));
    if (findings.length > 0) {
      // each finding names the part (or awk program) line to edit: the script is generated
      const { origins } = buildApplyScript();
      const where = (line: number) => `assets/sfw-apply/${origins[line - 1]?.file}:${origins[line - 1]?.line}`;
      throw new Error(`shellcheck -o all found ${findings.length} problem(s) in ${SCRIPT}:\n${format(findings, lines, where)}`);
    }
  });

  // each part on its own: the same checks but those that depend on other parts
  // (SC2310 needs the function definitions of other parts: the whole-script test checks it)
  test.each(buildApplyScript().parts)('the part %s', (part) => {
    const file = path.join(APPLY_PARTS_DIR, part);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const findings = shellcheck(file, [...EXCLUDED, ...PART_EXCLUDED]).filter((f) => !(f.code === 2310 && SC2310_AUDITED.has(calleeAt(lines, f))));
    if (findings.length > 0) {
      throw new Error(`shellcheck -o all found ${findings.length} problem(s) in ${file}:\n${format(findings, lines)}`);
    }
  });

  describe('the remote steps', () => {
    const sha = 'a'.repeat(64);
    const common = '--state-dir /var/lib/stateful-firewall --backend iptables --mode shared';
    const bundle = (sudo: boolean) => hostBundle({ 'rules.v4': '*filter\nCOMMIT\n', 'rules.v6': '', 'sets.ipset': 'create x' }, sudo,
      `${common} --rollback-timeout 60 --conntrack-max 262144`, () => sha);
    const steps: ReadonlyArray<readonly [string, string]> = [
      ['apply (sudo)', renderTemplate(applyStepTemplate(), { 'id': 'abc', 'file(bundle)': bundle(true), 'file(script)': 'echo the apply script' })],
      ['apply (root)', renderTemplate(applyStepTemplate(), { 'id': 'abc', 'file(bundle)': bundle(false), 'file(script)': 'echo the apply script' })],
      ['drift check (sudo)', renderTemplate(applyStepTemplate(false, '--if-drifted'), { 'id': 'abc', 'file(bundle)': bundle(true), 'file(script)': 'echo the apply script' })],
      ['confirm (sudo)', scriptStep(true, '/var/lib/stateful-firewall/sfw-apply.sh', `confirm ${common} --apply-id abc`)],
      ['confirm (root)', scriptStep(false, '/var/lib/stateful-firewall/sfw-apply.sh', `confirm ${common} --apply-id abc`)],
      ['destroy (sudo)', renderTemplate(teardownStepTemplate('/var/lib/stateful-firewall'),
        { 'id': 'abc', 'file(script)': 'echo the apply script', 'sudo': 'sudo -n ', 'backend': 'iptables', 'mode': 'shared' })],
      ['destroy (root)', renderTemplate(teardownStepTemplate('/var/lib/stateful-firewall'),
        { 'id': 'abc', 'file(script)': 'echo the apply script', 'sudo': '', 'backend': 'nftables', 'mode': 'exclusive' })],
    ];
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-lint-'));
    });
    afterAll(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test.each(steps)('%s', (name, text) => {
      const file = path.join(dir, `${name.replace(/[^a-z]+/g, '-')}.sh`);
      const content = `#!/bin/sh\n${text}`;
      fs.writeFileSync(file, content);
      const findings = shellcheck(file);
      if (findings.length > 0) {
        throw new Error(`shellcheck -o all found ${findings.length} problem(s) in the ${name} step:\n${format(findings, content.split('\n'))}`);
      }
    });
  });
});

