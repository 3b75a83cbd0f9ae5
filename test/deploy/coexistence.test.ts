/**
 * Coexistence with ban tools on the iptables backend, tested by its effects on real
 * traffic (issue 12, item 4). A host namespace with listeners, a banned client and an
 * allowed one (both declared in the library's AdminAccess, so only the ban keeps the
 * banned one out), and bans made exactly as fail2ban and sshguard make them. The library's
 * ruleset is the one the engine renders for a `StatefulHost`, deployed with
 * assets/sfw-apply.sh (dash, detached rollback timer), for iptables-nft and
 * iptables-legacy.
 *
 * The contract (README, "Coexistence"): in shared mode the library's jumps from the filter
 * table's INPUT/OUTPUT go after every foreign rule and are moved last again by every
 * apply, so ban chains (present before the deploy or re-inserted at position 1 after it)
 * and foreign accepts keep deciding first; a foreign rule that decides every packet in
 * such a chain is refused (exit 3, nothing changed).
 */
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import { Peer, Port, StatefulHost } from '../../src';
import { Lab, netnsSupported, ProbeResult, RunResult, withLab } from '../support/netns';
import { makeScriptCtx, probePorts, runScript, ScriptCtx, scriptOk, startListener, Variant, VARIANTS } from '../support/script-lab';

const describeKernel = netnsSupported() ? describe : describe.skip;


// The host has one link to each client.
const HOST_B = '10.73.1.1'; // as the banned client sees it
const HOST_A = '10.73.2.1'; // as the allowed client sees it
const BANNED = '10.73.1.2';
const ALLOWED = '10.73.2.2';

/** Ports the host listens on: SSH (AdminAccess), 80 (Service), 8080 (a foreign accept), 8081 (undeclared). */
const PORTS = [22, 80, 8080, 8081];

/** fail2ban's sshd jail with the iptables-ipset action, as fail2ban sets it up and bans. */
const fail2banBan = (ipt: string) => [
  'ipset create f2b-sshd hash:ip',
  `ipset add f2b-sshd ${BANNED}`,
  `${ipt} -N f2b-sshd`,
  `${ipt} -A f2b-sshd -m set --match-set f2b-sshd src -j REJECT --reject-with icmp-port-unreachable`,
  `${ipt} -A f2b-sshd -j RETURN`,
  `${ipt} -I INPUT 1 -p tcp -m multiport --dports 22 -j f2b-sshd`,
].join(' && ');
const F2B_JUMP = '-p tcp -m multiport --dports 22 -j f2b-sshd';

/** sshguard's iptables backend: one unconditional jump appended to INPUT, a DROP per blocked set. */
const sshguardBan = (ipt: string) => [
  'ipset create sshguard4 hash:net family inet',
  `ipset add sshguard4 ${BANNED}/32`,
  `${ipt} -N sshguard`,
  `${ipt} -A sshguard -m set --match-set sshguard4 src -j DROP`,
  `${ipt} -A INPUT -j sshguard`,
].join(' && ');

/** The library's ruleset: SSH from both clients, a web service, optionally outbound filtering. */
function render(opts: { outbound?: boolean } = {}): Record<string, string> {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const host = new StatefulHost(stack, 'bastion', {
    address: HOST_A,
    deployment: { enabled: false },
    outboundFiltering: opts.outbound,
  });
  host.addAdminAccess('Ops', { peers: [Peer.ipv4(BANNED), Peer.ipv4(ALLOWED)] });
  host.addService('Web', { ports: [Port.HTTP] });
  if (opts.outbound) host.addOutbound('App', { ports: [Port.tcp(8080)], peers: [Peer.ipv4(BANNED), Peer.ipv4(ALLOWED)] });
  return host.renderedFiles;
}


type Ctx = ScriptCtx;

const makeCtx = (variant: Variant): Ctx => makeScriptCtx('coexist', {
  env: { SFW_IPTABLES: variant.ipt, SFW_IP6TABLES: variant.ip6t },
  // a host with systemd and no persistence convention: confirm installs the library's boot unit
  systemd: true,
});
const sfw = (lab: Lab, ns: string, ctx: Ctx, args: readonly string[]): RunResult => runScript(lab, ns, ctx, args);
const ok = scriptOk;

function writePending(ctx: Ctx, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(ctx.pending, name), content);
}

/** apply, then confirm (the deploy's two provisioners). */
function deploy(lab: Lab, ns: string, ctx: Ctx): RunResult {
  const r = ok(sfw(lab, ns, ctx, ['apply', '--dir', ctx.pending]));
  ok(sfw(lab, ns, ctx, ['confirm']));
  return r;
}

