import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { AdminAccess, Backend, DefaultAction, IpFamily, Peer, Port, Service, StatefulHost } from '../../src';

function stack(): TerraformStack {
  return new TerraformStack(Testing.app(), 'stack');
}

describe('StatefulHost', () => {
  test('compiles the services and admin access declared under it', () => {
    const s = stack();
    const host = new StatefulHost(s, 'web', { address: '203.0.113.10' });
    host.addService('Website', { ports: [Port.HTTP, Port.HTTPS] });
    new AdminAccess(host, 'Ops', { peers: [Peer.ipv4('192.0.2.0/24')] });
    const v4 = host.ruleset.toIptablesRestore(IpFamily.IPV4);
    expect(v4).toContain('--dports 80,443 -m comment --comment "stack/web/Website" -j ACCEPT');
    expect(v4).toContain('-s 192.0.2.0/24 -p tcp -m conntrack --ctstate NEW -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "stack/web/Ops" -j ACCEPT');
    expect(host.ruleset.hostName).toBe('web');
  });

  test('services nested deeper in the host still count; other hosts stay apart', () => {
    const s = stack();
    const a = new StatefulHost(s, 'a', { address: '192.0.2.1' });
    const b = new StatefulHost(s, 'b', { address: '192.0.2.2' });
    const group = new Service(a, 'Web', { ports: [Port.HTTP] });
    new Service(group, 'Nested', { ports: [Port.tcp(8080)] });
    new Service(b, 'Db', { ports: [Port.POSTGRES], peers: [Peer.ipv4('192.0.2.1')] });
    // both ports lead to one chain in the transport map
    expect(a.ruleset.toNftables()).toMatch(/tcp \. 0-65535 \. 80 : goto (\S+), .*tcp \. 0-65535 \. 8080 : goto \1[,\s]/);
    expect(a.ruleset.toNftables()).not.toContain('5432');
    expect(b.ruleset.toNftables()).toContain('ip saddr 192.0.2.1 tcp flags syn / fin,syn,rst,ack accept comment "stack/b/Db"');
  });

  test('props reach the ruleset', () => {
    const host = new StatefulHost(stack(), 'h', { address: 'h.example.net', hostName: 'db-1', backend: Backend.NFTABLES, defaultAction: DefaultAction.DROP, allowPing: false });
    expect(host.hostName).toBe('db-1');
    expect(Object.keys(host.renderedFiles)).toEqual(['ruleset.nft']);
    // DROP: the base chain's policy (the final drop costs no rule)
    expect(host.renderedFiles['ruleset.nft']).toContain('type filter hook input priority filter; policy drop;');
    expect(host.renderedFiles['ruleset.nft']).not.toContain('echo-request');
  });

  test.each([
    [{ address: '' }, 'stack/h: address must not be empty: give the address the host is managed at, e.g. \'203.0.113.10\''],
    [{ address: '300.1.1.1' }, "stack/h: address '300.1.1.1' is not a valid IPv4 address"],
    [{ address: '192.0.2.1', hostName: 'web server' }, "stack/h: host name 'web server' is not usable: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"],
  ])('refuses bad props %#', (props, message) => {
    expect(() => new StatefulHost(stack(), 'h', props)).toThrow(message);
  });

  test('two hosts with one name fail synth, naming both paths', () => {
    const s = stack();
    new StatefulHost(s, 'a', { address: '192.0.2.1', hostName: 'web' });
    new StatefulHost(s, 'b', { address: '192.0.2.2', hostName: 'web' });
    expect(() => Testing.synth(s, true)).toThrow("[stack/b] host name 'web' is also used by stack/a: give one of them another hostName");
  });

  test('synth writes the rendered rulesets next to the Terraform JSON', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-synth-'));
    const app = new App({ outdir });
    const s = new TerraformStack(app, 'fleet');
    const web = new StatefulHost(s, 'web', { address: '192.0.2.1' });
    web.addService('Web', { ports: [Port.HTTPS] });
    web.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    const ns = new StatefulHost(s, 'ns', { address: '192.0.2.2', backend: Backend.NFTABLES, nftTableName: 'edge_fw' });
    ns.addService('Dns', { ports: [Port.DNS_UDP, Port.DNS_TCP] });
    ns.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
    app.synth();
    const dir = path.join(outdir, 'stacks', 'fleet', 'firewall');
    expect(fs.readdirSync(dir).sort()).toEqual(['_deploy', 'ns', 'web']);
    expect(fs.readFileSync(path.join(dir, 'web', 'rules.v4'), 'utf8')).toBe(web.ruleset.toIptablesRestore(IpFamily.IPV4));
    expect(fs.readdirSync(path.join(dir, 'web')).sort()).toEqual(['explain.md', 'model.json', 'rules.v4', 'rules.v6']);
    expect(fs.readdirSync(path.join(dir, 'ns')).sort()).toEqual(['explain.md', 'model.json', 'ruleset.nft']);
    expect(fs.readFileSync(path.join(dir, 'ns', 'ruleset.nft'), 'utf8')).toContain('table inet edge_fw {');
  });

  test('a synth that fails writes no rulesets', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-synth-'));
    const app = new App({ outdir });
    const s = new TerraformStack(app, 'fleet');
    new StatefulHost(s, 'a', { address: '192.0.2.1', hostName: 'same' });
    new StatefulHost(s, 'b', { address: '192.0.2.2', hostName: 'same' });
    expect(() => app.synth()).toThrow('also used by');
    expect(fs.existsSync(path.join(outdir, 'stacks', 'fleet', 'firewall'))).toBe(false);
  });
});
