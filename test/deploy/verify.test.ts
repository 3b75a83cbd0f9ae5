/**
 * `sfw-apply.sh verify` and `apply --if-drifted` on the kernel (network namespaces, the
 * script run with dash; test/support/script-lab.ts): exclusive ownership (the whole filter
 * table / the whole nftables ruleset is compared), the drift gate of the deployment's
 * drift check and its confirm, a manual rollback, and the cases verify cannot decide.
 * The lab with real terraform and sshd is test/deploy/drift-lab.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Lab, netnsSupported, withLab } from '../support/netns';
import { makeScriptCtx, runScript, ScriptCtx, scriptOk } from '../support/script-lab';

const describeKernel = netnsSupported() ? describe : describe.skip;

const RULES_V4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SFW-INPUT - [0:0]
-A INPUT -j SFW-INPUT
-A SFW-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A SFW-INPUT -i lo -j ACCEPT
-A SFW-INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A SFW-INPUT -p tcp -j REJECT --reject-with tcp-reset
COMMIT
`;
const RULESET_NFT = `table inet stateful_firewall {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\ttcp dport 22 accept
\t}
}
`;

function write(ctx: ScriptCtx, files: Record<string, string>): void {
  for (const name of fs.readdirSync(ctx.pending)) fs.rmSync(path.join(ctx.pending, name));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(ctx.pending, name), text);
}

function deploy(lab: Lab, ns: string, ctx: ScriptCtx, id: string, extra: string[] = []): void {
  scriptOk(runScript(lab, ns, ctx, ['apply', '--dir', ctx.pending, '--apply-id', id, ...extra]));
  scriptOk(runScript(lab, ns, ctx, ['confirm', '--apply-id', id]));
}

const verify = (lab: Lab, ns: string, ctx: ScriptCtx) => runScript(lab, ns, ctx, ['verify']);

describeKernel('sfw-apply.sh verify (network namespaces)', () => {
  test('exclusive iptables: a foreign chain and a policy changed in the owned filter table are drift; other tables are not', async () => {
    await withLab(async (lab) => {
      const ns = lab.addNamespace('host');
      const ctx = makeScriptCtx('verify-excl', { systemd: true });
      write(ctx, { 'rules.v4': RULES_V4 });
      deploy(lab, ns, ctx, 'a1', ['--mode', 'exclusive']);
      expect(verify(lab, ns, ctx).status).toBe(0);
      lab.exec(ns, ['iptables', '-t', 'nat', '-N', 'DOCKER']);
      expect(verify(lab, ns, ctx).status).toBe(0);
      lab.exec(ns, ['iptables', '-N', 'DOCKER-USER']);
      lab.exec(ns, ['iptables', '-A', 'DOCKER-USER', '-j', 'RETURN']);
      lab.exec(ns, ['iptables', '-P', 'FORWARD', 'ACCEPT']);
      const r = verify(lab, ns, ctx);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('drift: ipv4 filter chain FORWARD: policy is now: ACCEPT (confirmed: DROP)\n');
      expect(r.stdout).toContain('drift: ipv4 filter chain DOCKER-USER: not in the confirmed ruleset (1 rule(s))\n    + -A DOCKER-USER -j RETURN\n');
    }, 'verify-excl');
  }, 60_000);

  test('exclusive nftables: a foreign table is drift; shared: it is not', async () => {
    await withLab(async (lab) => {
      const ns = lab.addNamespace('host');
      for (const mode of ['exclusive', 'shared']) {
        const ctx = makeScriptCtx(`verify-nft-${mode}`, { systemd: true });
        write(ctx, { 'ruleset.nft': RULESET_NFT });
        deploy(lab, ns, ctx, mode === 'shared' ? 'b2' : 'b1', ['--mode', mode]);
        expect(verify(lab, ns, ctx).status).toBe(0);
        lab.exec(ns, ['nft', 'add', 'table', 'ip', 'foreign']);
        const r = verify(lab, ns, ctx);
        if (mode === 'exclusive') {
          expect(r.status).toBe(1);
          expect(r.stdout).toContain('drift: nftables table ip foreign: not in the confirmed ruleset (0 line(s))\n');
        } else {
          expect(r.status).toBe(0);
        }
        lab.exec(ns, ['nft', 'delete', 'table', 'ip', 'foreign']);
      }
    }, 'verify-nft');
  }, 60_000);

  test('apply --if-drifted: nothing while in sync (its confirm succeeds), a re-apply after drift; verify is 2 while an apply waits for its confirm', async () => {
    await withLab(async (lab) => {
      const ns = lab.addNamespace('host');
      const ctx = makeScriptCtx('verify-gate', { systemd: true });
      write(ctx, { 'rules.v4': RULES_V4 });
      deploy(lab, ns, ctx, 'c1');
      const current = () => fs.readFileSync(path.join(ctx.state, 'current.env'), 'utf8');
      const was = current();
      let r = scriptOk(runScript(lab, ns, ctx, ['apply', '--dir', ctx.pending, '--apply-id', 'c2', '--if-drifted']));
      expect(r.stdout).toContain('drift check: in sync with confirmed apply c1: nothing re-applied');
      expect(current()).toBe(was);
      r = scriptOk(runScript(lab, ns, ctx, ['confirm', '--apply-id', 'c2']));
      expect(r.stdout).toContain('apply c2 applied nothing');

      lab.exec(ns, ['iptables', '-D', 'SFW-INPUT', '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
      r = scriptOk(runScript(lab, ns, ctx, ['apply', '--dir', ctx.pending, '--apply-id', 'c3', '--if-drifted']));
      expect(r.stdout).toContain('drift: ipv4 filter chain SFW-INPUT: 1 rule(s) missing\n    - -A SFW-INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n');
      expect(r.stdout).toContain('drift check: the host drifted from confirmed apply c1: applying again');
      // waiting for its confirm: verify cannot tell (exit 2), --if-drifted leaves it alone
      const v = verify(lab, ns, ctx);
      expect(v.status).toBe(2);
      expect(v.stdout).toContain('verify: apply c3 is waiting for its confirm');
      expect(scriptOk(runScript(lab, ns, ctx, ['apply', '--dir', ctx.pending, '--apply-id', 'c4', '--if-drifted'])).stdout)
        .toContain('drift check: apply c3 is waiting for its confirm: that deploy decides; nothing re-applied');
      scriptOk(runScript(lab, ns, ctx, ['confirm', '--apply-id', 'c3']));
      expect(verify(lab, ns, ctx).stdout).toContain('verify: in sync with apply c3');

      // a manual rollback of the confirmed apply: verify compares with what it restored
      scriptOk(runScript(lab, ns, ctx, ['rollback']));
      const after = verify(lab, ns, ctx);
      expect(after.status).toBe(0);
      expect(after.stdout).toContain('verify: in sync with apply rollback-of-c3');
    }, 'verify-gate');
  }, 90_000);

  test('cannot verify (exit 2): nothing deployed, destroyed, a recorded file that is not root\'s alone', async () => {
    await withLab(async (lab) => {
      const ns = lab.addNamespace('host');
      const ctx = makeScriptCtx('verify-2', { systemd: true });
      let r = verify(lab, ns, ctx);
      expect([r.status, r.stdout]).toEqual([2, expect.stringContaining('nothing to verify')]);
      expect(fs.existsSync(ctx.state)).toBe(false); // verify created nothing
      write(ctx, { 'rules.v4': RULES_V4 });
      deploy(lab, ns, ctx, 'd1');
      fs.chmodSync(path.join(ctx.state, 'baseline', 'v4.save'), 0o666);
      r = verify(lab, ns, ctx);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('is not root\'s alone');
      fs.chmodSync(path.join(ctx.state, 'baseline', 'v4.save'), 0o600);
      expect(verify(lab, ns, ctx).status).toBe(0);
      scriptOk(runScript(lab, ns, ctx, ['destroy']));
      r = verify(lab, ns, ctx);
      expect([r.status, r.stdout]).toEqual([2, expect.stringContaining('no confirmed apply is recorded')]);
    }, 'verify-2');
  }, 60_000);
});