/** Rules of a built-in chain of the filter table, in order. */
function chainRules(lab: Lab, ns: string, cmd: string, chain: string): string[] {
  let table = '';
  const out: string[] = [];
  for (const line of lab.exec(ns, [`${cmd}-save`]).split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (table === 'filter' && line.startsWith(`-A ${chain} `)) out.push(line.slice(`-A ${chain} `.length));
  }
  return out;
}

/** The whole state a refused apply must leave alone. */
function hostState(lab: Lab, ns: string, v: Variant): string[] {
  const strip = (t: string) => t.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n');
  return [strip(lab.exec(ns, [`${v.ipt}-save`])), strip(lab.exec(ns, [`${v.ip6t}-save`])), lab.exec(ns, ['ipset', 'list', '-n'])];
}

/** A three-namespace lab: the host with listeners, a banned and an allowed client. */
async function setUp(lab: Lab): Promise<{ host: string; banned: string; allowed: string }> {
  const host = lab.addNamespace('host');
  const banned = lab.addNamespace('banned');
  const allowed = lab.addNamespace('allowed');
  lab.connect({ ns: host, ifname: 'eth-b', addresses: [`${HOST_B}/24`] }, { ns: banned, ifname: 'eth0', addresses: [`${BANNED}/24`] });
  lab.connect({ ns: host, ifname: 'eth-a', addresses: [`${HOST_A}/24`] }, { ns: allowed, ifname: 'eth0', addresses: [`${ALLOWED}/24`] });
  await startListener(lab, host, PORTS);
  return { host, banned, allowed };
}

