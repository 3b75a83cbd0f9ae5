import {
  Backend, ChainHook, CompiledRuleset, Explain, IpFamily, MapKey, Packet, Peer, Port, Protocol, RulesetModel, SetKind, Simulator, Verdict,
} from '../../../../src/core';
import { ipsetCreateLine, renderIpset } from '../../../../src/core/backends/iptables/ipset';
import { nftSetLines } from '../../../../src/core/backends/nftables/nftables';

const admins = Array.from({ length: 10 }, (_, i) => Peer.ipv4(`192.0.2.${i * 2 + 1}`));
const ruleset = CompiledRuleset.compile({
  name: 'h',
  origin: 'app/h',
  allowances: [
    { origin: 'app/h/Admins', ports: [Port.SSH], peers: [...admins, Peer.ipv4Range('198.51.100.7', '198.51.100.10'), Peer.ipv6('2001:db8::/64')] },
    { origin: 'app/h/Many', ports: Array.from({ length: 20 }, (_, i) => Port.tcp(9000 + i * 3)), peers: [Peer.any()] },
  ],
  setThreshold: 0,
});
const v4set = ruleset.model.sets!.find((s) => s.family === IpFamily.IPV4)!;
const v6set = ruleset.model.sets!.find((s) => s.family === IpFamily.IPV6)!;
const portSet = ruleset.model.sets!.find((s) => s.kind === SetKind.PORT)!;

describe('sets.ipset', () => {
  test('create lines as ipset save prints them, then one add per element (ranges split into CIDRs)', () => {
    expect(ipsetCreateLine(v4set)).toBe(`create ${v4set.name} hash:net family inet hashsize 64 maxelem 65536`);
    expect(ipsetCreateLine(v6set)).toBe(`create ${v6set.name} hash:net family inet6 hashsize 64 maxelem 65536`);
    expect(ipsetCreateLine(portSet)).toBe(`create ${portSet.name} bitmap:port range 0-65535`);
    const text = renderIpset(ruleset.model.sets!);
    expect(text).toContain(`add ${v4set.name} 192.0.2.1\nadd ${v4set.name} 192.0.2.3\n`);
    expect(text).toContain(`add ${v4set.name} 198.51.100.7\nadd ${v4set.name} 198.51.100.8/31\nadd ${v4set.name} 198.51.100.10\n`);
    expect(text).toContain(`add ${v6set.name} 2001:db8::/64\n`);
    expect(text).toContain(`add ${portSet.name} 9000\nadd ${portSet.name} 9003\n`);
    expect(renderIpset([])).toBe('');
  });

  test('files(): sets.ipset next to rules.v4 and rules.v6 when the ruleset uses sets', () => {
    expect(Object.keys(ruleset.files(Backend.IPTABLES))).toEqual(['rules.v4', 'rules.v6', 'sets.ipset']);
    expect(ruleset.files(Backend.IPTABLES)['sets.ipset']).toBe(ruleset.toIpset());
    expect(ruleset.toIptablesRestore(IpFamily.IPV4)).toContain(`-p tcp -m set --match-set ${v4set.name} src -m conntrack --ctstate NEW`);
    expect(ruleset.toIptablesRestore(IpFamily.IPV4)).toContain(`-m set --match-set ${portSet.name} dst -m comment --comment "app/h/Many" -j ACCEPT`);
    expect(Object.keys(ruleset.files(Backend.NFTABLES))).toEqual(['ruleset.nft']);
    const plain = CompiledRuleset.compile({ name: 'p', allowances: [{ origin: 'o', ports: [Port.SSH], peers: admins.slice(0, 2) }] });
    expect(Object.keys(plain.files(Backend.IPTABLES))).toEqual(['rules.v4', 'rules.v6']);
  });
});

describe('nftables named sets', () => {
  test('inside the library table, listed as nft lists them: 2 IPv4 addresses, 1 IPv6 address or 5 ports per line', () => {
    expect(nftSetLines(v4set).join('\n')).toBe([
      `\tset ${v4set.name} {`,
      '\t\ttype ipv4_addr',
      '\t\tflags interval',
      '\t\telements = { 192.0.2.1, 192.0.2.3,',
      '\t\t\t     192.0.2.5, 192.0.2.7,',
      '\t\t\t     192.0.2.9, 192.0.2.11,',
      '\t\t\t     192.0.2.13, 192.0.2.15,',
      '\t\t\t     192.0.2.17, 192.0.2.19,',
      '\t\t\t     198.51.100.7-198.51.100.10 }',
      '\t}',
    ].join('\n'));
    expect(nftSetLines(v6set)[1]).toBe('\t\ttype ipv6_addr');
    // single ports (or single addresses) only: a hash set, no intervals
    expect(nftSetLines(portSet)[2].startsWith('\t\telements = { 9000, 9003, 9006, 9009, 9012,\n\t\t\t     9015, 9018,')).toBe(true);
    const hosts = CompiledRuleset.compile({ name: 'x', setThreshold: 0, allowances: [{ origin: 'o', ports: [Port.SSH], peers: admins }] }).model.sets![0];
    expect(nftSetLines(hosts).slice(0, 2)).toEqual([`\tset ${hosts.name} {`, '\t\ttype ipv4_addr']);
    expect(nftSetLines(hosts)[2].startsWith('\t\telements = { 192.0.2.1, 192.0.2.3,\n\t\t\t     192.0.2.5, 192.0.2.7,')).toBe(true);
    const nft = ruleset.toNftables();
    expect(nft.startsWith(`table inet stateful_firewall {\n\tset ${portSet.name} {`) || nft.startsWith(`table inet stateful_firewall {\n\tset ${v4set.name} {`)).toBe(true);
    // the transport map has checked protocol and port; a short chain keeps the set lookup (a longer one folds it into a source map)
    expect(nft).toContain(`ip saddr @${v4set.name} tcp flags syn / fin,syn,rst,ack accept comment "app/h/Admins"`);
    expect(nft).toContain(`ip6 saddr @${v6set.name} tcp flags syn / fin,syn,rst,ack accept`);
    expect(ruleset.simulate(Packet.tcp({ from: '192.0.2.3', port: 22 }), Backend.NFTABLES).origins).toEqual(['app/h/Admins']);
  });
});

