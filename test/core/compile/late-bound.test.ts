import { Backend, CompiledRuleset, Explain, IpFamily, Packet, Peer, Port, Verdict } from '../../../src';

const TOKEN = '${TfToken[TOKEN.7]}';
const TOKEN6 = '${TfToken[TOKEN.8]}';

function db(): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'db',
    origin: 'Stack/db',
    allowances: [
      { origin: 'Stack/db/Postgres', ports: [Port.tcp(5432)], peers: [Peer.anyOf(Peer.ipv4(TOKEN), Peer.ipv4('192.0.2.9'))] },
      { origin: 'Stack/db/Metrics', ports: [Port.tcp(9100)], peers: [Peer.ipv6(TOKEN6)] },
    ],
  });
}

describe('addresses known only at deploy time', () => {
  test('token peers keep their family and carry no problem', () => {
    expect(Peer.ipv4(TOKEN).problem).toBeUndefined();
    expect(Peer.ipv4(TOKEN).families).toEqual([IpFamily.IPV4]);
    expect(Peer.ipv6(TOKEN).families).toEqual([IpFamily.IPV6]);
    expect(Peer.ipv4Range(TOKEN, '192.0.2.20').isLateBound).toBe(true);
    expect(Peer.ipv4(TOKEN).elements).toEqual([]);
    expect(Peer.ipv4('192.0.2.1').isLateBound).toBe(false);
  });

  test('the token goes into a named set of its own, empty at synth, whatever the threshold', () => {
    const model = db().model;
    const late = (model.sets ?? []).filter((s) => s.lateMembers);
    expect(late.map((s) => [s.family, s.ipsetType, s.elements.length, s.lateMembers!.map((m) => m.label)])).toEqual([
      [IpFamily.IPV4, 'hash:net', 0, ['Postgres']],
      [IpFamily.IPV6, 'hash:net', 0, ['Metrics']],
    ]);
    // the literal peer of the same declaration stays in its rule
    const rules = model.tables[0].chains[0].rules;
    expect(rules.some((r) => r.match.source?.elements?.includes('192.0.2.9/32'))).toBe(true);
    const fromLate = rules.filter((r) => r.match.source?.set && late.some((s) => s.name === r.match.source!.set));
    expect(fromLate.map((r) => r.match.destinationPorts)).toEqual([
      [{ from: 5432, to: 5432 }], [{ from: 9100, to: 9100 }],
    ]);
  });

  test('both backends render the set declared empty (ipset create line, nft set without elements)', () => {
    const r = db();
    const name4 = r.model.sets!.find((s) => s.family === IpFamily.IPV4)!.name;
    const ipset = r.files(Backend.IPTABLES)['sets.ipset'];
    expect(ipset).toContain(`create ${name4} hash:net family inet`);
    expect(ipset).not.toContain(`add ${name4}`);
    expect(r.files(Backend.IPTABLES)['rules.v4']).toContain(`--match-set ${name4} src`);
    const nft = r.toNftables();
    expect(nft).toContain(`set ${name4} {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}`);
    // (in the port's chain: the port is the transport map's key)
    expect(nft).toContain(`ip saddr @${name4} tcp flags syn / fin,syn,rst,ack accept`);
  });

  test('set names do not depend on the token number (renumbered tokens keep the names)', () => {
    const other = CompiledRuleset.compile({
      name: 'db',
      origin: 'Stack/db',
      allowances: [
        { origin: 'Stack/db/Postgres', ports: [Port.tcp(5432)], peers: [Peer.anyOf(Peer.ipv4('${TfToken[TOKEN.99]}'), Peer.ipv4('192.0.2.9'))] },
        { origin: 'Stack/db/Metrics', ports: [Port.tcp(9100)], peers: [Peer.ipv6('${TfToken[TOKEN.98]}')] },
      ],
    });
    expect(other.model.sets!.map((s) => s.name)).toEqual(db().model.sets!.map((s) => s.name));
  });

  test('unbound, the set matches nothing; bound, packets from the address are accepted (both backends)', () => {
    const r = db();
    expect(r.lateBoundLabels).toEqual(['Metrics', 'Postgres']);
    const pkt = Packet.tcp({ from: '10.0.0.5', port: 5432 });
    for (const backend of [Backend.IPTABLES, Backend.NFTABLES]) {
      expect(r.simulate(pkt, backend).verdict).toBe(Verdict.REJECT);
      const bound = r.bindAddresses({ Postgres: ['10.0.0.5'], Metrics: ['2001:db8::5'] });
      expect(bound.simulate(pkt, backend).verdict).toBe(Verdict.ACCEPT);
      expect(bound.simulate(Packet.tcp({ from: '10.0.0.6', port: 5432 }), backend).verdict).toBe(Verdict.REJECT);
      expect(bound.simulate(Packet.tcp({ from: '2001:db8::5', port: 9100 }), backend).verdict).toBe(Verdict.ACCEPT);
      expect(bound.simulate(Packet.tcp({ from: '2001:db8::5', port: 5432 }), backend).verdict).toBe(Verdict.REJECT);
    }
  });

  test('bindAddresses refuses labels nothing waits for and addresses of the wrong family', () => {
    expect(() => db().bindAddresses({ web: ['10.0.0.1'] })).toThrow(/no late-bound set of this ruleset waits for 'web' \(it waits for Metrics, Postgres\)/);
    expect(() => db().bindAddresses({ Postgres: ['2001:db8::1'] })).toThrow(/bound to Postgres .*is an ipv6 address/);
  });

  test('explain names the set by whose addresses it waits for', () => {
    const md = Explain.markdown(db());
    expect(md).toMatch(/members of Postgres, known at deploy \(set sfw-4n-Postgres-[0-9a-f]{6}\)/);
  });

  test('a whole-traffic denial of a token peer becomes a drop from its set', () => {
    const r = CompiledRuleset.compile({ name: 'h', allowances: [], denials: [{ origin: 'S/h/Block', peers: [Peer.ipv4(TOKEN)] }] });
    const set = r.model.sets!.find((s) => s.lateMembers)!;
    const bound = r.bindAddresses({ Block: ['198.51.100.7'] });
    expect(bound.simulate(Packet.icmp({ from: '198.51.100.7', type: 8 })).verdict).toBe(Verdict.DROP);
    expect(r.simulate(Packet.icmp({ from: '198.51.100.7', type: 8 })).verdict).toBe(Verdict.ACCEPT);
    expect(set.name).toMatch(/^sfw-4n-Block-/);
  });
});
