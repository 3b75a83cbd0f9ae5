import {
  Backend, CompiledRuleset, ConnectionState, DefaultAction, IpFamily, Packet, Peer, Port, Protocol,
  RejectWith, RulesetModel, Simulator, TcpFlag, Verdict, ChainHook, Direction,
} from '../../../src/core';
import { evaluateModelWithState } from '../../../src/core/simulate/simulator';

const web = CompiledRuleset.compile({
  name: 'web',
  origin: 'app/web',
  defaultAction: DefaultAction.REJECT_HOST_PROHIBITED,
  allowPing: false,
  allowances: [
    { origin: 'app/web/Website', ports: [Port.HTTP, Port.HTTPS], peers: [Peer.any()] },
    { origin: 'app/web/Webmasters', ports: [Port.SSH], peers: [Peer.ipv4Range('10.9.8.7', '10.9.8.10')] },
  ],
});

describe.each([Backend.IPTABLES, Backend.NFTABLES])('Simulator (%s)', (backend) => {
  const sim = (p: Packet) => web.simulate(p, backend);

  test('webmasters reach SSH; the rest of the world does not', () => {
    for (const from of ['10.9.8.7', '10.9.8.8', '10.9.8.10']) {
      const r = sim(Packet.tcp({ from, port: 22 }));
      expect(r.verdict).toBe(Verdict.ACCEPT);
      expect(r.origins).toEqual(['app/web/Webmasters']);
    }
    for (const from of ['10.9.8.6', '10.9.8.11', '2001:db8::7']) {
      const r = sim(Packet.tcp({ from, port: 22 }));
      expect(r.verdict).toBe(Verdict.REJECT);
      expect(r.rejectWith).toBe(RejectWith.HOST_PROHIBITED);
      expect(r.origins).toEqual(['app/web']);
    }
  });

  test('anyone reaches HTTP and HTTPS on both families', () => {
    expect(sim(Packet.tcp({ from: '203.0.113.5', port: 443 })).verdict).toBe(Verdict.ACCEPT);
    expect(sim(Packet.tcp({ from: '2001:db8::5', port: 80 })).verdict).toBe(Verdict.ACCEPT);
    expect(sim(Packet.udp({ from: '203.0.113.5', port: 443 })).verdict).toBe(Verdict.REJECT);
  });

  test('a bare ACK from a webmaster without a connection never reaches sshd', () => {
    const ack = Packet.tcp({ from: '10.9.8.8', port: 22, flags: [TcpFlag.ACK] });
    expect(ack.state).toBe(ConnectionState.NEW);
    expect(sim(ack).verdict).toBe(Verdict.REJECT);
  });

  test('established packets are decided by the first rule', () => {
    const r = sim(Packet.tcp({ from: '198.51.100.1', port: 55000, flags: [TcpFlag.ACK], state: ConnectionState.ESTABLISHED }));
    expect(r.verdict).toBe(Verdict.ACCEPT);
    expect(r.rulesEvaluated).toBe(backend === Backend.IPTABLES ? 2 : 1); // iptables: the INPUT jump, then the rule
    expect(r.trace[r.trace.length - 1]).toContain('matched: accept (established and related traffic)');
  });

  test('INVALID is dropped; loopback is accepted; IPv6 neighbour discovery works', () => {
    expect(sim(Packet.tcp({ from: '10.9.8.8', port: 22, flags: [TcpFlag.SYN, TcpFlag.ACK] })).verdict).toBe(Verdict.DROP);
    expect(sim(Packet.tcp({ from: '127.0.0.1', port: 5432 })).verdict).toBe(Verdict.ACCEPT);
    expect(sim(Packet.icmp({ from: 'fe80::1', type: 135 })).verdict).toBe(Verdict.ACCEPT);
    expect(sim(Packet.icmp({ from: 'fe80::1', type: 135, hopLimit: 64 })).verdict).toBe(Verdict.REJECT);
    expect(sim(Packet.icmp({ from: '2001:db8::1' })).verdict).toBe(Verdict.REJECT); // ping is off here
  });
});

describe('Simulator on the discussion\'s own ruleset', () => {
  // -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
  // -A INPUT -p tcp -m state --state NEW -m tcp -m multiport --dports 80,443 -j ACCEPT
  // -A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -m iprange --src-range 10.9.8.7-10.9.8.10 -j ACCEPT
  // -A INPUT -j REJECT --reject-with icmp-host-prohibited
  const discussion: RulesetModel = {
    tables: [{
      name: 'filter',
      chains: [{
        name: 'INPUT',
        hook: ChainHook.INPUT,
        policy: Verdict.ACCEPT,
        rules: [
          { match: { states: [ConnectionState.RELATED, ConnectionState.ESTABLISHED] }, verdict: Verdict.ACCEPT, origins: ['1'] },
          { match: { protocol: Protocol.TCP, states: [ConnectionState.NEW], destinationPorts: [{ from: 80, to: 80 }, { from: 443, to: 443 }] }, verdict: Verdict.ACCEPT, origins: ['2'] },
          { match: { family: IpFamily.IPV4, protocol: Protocol.TCP, states: [ConnectionState.NEW], destinationPorts: [{ from: 22, to: 22 }], source: { elements: ['10.9.8.7-10.9.8.10'] } }, verdict: Verdict.ACCEPT, origins: ['3'] },
          { match: {}, verdict: Verdict.REJECT, rejectWith: RejectWith.HOST_PROHIBITED, origins: ['4'] },
        ],
      }],
    }],
  };

  test('lets a bare ACK from an admin address reach sshd (the flaw this library fixes)', () => {
    const r = Simulator.evaluateModel(discussion, Packet.tcp({ from: '10.9.8.8', port: 22, flags: [TcpFlag.ACK] }));
    expect(r.verdict).toBe(Verdict.ACCEPT);
    expect(r.origins).toEqual(['3']);
  });
});