describeKernel('coexistence with ban tools on the iptables backend (network namespaces, real traffic)', () => {
  let ctx: Ctx | undefined;
  afterEach(() => {
    if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
    ctx = undefined;
  });

  describe.each(VARIANTS)('$name', (variant) => {
    const { ipt } = variant;

    test('fail2ban: a banned client stays out of SSH before, during and after the deploy; foreign accepts keep working', () => withLab(async (lab) => {
      const c = (ctx = makeCtx(variant));
      const { host, banned, allowed } = await setUp(lab);
      /** What both clients reach, as one comparable record. */
      const reach = () => {
        const out: Record<string, ProbeResult> = {};
        for (const [who, ns, addr] of [['banned', banned, HOST_B], ['allowed', allowed, HOST_A]] as const) {
          for (const [port, result] of Object.entries(probePorts(lab, ns, addr, PORTS))) out[`${who}:${port}`] = result;
        }
        return out;
      };
      /** Packets the ban rule of f2b-sshd rejected so far. */
      const banHits = () => Number(/^\[(\d+):\d+\] -A f2b-sshd -m set/m.exec(lab.exec(host, [`${ipt}-save`, '-c']))![1]);

      // a libvirt-style foreign accept (allowed side only) and the fail2ban ban, before any deploy
      lab.sh(host, `${ipt} -A INPUT -i eth-a -p tcp -m tcp --dport 8080 -j ACCEPT && ${fail2banBan(ipt)}`);
      const bare = { 'banned:22': 'refused', 'banned:80': 'open', 'banned:8080': 'open', 'banned:8081': 'open', 'allowed:22': 'open', 'allowed:80': 'open', 'allowed:8080': 'open', 'allowed:8081': 'open' };
      expect(reach()).toEqual(bare);
      // with the library deployed: SSH and 80 as declared, the ban still keeps the banned client
      // out of SSH, the foreign accept still opens 8080 from the allowed side, the rest is closed
      const deployed = { ...bare, 'banned:8080': 'refused', 'banned:8081': 'refused', 'allowed:8081': 'refused' };
      const expectDeployed = (when: string) => {
        const hits = banHits();
        expect({ when, reach: reach() }).toEqual({ when, reach: deployed });
        expect(banHits()).toBeGreaterThan(hits); // the ban decided, not the library
      };

      writePending(c, render());
      const r = deploy(lab, host, c);
      expect(r.stdout).toMatch(/ipv4: shared: 1 SFW-\* chain\(s\) and 1 hook\(s\)/);
      expectDeployed('after apply and confirm');
      expect(chainRules(lab, host, ipt, 'INPUT')).toEqual([F2B_JUMP, '-i eth-a -p tcp -m tcp --dport 8080 -j ACCEPT', '-j SFW-INPUT']);

      // a redeploy moves the hook last again and changes nothing for the ban
      deploy(lab, host, c);
      expect(chainRules(lab, host, ipt, 'INPUT')).toEqual([F2B_JUMP, '-i eth-a -p tcp -m tcp --dport 8080 -j ACCEPT', '-j SFW-INPUT']);
      expectDeployed('after a redeploy');

      // fail2ban restarts: its jump goes away and comes back at position 1
      lab.sh(host, `${ipt} -D INPUT ${F2B_JUMP}`);
      expect(lab.tcpProbe(banned, HOST_B, 22, 1)).toBe('open'); // the ban is what kept it out
      lab.sh(host, `${ipt} -I INPUT 1 ${F2B_JUMP}`);
      expectDeployed('after the ban jump was re-inserted at position 1');
      expect(ok(sfw(lab, host, c, ['status'])).stderr).toBe('');

      // a rule appended after the library's hook is not reached until the next apply moves the hook last
      lab.sh(host, `${ipt} -A INPUT -s ${ALLOWED}/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset`);
      expect(lab.tcpProbe(allowed, HOST_A, 22, 1)).toBe('open');
      expect(ok(sfw(lab, host, c, ['status'])).stderr).toMatch(/ipv4: 1 foreign rule\(s\) in INPUT come after the library hook/);
      deploy(lab, host, c);
      expect(lab.tcpProbe(allowed, HOST_A, 22, 1)).toBe('refused');
      lab.sh(host, `${ipt} -D INPUT -s ${ALLOWED}/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset`);
      expectDeployed('after a foreign rule was appended, the hook moved last and the rule removed');

      // destroy: the library goes, the ban and the foreign accept stay
      expect(ok(sfw(lab, host, c, ['destroy'])).stdout).toContain('destroyed: no library objects remain');
      expect(chainRules(lab, host, ipt, 'INPUT')).toEqual([F2B_JUMP, '-i eth-a -p tcp -m tcp --dport 8080 -j ACCEPT']);
      expect(reach()).toEqual(bare);
    }, variant.name));

    test('sshguard: its unconditional jump to a chain that can fall through is accepted; its DROP keeps deciding', () => withLab(async (lab) => {
      const c = (ctx = makeCtx(variant));
      const { host, banned, allowed } = await setUp(lab);
      lab.sh(host, sshguardBan(ipt));
      const ssh = () => ({ banned: lab.tcpProbe(banned, HOST_B, 22, 1), allowed: lab.tcpProbe(allowed, HOST_A, 22, 1) });
      expect(ssh()).toEqual({ banned: 'timeout', allowed: 'open' });

      writePending(c, render());
      deploy(lab, host, c);
      expect(chainRules(lab, host, ipt, 'INPUT')).toEqual(['-j sshguard', '-j SFW-INPUT']);
      expect(ssh()).toEqual({ banned: 'timeout', allowed: 'open' });
      // sshguard's jump is unconditional: it blocks the client on every port, the Service too;
      // the allowed client gets the Service and the library's default action elsewhere
      expect(probePorts(lab, banned, HOST_B, [80, 8081])).toEqual({ 80: 'timeout', 8081: 'timeout' });
      expect(probePorts(lab, allowed, HOST_A, [80, 8081])).toEqual({ 80: 'open', 8081: 'refused' });
      lab.sh(host, `ipset del sshguard4 ${BANNED}/32`);
      expect(ssh()).toEqual({ banned: 'open', allowed: 'open' }); // unbanned: the library's AdminAccess lets it in
      lab.sh(host, `ipset add sshguard4 ${BANNED}/32`);
      expect(ssh()).toEqual({ banned: 'timeout', allowed: 'open' });

      ok(sfw(lab, host, c, ['destroy']));
      expect(chainRules(lab, host, ipt, 'INPUT')).toEqual(['-j sshguard']);
      expect(ssh()).toEqual({ banned: 'timeout', allowed: 'open' });
      expect(lab.tcpProbe(allowed, HOST_A, 8081, 1)).toBe('open');
    }, variant.name));

    test('an unconditional foreign catch-all in INPUT is refused in shared mode with nothing changed; exclusive mode is unaffected', () => withLab(async (lab) => {
      const c = (ctx = makeCtx(variant));
      const { host, allowed } = await setUp(lab);
      writePending(c, render());
      const cases: Array<{ rules: string[]; named: string }> = [
        { // RHEL's iptables-services default
          rules: ['-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT', '-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT', '-A INPUT -j REJECT --reject-with icmp-host-prohibited'],
          named: '-A INPUT -j REJECT --reject-with icmp-host-prohibited',
        },
        { rules: ['-A INPUT -m comment --comment "drop the rest" -j DROP'], named: '-A INPUT -m comment --comment "drop the rest" -j DROP' },
        { rules: ['-A INPUT -j ACCEPT'], named: '-A INPUT -j ACCEPT' },
        { // a jump to a chain that decides everything it gets
          rules: ['-N catchall', '-A catchall -p tcp -m tcp --dport 8080 -j ACCEPT', '-A catchall -j DROP', '-A INPUT -j catchall'],
          named: '-A INPUT -j catchall',
        },
      ];
      for (const k of cases) {
        lab.sh(host, k.rules.map((rule) => `${ipt} ${rule.replace(/"drop the rest"/, '\'drop the rest\'')}`).join(' && '));
        const before = hostState(lab, host, variant);
        const ssh = lab.tcpProbe(allowed, HOST_A, 22, 1);
        const r = sfw(lab, host, c, ['apply', '--dir', c.pending]);
        expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 3, stdout: '' });
        expect(r.stderr).toContain(`rules.v4: built-in chain INPUT (table filter) has a foreign rule that decides every packet: ${k.named} -- `);
        expect(r.stderr).toMatch(/stateful-firewall: rules\.v4 rejected; nothing was changed\n$/);
        expect(hostState(lab, host, variant)).toEqual(before);
        expect(lab.tcpProbe(allowed, HOST_A, 22, 1)).toBe(ssh);
        expect(ok(sfw(lab, host, c, ['status'])).stdout).toMatch(/last apply: none(.*\n)*.*rollback: not armed/);
        lab.sh(host, `${ipt} -F INPUT && (${ipt} -F catchall 2>/dev/null; ${ipt} -X catchall 2>/dev/null; true)`);
      }
      // a conditional catch-all (only one interface) leaves the library something to decide: accepted
      lab.sh(host, `${ipt} -A INPUT -i eth-b -j DROP`);
      deploy(lab, host, c);
      expect(chainRules(lab, host, ipt, 'INPUT')).toEqual(['-i eth-b -j DROP', '-j SFW-INPUT']);
      expect(lab.tcpProbe(allowed, HOST_A, 8081, 1)).toBe('refused');
      ok(sfw(lab, host, c, ['destroy']));

      // exclusive ownership replaces the whole filter table: the catch-all is not in its way
      lab.sh(host, `${ipt} -F INPUT && ${ipt} -A INPUT -j REJECT --reject-with icmp-host-prohibited`);
      ok(sfw(lab, host, c, ['apply', '--dir', c.pending, '--mode', 'exclusive']));
      expect(chainRules(lab, host, ipt, 'INPUT')).toEqual(['-j SFW-INPUT']);
      expect(lab.tcpProbe(allowed, HOST_A, 22, 1)).toBe('open');
      ok(sfw(lab, host, c, ['rollback']));
      expect(chainRules(lab, host, ipt, 'INPUT')).toEqual(['-j REJECT --reject-with icmp-host-prohibited']);
    }, variant.name));

    test('OUTPUT: a foreign egress block and a foreign accept ahead of the library keep deciding', () => withLab(async (lab) => {
      const c = (ctx = makeCtx(variant));
      const { host, banned, allowed } = await setUp(lab);
      await startListener(lab, banned, [8080]);
      await startListener(lab, allowed, [8080, 9090, 9091]);
      lab.sh(host, [
        `${ipt} -I OUTPUT 1 -d ${BANNED}/32 -j REJECT --reject-with icmp-port-unreachable`,
        `${ipt} -A OUTPUT -d ${ALLOWED}/32 -p tcp -m tcp --dport 9090 -j ACCEPT`,
      ].join(' && '));
      const out = () => {
        const a = probePorts(lab, host, ALLOWED, [8080, 9090, 9091]);
        return { banned8080: probePorts(lab, host, BANNED, [8080])[8080], allowed8080: a[8080], allowed9090: a[9090], allowed9091: a[9091] };
      };
      const bare = { banned8080: 'refused', allowed8080: 'open', allowed9090: 'open', allowed9091: 'open' };
      expect(out()).toEqual(bare);

      writePending(c, render({ outbound: true }));
      deploy(lab, host, c);
      expect(chainRules(lab, host, ipt, 'OUTPUT').slice(-1)).toEqual(['-j SFW-OUTPUT']);
      // the library allows 8080 to both and closes the rest (9091); the foreign block still
      // refuses the banned one, the foreign accept still lets 9090 out
      expect(out()).toEqual({ ...bare, allowed9091: 'refused' });
      expect(lab.tcpProbe(allowed, HOST_A, 22, 1)).toBe('open'); // inbound unaffected
      ok(sfw(lab, host, c, ['destroy']));
      expect(out()).toEqual(bare);
    }, variant.name));
  });
});
