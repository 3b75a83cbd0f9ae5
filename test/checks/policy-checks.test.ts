import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { CheckLevel, HostFacts, IPolicyCheck, Peer, PolicyChecks, Port, StatefulHost } from '../../src';
import { synthError, warnings } from '../support/synth';

/** The hosts pin their host key: SFW6 (test/checks/rules/host-key-not-pinned.test.ts) stays quiet here. */
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf';

function setup(build: (host: StatefulHost, stack: TerraformStack, app: App) => void, withAdmin = true): { app: App; host: StatefulHost } {
  const app = new App({ outdir: Testing.app().outdir });
  const stack = new TerraformStack(app, 'stack');
  const host = new StatefulHost(stack, 'web', { address: '192.0.2.10', deployment: { connection: { hostKey: HOST_KEY } } });
  if (withAdmin) host.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
  build(host, stack, app);
  return { app, host };
}


describe('policy checks', () => {
  test('SFW1: a management port open to the world is a warning', () => {
    const { app, host } = setup((h) => h.addService('Ssh', { ports: [Port.SSH] }));
    expect(synthError(app)).toBeUndefined();
    expect(warnings(host)).toEqual([
      "[SFW1] SSH (tcp/22) is open to any ipv4 and ipv6 address (stack/web/Ssh): restrict it with AdminAccess peers, e.g. Peer.ipv4('192.0.2.0/24')",
      '[SFW5] stack/web/Ops opens nothing that stack/web/Ssh do not already open (tcp/22 from 198.51.100.7): remove it, or narrow the wider declaration',
    ]);
  });

  test('SFW1 sees ranges that include the port, and AdminAccess from anyone', () => {
    const { app, host } = setup((h) => h.addAdminAccess('Wide', { peers: [Peer.anyIpv4()], ports: [Port.tcpRange(3380, 3390)] }));
    app.synth();
    expect(warnings(host)).toEqual(["[SFW1] RDP (tcp/3389) is open to any ipv4 address (stack/web/Wide): restrict it with AdminAccess peers, e.g. Peer.ipv4('192.0.2.0/24')"]);
  });

  test('SFW2: a database port open to anyone; can be raised to an error', () => {
    const { app, host } = setup((h) => {
      h.addService('Db', { ports: [Port.POSTGRES], peers: [Peer.anyIpv6()] });
      PolicyChecks.of(h).setLevel('SFW2', CheckLevel.ERROR);
    });
    expect(synthError(app)).toContain('[stack/web] [SFW2] PostgreSQL (tcp/5432) is open to any ipv6 address (stack/web/Db): list the clients as peers');
    expect(warnings(host)).toEqual([]);
  });

  test('SFW3: IPv6 wide open where IPv4 is restricted', () => {
    const { app, host } = setup((h) => {
      h.addService('V4', { ports: [Port.tcp(8080)], peers: [Peer.ipv4('192.0.2.0/24')] });
      h.addService('V6', { ports: [Port.tcp(8080)], peers: [Peer.anyIpv6()] });
    });
    app.synth();
    expect(warnings(host)).toEqual(['[SFW3] tcp/8080 is restricted on IPv4 but open to any IPv6 address (stack/web/V4, stack/web/V6): give IPv6 the same peers']);
  });

  test('SFW4: acknowledged with a reason, the host without AdminAccess synthesizes', () => {
    const { app } = setup((h) => {
      h.addService('Web', { ports: [Port.HTTPS] });
      PolicyChecks.of(h).acknowledge('SFW4', 'managed through the console');
    }, false);
    expect(synthError(app)).toBeUndefined();
    expect(PolicyChecks.of(app.node.findAll().find((c) => c instanceof StatefulHost)!).reasonFor('SFW4')).toBe('managed through the console');
    expect(() => PolicyChecks.of(app).acknowledge('SFW1', ' ')).toThrow('acknowledging SFW1 needs a reason: say why it is safe here');
  });

  test('SFW4 does not apply to hosts that are not deployed', () => {
    const app = new App({ outdir: Testing.app().outdir });
    new StatefulHost(new TerraformStack(app, 's'), 'h', { address: '192.0.2.1', deployment: { enabled: false } });
    expect(synthError(app)).toBeUndefined();
  });

  test('SFW5: a shadowed declaration warns, and strict makes it an error; the nearest scope wins', () => {
    const { app } = setup((h, _stack, a) => {
      h.addService('Ssh', { ports: [Port.SSH], peers: [Peer.ipv4('198.51.100.0/24')] });
      PolicyChecks.of(a).strict();
    });
    expect(synthError(app)).toContain('[stack/web] [SFW5] stack/web/Ops opens nothing that stack/web/Ssh do not already open (tcp/22 from 198.51.100.7)');
    const relaxed = setup((h, stack, a) => {
      h.addService('Ssh', { ports: [Port.SSH], peers: [Peer.ipv4('198.51.100.0/24')] });
      PolicyChecks.of(a).strict();
      PolicyChecks.of(stack).setLevel('SFW5', CheckLevel.OFF);
    });
    expect(synthError(relaxed.app)).toBeUndefined();
    expect(warnings(relaxed.host)).toEqual([]);
  });

  test('a partly covered declaration is not redundant', () => {
    const { app, host } = setup((h) => h.addService('Ssh', { ports: [Port.SSH], peers: [Peer.ipv4('198.51.100.0/29')] }));
    const { app: app2, host: host2 } = setup((h) => h.addService('Ssh', { ports: [Port.SSH], peers: [Peer.ipv4('198.51.100.8/30')] }));
    app.synth();
    app2.synth();
    expect(warnings(host).some((w) => w.startsWith('[SFW5] stack/web/Ops'))).toBe(true);
    expect(warnings(host2)).toEqual([]);
  });

  test('custom checks, one rule per class', () => {
    class NoTelnet implements IPolicyCheck {
      public readonly id = 'ACME1';
      public readonly description = 'no telnet';
      public readonly defaultLevel: CheckLevel = CheckLevel.ERROR;
      public check(facts: HostFacts): string[] {
        return facts.allowances.some((a) => a.ports.some((p) => p.fromPort === 23)) ? [`${facts.path} opens telnet`] : [];
      }
    }
    const { app } = setup((h, _s, a) => {
      PolicyChecks.of(a).addCheck(new NoTelnet());
      h.addService('Telnet', { ports: [Port.tcp(23)], peers: [Peer.ipv4('192.0.2.0/24')] });
    });
    expect(synthError(app)).toContain('[stack/web] [ACME1] stack/web opens telnet');
    expect(PolicyChecks.BUILT_IN.map((c) => c.id)).toEqual(['SFW1', 'SFW2', 'SFW3', 'SFW4', 'SFW5', 'SFW6', 'SFW7']);
  });
});