describe('Packet', () => {
  test.each([
    [[TcpFlag.SYN], ConnectionState.NEW],
    [[TcpFlag.ACK], ConnectionState.NEW],
    [[TcpFlag.ACK, TcpFlag.PSH], ConnectionState.NEW],
    [[TcpFlag.SYN, TcpFlag.ACK], ConnectionState.INVALID],
    [[TcpFlag.FIN, TcpFlag.ACK], ConnectionState.INVALID],
    [[TcpFlag.RST], ConnectionState.INVALID],
    [[], ConnectionState.INVALID],
    [[TcpFlag.SYN, TcpFlag.FIN], ConnectionState.INVALID],
    [[TcpFlag.FIN, TcpFlag.PSH, TcpFlag.URG], ConnectionState.INVALID],
  ])('tcp %j without a connection is %s', (flags, state) => {
    expect(Packet.tcp({ from: '192.0.2.1', port: 1, flags }).state).toBe(state);
  });

  test.each([
    ['192.0.2.1', 8, ConnectionState.NEW],
    ['192.0.2.1', 0, ConnectionState.INVALID],
    ['192.0.2.1', 3, ConnectionState.INVALID],
    ['2001:db8::1', 128, ConnectionState.NEW],
    ['fe80::1', 136, ConnectionState.UNTRACKED],
    ['2001:db8::1', 1, ConnectionState.INVALID],
  ])('icmp from %s type %d without a connection is %s', (from, type, state) => {
    expect(Packet.icmp({ from, type }).state).toBe(state);
  });

  test('refuses nonsense', () => {
    expect(() => Packet.tcp({ from: 'nowhere', port: 22 })).toThrow("packet source 'nowhere' is not an IPv4 or IPv6 address");
    expect(() => Packet.udp({ from: '192.0.2.1', port: 70000 })).toThrow('packet port 70000 is out of range: use 0 to 65535');
    expect(() => Packet.tcp({ from: '192.0.2.1', to: '2001:db8::1', port: 1 })).toThrow("packet from '192.0.2.1' to '2001:db8::1' mixes address families");
  });

  test('describes itself', () => {
    expect(Packet.tcp({ from: '10.9.8.8', port: 22, flags: [TcpFlag.ACK] }).toString()).toBe('tcp 10.9.8.8:40000 -> :22 [ACK] state new');
    expect(Packet.icmp({ from: '2001:db8::1' }).toString()).toBe('icmpv6 2001:db8::1 -> host type 128 code 0 state new');
  });
});

describe.each([Backend.IPTABLES, Backend.NFTABLES])('the state a packet is decided in (%s)', (backend) => {
  const dns = CompiledRuleset.compile({
    name: 'dns',
    allowances: [{ origin: 'app/dns/Udp', ports: [Port.udp(53)], peers: [Peer.ipv4('192.0.2.0/24')], notrack: true }],
    outbound: { allowances: [] },
  });
  const model = (p: Packet) => (backend === Backend.IPTABLES ? dns.iptablesModel(p.family) : dns.nftablesModel());
  const decide = (p: Packet) => evaluateModelWithState(model(p), p);

  test('a notrack rule before conntrack makes the packet UNTRACKED; other packets keep their state', () => {
    const peer = decide(Packet.udp({ from: '192.0.2.7', port: 53 }));
    expect(peer.result.verdict).toBe(Verdict.ACCEPT);
    expect(peer.state).toBe(ConnectionState.UNTRACKED);
    const stranger = decide(Packet.udp({ from: '198.51.100.7', port: 53 }));
    expect(stranger.result.verdict).toBe(Verdict.REJECT);
    expect(stranger.state).toBe(ConnectionState.NEW);
  });

  test('replies of the untracked service are untracked on the way out; an ICMP error about it is INVALID and dropped', () => {
    const answer = decide(Packet.udp({ from: '10.0.0.1', to: '192.0.2.7', port: 40000, sourcePort: 53, direction: Direction.OUTBOUND }));
    expect(answer.state).toBe(ConnectionState.UNTRACKED);
    expect(answer.result.verdict).toBe(Verdict.ACCEPT);
    const error = decide(Packet.icmp({ from: '10.0.0.1', to: '192.0.2.7', type: 3, code: 3, direction: Direction.OUTBOUND }));
    expect(error.state).toBe(ConnectionState.INVALID);
    expect(error.result.verdict).toBe(Verdict.DROP);
  });

  test('evaluateModel gives the same result, without the state', () => {
    const p = Packet.udp({ from: '192.0.2.7', port: 53 });
    expect(Simulator.evaluateModel(model(p), p)).toEqual(decide(p).result);
  });
});
