/**
 * What root reads, and from where: assets/sfw-apply.sh `apply` copies the upload out of
 * --dir only after checking owner and mode (stage_pending), checks each file's sha256
 * against --sha256, and never sources or restores anything in its state dir that another
 * user owns or may write (secure_state_dir). Each test runs the script with dash as root
 * in a fresh network namespace; the upload belongs to an unprivileged uid, as it does when
 * a sudo user deploys (SUDO_UID).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Lab, netnsSupported, RunResult, withLab } from '../support/netns';

const SCRIPT = path.resolve(__dirname, '..', '..', 'assets', 'sfw-apply.sh');
const describeKernel = netnsSupported() ? describe : describe.skip;
/** The deploying user's uid (what sudo passes as SUDO_UID) and another local user's. */
const DEPLOYER = 4711;
const OTHER = 4712;

const RULES_V4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SFW-INPUT - [0:0]
-A INPUT -j SFW-INPUT
-A SFW-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A SFW-INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A SFW-INPUT -j DROP
COMMIT
`;
const sha = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

interface Ctx {
  readonly dir: string;
  readonly home: string;
  readonly upload: string;
  readonly state: string;
}

/** A private dir (as ~/.stateful-firewall is) holding an upload dir owned by the deployer. */
function makeCtx(): Ctx {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-staging-'));
  const home = path.join(dir, 'home');
  const upload = path.join(home, 'abc-123');
  fs.mkdirSync(upload, { recursive: true });
  fs.writeFileSync(path.join(upload, 'rules.v4'), RULES_V4);
  fs.chmodSync(home, 0o700);
  fs.chmodSync(upload, 0o700);
  for (const p of [home, upload, path.join(upload, 'rules.v4')]) fs.chownSync(p, DEPLOYER, DEPLOYER);
  return { dir, home, upload, state: path.join(dir, 'state') };
}

function applyAs(lab: Lab, ns: string, c: Ctx, extra: readonly string[] = [], sudoUid = DEPLOYER): RunResult {
  return lab.run(ns, ['dash', SCRIPT, 'apply', '--state-dir', c.state, '--dir', c.upload, '--backend', 'iptables', '--apply-id', 'abc-123', '--rollback-timeout', '30', ...extra], {
    env: { PATH: process.env.PATH, LC_ALL: 'C', TMPDIR: c.dir, SFW_ROOT: path.join(c.dir, 'root'), SFW_TIMER: 'detached', SUDO_UID: String(sudoUid) },
    timeoutMs: 60_000,
  });
}

describeKernel('sfw-apply.sh reads only what it can trust (namespaces)', () => {
  test('an upload of the deploying user, checked and with the right digest, is applied; the state dir stays root\'s', () => withLab((lab) => {
    const ns = lab.addNamespace('host');
    const c = makeCtx();
    const r = applyAs(lab, ns, c, ['--sha256', `rules.v4=${sha(RULES_V4)}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('apply id: abc-123');
    expect(lab.exec(ns, ['iptables-save'])).toContain('-A SFW-INPUT -p tcp -m tcp --dport 22 -j ACCEPT');
    const st = fs.statSync(c.state);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o700]);
    for (const f of fs.readdirSync(c.state)) expect(fs.lstatSync(path.join(c.state, f)).uid).toBe(0);
  }));

  test.each([
    ['the upload dir belongs to another user', (c: Ctx) => fs.chownSync(c.upload, OTHER, OTHER), /abc-123 belongs to uid 4712, not to root or the deploying user \(4711\)/],
    ['a file belongs to another user', (c: Ctx) => fs.chownSync(path.join(c.upload, 'rules.v4'), OTHER, OTHER), /rules\.v4 belongs to uid 4712/],
    ['the upload dir is writable by others', (c: Ctx) => fs.chmodSync(c.upload, 0o777), /abc-123 is writable by other users \(drwxrwxrwx\)/],
    ['its parent is writable by group', (c: Ctx) => fs.chmodSync(c.home, 0o770), /home is writable by other users \(drwxrwx---\)/],
    ['a file is writable by others', (c: Ctx) => fs.chmodSync(path.join(c.upload, 'rules.v4'), 0o666), /rules\.v4 is writable by other users/],
    ['a file is a symbolic link (to a file root can read)', (c: Ctx) => {
      fs.rmSync(path.join(c.upload, 'rules.v4'));
      fs.symlinkSync('/etc/shadow', path.join(c.upload, 'rules.v4'));
    }, /rules\.v4 is not a regular file/],
    ['the upload dir is a symbolic link', (c: Ctx) => {
      fs.renameSync(c.upload, `${c.upload}.real`);
      fs.symlinkSync(`${c.upload}.real`, c.upload);
    }, /is a symbolic link/],
    ['a file is not the one the deploy uploaded (sha256)', (c: Ctx) => fs.appendFileSync(path.join(c.upload, 'rules.v4'), '# changed\n'),
      /rules\.v4 in \S+ is not the file this deploy uploaded \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\): another deploy or user replaced it; nothing was changed/],
  ])('refused, nothing changed, when %s', (_what, spoil, message) => withLab((lab) => {
    const ns = lab.addNamespace('host');
    const c = makeCtx();
    spoil(c);
    const before = lab.exec(ns, ['iptables-save']);
    const r = applyAs(lab, ns, c, ['--sha256', `rules.v4=${sha(RULES_V4)}`]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(lab.exec(ns, ['iptables-save'])).toBe(before);
    expect(fs.existsSync(path.join(c.state, 'current.env'))).toBe(false);
  }));

  test('a lock without a holder pid (its holder killed while taking it) is removed after a few seconds, with a warning', () => withLab((lab) => {
    const ns = lab.addNamespace('host');
    const c = makeCtx();
    fs.mkdirSync(path.join(c.state, 'lock'), { recursive: true, mode: 0o700 });
    fs.chmodSync(c.state, 0o700);
    const r = applyAs(lab, ns, c, ['--sha256', `rules.v4=${sha(RULES_V4)}`]);
    expect(r.stderr).toContain('stateful-firewall: warning: removing the lock of a process that died while taking it');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('apply id: abc-123');
  }));

  test('a missing file named by --sha256 is refused', () => withLab((lab) => {
    const ns = lab.addNamespace('host');
    const c = makeCtx();
    const r = applyAs(lab, ns, c, ['--sha256', `rules.v4=${sha(RULES_V4)}`, '--sha256', `rules.v6=${sha('x')}`]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/rules\.v6 is missing from \S+ \(expected sha256 [0-9a-f]{64}\)/);
  }));

  test('state another user owns or may write is discarded unread (a planted current.env never runs)', () => withLab((lab) => {
    const ns = lab.addNamespace('host');
    const c = makeCtx();
    const marker = path.join(c.dir, 'pwned');
    fs.mkdirSync(c.state, { mode: 0o700 });
    // as an older version left it: the state dir given to the SSH user, who planted files
    fs.chownSync(c.state, DEPLOYER, DEPLOYER);
    fs.writeFileSync(path.join(c.state, 'current.env'), `touch ${marker}\nST_ID='planted'\n`);
    fs.chownSync(path.join(c.state, 'current.env'), DEPLOYER, DEPLOYER);
    fs.mkdirSync(path.join(c.state, 'rollback'));
    fs.writeFileSync(path.join(c.state, 'rollback', 'rules.v4'), '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
    fs.chownSync(path.join(c.state, 'rollback', 'rules.v4'), DEPLOYER, DEPLOYER);
    fs.writeFileSync(path.join(c.state, 'armed.env'), `touch ${marker}\n`);
    fs.chmodSync(path.join(c.state, 'armed.env'), 0o622);
    const r = applyAs(lab, ns, c);
    expect(r.status).toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
    expect(r.stderr).toContain('current.env: it is not root\'s (or others may write it), so it cannot be trusted');
    expect(r.stderr).toContain('rollback: it is not root\'s');
    expect(r.stderr).toContain('armed.env: it is not root\'s');
    const st = fs.statSync(c.state);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o700]);
    expect(fs.readFileSync(path.join(c.state, 'current.env'), 'utf8')).toContain("ST_ID='abc-123'");
  }));
});