describe('a failing synth writes nothing', () => {
  function listing(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out[path.relative(dir, p)] = fs.readFileSync(p, 'utf8');
      }
    };
    if (fs.existsSync(dir)) walk(dir);
    return out;
  }

  function app(outdir: string, broken: boolean): App {
    const a = new App({ outdir });
    const stack = new TerraformStack(a, 'stack');
    const web = new StatefulHost(stack, 'web', { address: '192.0.2.10', deployment: { connection: { hostKey: HOST_KEY } } });
    web.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    web.addService('Web', { ports: [Port.HTTPS] });
    if (broken) {
      web.addService('Db', { ports: [Port.MYSQL], peers: [Peer.ipv6('2001:db8::/64')] });
      PolicyChecks.of(web).strict();
      web.addService('Again', { ports: [Port.HTTPS] });
    } else {
      web.addService('Db', { ports: [Port.MYSQL], peers: [Peer.ipv4('192.0.2.0/24')] });
    }
    return a;
  }

  test('the output directory is left as it was', () => {
    const outdir = path.join(Testing.app().outdir, 'kept');
    const empty = path.join(Testing.app().outdir, 'empty');
    app(outdir, false).synth();
    const before = listing(outdir);
    expect(Object.keys(before)).toContain('stacks/stack/firewall/web/rules.v4');
    expect(() => app(outdir, true).synth()).toThrow('repeats stack/web/Web exactly');
    expect(listing(outdir)).toEqual(before);
    expect(() => app(empty, true).synth()).toThrow('Validation failed');
    expect(Object.keys(listing(empty)).filter((f) => f.startsWith('stacks/'))).toEqual([]);
  });
});