describe('simulator with sets, maps and goto', () => {
  test('set lookups decide like the element lists would', () => {
    for (const backend of [Backend.IPTABLES, Backend.NFTABLES]) {
      expect(ruleset.simulate(Packet.tcp({ from: '192.0.2.19', port: 22 }), backend).verdict).toBe(Verdict.ACCEPT);
      expect(ruleset.simulate(Packet.tcp({ from: '192.0.2.20', port: 22 }), backend).verdict).toBe(Verdict.REJECT);
      expect(ruleset.simulate(Packet.tcp({ from: '198.51.100.8', port: 22 }), backend).origins).toEqual(['app/h/Admins']);
      expect(ruleset.simulate(Packet.tcp({ from: '2001:db8::99', port: 22 }), backend).verdict).toBe(Verdict.ACCEPT);
      expect(ruleset.simulate(Packet.tcp({ from: '203.0.113.1', port: 9003 }), backend).verdict).toBe(Verdict.ACCEPT);
      expect(ruleset.simulate(Packet.tcp({ from: '203.0.113.1', port: 9004 }), backend).verdict).toBe(Verdict.REJECT);
    }
  });

  test('a map element decides in one step; a key not in the map goes on; goto does not come back', () => {
    const model: RulesetModel = {
      tables: [{
        name: 'filter',
        chains: [
          {
            name: 'input',
            hook: ChainHook.INPUT,
            rules: [
              {
                match: { protocol: Protocol.TCP },
                verdict: Verdict.MAP,
                verdictMap: {
                  keys: [MapKey.DESTINATION_PORT],
                  entries: [
                    { match: { destinationPorts: [{ from: 22, to: 22 }] }, verdict: Verdict.GOTO, target: 'ssh' },
                    { match: { destinationPorts: [{ from: 80, to: 80 }] }, verdict: Verdict.ACCEPT, origins: ['web'], comment: 'http' },
                  ],
                },
                origins: [],
              },
              { match: {}, verdict: Verdict.DROP, origins: ['end'] },
            ],
          },
          { name: 'ssh', rules: [{ match: { source: { set: 'ops' } }, verdict: Verdict.ACCEPT, origins: ['ops'] }] },
        ],
      }],
      sets: [{ name: 'ops', kind: SetKind.ADDRESS, family: IpFamily.IPV4, elements: ['10.0.0.0/8'], ipsetType: 'hash:net', origins: ['ops'] }],
    };
    const web = Simulator.evaluateModel(model, Packet.tcp({ from: '192.0.2.1', port: 80 }));
    expect(web).toMatchObject({ verdict: Verdict.ACCEPT, origins: ['web'], rulesEvaluated: 1 });
    expect(web.trace).toEqual(['input#1 matched: accept (http)']);
    const other = Simulator.evaluateModel(model, Packet.tcp({ from: '192.0.2.1', port: 443 }));
    expect(other).toMatchObject({ verdict: Verdict.DROP, origins: ['end'], rulesEvaluated: 2 });
    expect(other.trace[0]).toBe('input#1 skipped: vmap on destination-port (no element)');
    expect(Simulator.evaluateModel(model, Packet.tcp({ from: '10.1.2.3', port: 22 })).verdict).toBe(Verdict.ACCEPT);
    // falling off the end of a chain reached by goto ends the walk: the base chain's policy, not its next rule
    const stranger = Simulator.evaluateModel(model, Packet.tcp({ from: '192.0.2.1', port: 22 }));
    expect(stranger).toMatchObject({ verdict: Verdict.ACCEPT, origins: [], rulesEvaluated: 2 });
    expect(stranger.trace[stranger.trace.length - 1]).toBe('input policy: accept');
    expect(Simulator.evaluateModel(model, Packet.udp({ from: '192.0.2.1', port: 22 })).rulesEvaluated).toBe(2);
  });
});

describe('explain with sets', () => {
  test('shows a set\'s first elements, its size and its name', () => {
    const rows = Explain.rows(ruleset);
    const admin = rows.find((r) => r.origins.includes('app/h/Admins') && r.family === 'IPv4')!;
    expect(admin.peers).toBe(`192.0.2.1/32, 192.0.2.3/32, 192.0.2.5/32, ... (11 in set ${v4set.name})`);
    const many = rows.find((r) => r.origins.includes('app/h/Many'))!;
    expect(many.traffic).toBe(`tcp 9000,9003,9006,9009,9012,9015,9018,9021,... (20 in set ${portSet.name}) (SYN)`);
    const v6 = rows.find((r) => r.origins.includes('app/h/Admins') && r.family === 'IPv6')!;
    expect(v6.peers).toBe(`2001:db8::/64 (set ${v6set.name})`);
  });
});
