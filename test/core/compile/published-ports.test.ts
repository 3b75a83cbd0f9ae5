import { TerraformStack, Testing } from 'cdktf';
import { StatefulHost } from '../../../src';
import { CompiledRuleset, Direction, Explain, IpFamily, Packet, Peer, Port, Verdict } from '../../../src/core';
import { Backend } from '../../../src/core/backends/backend';

const db = { origin: 'app/docker/Db', ports: [Port.POSTGRES, Port.tcpRange(8000, 8001)], peers: [Peer.ipv4('198.51.100.0/24')], published: true };
const web = { origin: 'app/docker/Web', ports: [Port.tcp(8080)], peers: [Peer.any()], published: true };
const ssh = { origin: 'app/docker/Ssh', ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.7')] };

describe('published container ports', () => {
  const r = CompiledRuleset.compile({ name: 'docker', origin: 'app/docker', allowances: [ssh, db, web] });
  const v4 = r.toIptablesRestore(IpFamily.IPV4);
  const v6 = r.toIptablesRestore(IpFamily.IPV6);
  const nft = r.toNftables();

  test('iptables: SFW-PUBLISHED first in DOCKER-USER, stateful, on the original destination port, default action last', () => {
    expect(v4).toContain(':DOCKER-USER - [0:0]\n');
    expect(v4).toContain('-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j SFW-PUBLISHED\n');
    const chain = v4.split('\n').filter((l) => l.startsWith('-A SFW-PUBLISHED '));
    expect(chain).toEqual([
      '-A SFW-PUBLISHED -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "app/docker published: established and related traffic" -j RETURN',
      '-A SFW-PUBLISHED -m conntrack ! --ctstate DNAT -m comment --comment "app/docker published: not published: docker decides" -j RETURN',
      '-A SFW-PUBLISHED -p tcp -m conntrack --ctstate NEW --ctorigdstport 8080 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "app/docker/Web" -j RETURN',
      '-A SFW-PUBLISHED -s 198.51.100.0/24 -p tcp -m conntrack --ctstate NEW --ctorigdstport 5432 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "app/docker/Db" -j RETURN',
      '-A SFW-PUBLISHED -s 198.51.100.0/24 -p tcp -m conntrack --ctstate NEW --ctorigdstport 8000:8001 -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "app/docker/Db" -j RETURN',
      '-A SFW-PUBLISHED -p tcp -m comment --comment "app/docker published: default action" -j REJECT --reject-with tcp-reset',
      '-A SFW-PUBLISHED -m comment --comment "app/docker published: default action" -j REJECT --reject-with icmp-port-unreachable',
    ]);
    // the published ports are not opened on INPUT
    expect(v4).not.toMatch(/-A SFW-INPUT .*--dport (5432|8080)/);
    // IPv6: only the port published to everyone
    expect(v6).toContain('--ctorigdstport 8080');
    expect(v6).not.toContain('--ctorigdstport 5432');
  });

  test('nftables: a forward-hook chain in the library\'s table, the same rules', () => {
    expect(nft).toContain([
      '\tchain published {',
      '\t\ttype filter hook forward priority filter; policy accept;',
      '\t\tct state established,related accept comment "app/docker published: established and related traffic"',
      '\t\tct status ! dnat accept comment "app/docker published: not published: docker decides"',
      '\t\ttcp flags syn / fin,syn,rst,ack ct original proto-dst 8080 ct state new accept comment "app/docker/Web"',
      '\t\tip saddr 198.51.100.0/24 tcp flags syn / fin,syn,rst,ack ct original proto-dst 5432 ct state new accept comment "app/docker/Db"',
    ].join('\n'));
  });

  test('a host without published ports has no forward path', () => {
    const plain = CompiledRuleset.compile({ name: 'docker', allowances: [ssh] });
    expect(plain.toIptablesRestore(IpFamily.IPV4)).not.toContain('DOCKER-USER');
    expect(plain.toNftables()).not.toContain('hook forward');
  });

  test.each([
    [{ notrack: true }, /published container ports are DNATed, which needs connection tracking/],
    [{ ports: [Port.icmpPing()] }, /a published container port is TCP or UDP/],
    [{ limits: { concurrentPerSource: 5 } }, /limits are not supported on published container ports/],
  ])('bad combinations are one clear error naming the construct path (%p)', (extra, message) => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    const host = new StatefulHost(stack, 'docker', { address: '192.0.2.10', deployment: { enabled: false } });
    expect(() => host.addService('Db', { ports: [Port.POSTGRES], published: true, ...extra })).toThrow(/stack\/docker\/Db/);
    expect(() => new StatefulHost(new TerraformStack(Testing.app(), 's2'), 'h', { address: '192.0.2.10', deployment: { enabled: false } })
      .addService('Db', { ports: [Port.POSTGRES], published: true, ...extra })).toThrow(message);
  });
});

describe('published container ports in the simulator and explain', () => {
  const r = CompiledRuleset.compile({ name: 'docker', origin: 'app/docker', allowances: [ssh, db, web] });

  test.each([Backend.IPTABLES, Backend.NFTABLES])('simulator (%s): forwarded packets to published ports obey the peers', (backend) => {
    const pg = (from: string) => r.simulate(Packet.tcp({ from, port: 5432, direction: Direction.PUBLISHED }), backend);
    expect(pg('198.51.100.9').verdict).toBe(Verdict.ACCEPT);
    // iptables returns to DOCKER-USER (Docker's chains decide next), nftables accepts in its own chain: both name the declaration
    expect(pg('198.51.100.9').trace.some((t) => /matched: (return|accept) \(app\/docker\/Db\)/.test(t))).toBe(true);
    const refused = pg('203.0.113.5');
    expect(refused.verdict).toBe(Verdict.REJECT);
    expect(refused.origins).toEqual(['app/docker published']);
    // 8080 is published to anyone; 22 is an INPUT service, not a published port
    expect(r.simulate(Packet.tcp({ from: '203.0.113.5', port: 8080, direction: Direction.PUBLISHED }), backend).verdict).toBe(Verdict.ACCEPT);
    expect(r.simulate(Packet.tcp({ from: '192.0.2.7', port: 22, direction: Direction.PUBLISHED }), backend).verdict).toBe(Verdict.REJECT);
    // and INPUT does not open the published port
    expect(r.simulate(Packet.tcp({ from: '198.51.100.9', port: 5432 }), backend).verdict).toBe(Verdict.REJECT);
  });

  test('explain lists the published chain after the input chain', () => {
    const text = Explain.text(r);
    expect(text).toMatch(/not published \(docker decides\)\s+any\s+accept\s+app\/docker published/);
    expect(text).toMatch(/198\.51\.100\.0\/24\s+published tcp 5432 \(SYN\)\s+new\s+accept\s+app\/docker\/Db/);
  });
});
