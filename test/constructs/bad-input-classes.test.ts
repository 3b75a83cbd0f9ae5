import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, IAspect, TerraformStack, Testing } from 'cdktf';
import { IConstruct } from 'constructs';
import {
  AdminAccess, Backend, CheckLevel, ConntrackHelper, FleetBaseline, FleetDiagram, HostGroup, IpFamily, OutboundAccess, Packet, Peer,
  PolicyChecks, Port, RateUnit, Service, SimulationResult, StatefulHost, StatefulHostProps, Verdict,
} from '../../src';
import { allWarnings, synthErrors, warnings } from '../support/synth';

// The classes of bad input of issue 14 (items 4 to 19), one table per way a mistake
// surfaces: thrown where it is written, or one error at synth. Every row asserts the
// exact message, which names the construct path.

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk5NeV0wbFbRcBaiHus4UtwtGEpKo0wV+lYVUZos/vf';
type Build = (stack: TerraformStack) => void;
const host = (s: TerraformStack, props: Partial<StatefulHostProps> = {}, id = 'web') =>
  new StatefulHost(s, id, { address: '192.0.2.10', ...props, deployment: { ...props.deployment, connection: { hostKey: KEY, ...props.deployment?.connection } } });
const ops = (h: StatefulHost | HostGroup) => h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
const any = (v: unknown) => v as any;

const THROWN: [string, Build, string][] = [
  // 8: IPv4-mapped IPv6 peers, and the IPv4 factory's hint
  ['8 mapped address in Peer.ipv6', (s) => new Service(host(s), 'Svc', { ports: [Port.HTTPS], peers: [Peer.ipv6('::ffff:10.0.0.1')] }),
    "stack/web/Svc: '::ffff:10.0.0.1' is an IPv4-mapped IPv6 address, which IPv6 rules never see (the kernel handles such traffic as IPv4): use Peer.ipv4('10.0.0.1')"],
  ['8 mapped block in Peer.ipv6', (s) => new Service(host(s), 'Svc', { ports: [Port.HTTPS], peers: [Peer.ipv6('::ffff:10.0.0.0/104')] }),
    "stack/web/Svc: '::ffff:10.0.0.0/104' is IPv4-mapped IPv6 space (::ffff:0:0/96), which IPv6 rules never see (the kernel handles such traffic as IPv4): use Peer.ipv4('10.0.0.0/8')"],
  ['8 mapped address in Peer.ipv4', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4('::ffff:192.0.2.1')] }),
    "stack/web/Ops: '::ffff:192.0.2.1' is an IPv4-mapped IPv6 address, which IPv6 rules never see (the kernel handles such traffic as IPv4): use Peer.ipv4('192.0.2.1')"],
  ['8 mapped range', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv6Range('::ffff:10.0.0.1', '::ffff:10.0.0.9')] }),
    "stack/web/Ops: '::ffff:10.0.0.1' is an IPv4-mapped IPv6 address, which IPv6 rules never see (the kernel handles such traffic as IPv4): use Peer.ipv4Range(...) with the IPv4 addresses"],
  // 9: an ICMP port with peers only of the other family
  ['9 icmp to IPv6 peers', (s) => new Service(host(s), 'Ping', { ports: [Port.icmpPing()], peers: [Peer.ipv6('2001:db8::/64')] }),
    'stack/web/Ping: icmp/8 is ICMP (IPv4 only), but every peer is IPv6, so it opens nothing: add IPv4 peers, or use Port.icmpv6Type(...) for IPv6'],
  ['9 icmpv6 to IPv4 peers', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4('192.0.2.1')], ports: [Port.SSH, Port.icmpv6Ping()] }),
    'stack/web/Ops: icmpv6/128 is ICMPv6 (IPv6 only), but every peer is IPv4, so it opens nothing: add IPv6 peers, or use Port.icmpType(...) for IPv4'],
  ['9 deny of icmpv6 from IPv4 peers', (s) => host(s).addDeny('No', { peers: [Peer.ipv4('192.0.2.1')], ports: [Port.icmpv6Ping()] }),
    'stack/web/No: icmpv6/128 is ICMPv6 (IPv6 only), but every peer is IPv4, so it blocks nothing: add IPv6 peers, or use Port.icmpType(...) for IPv4'],
  ['9 outbound icmp to IPv6', (s) => new OutboundAccess(host(s, { outboundFiltering: true }), 'Out', { ports: [Port.icmpPing()], peers: [Peer.ipv6('2001:db8::1')] }),
    'stack/web/Out: icmp/8 is ICMP (IPv4 only), but every destination is IPv6, so it allows nothing: add IPv4 destinations, or use Port.icmpv6Type(...) for IPv6'],
  // 7: a helper whose control port the ports do not name
  ['7 ftp helper with two tcp ports', (s) => new Service(host(s), 'Ftp', { ports: [Port.tcp(2121), Port.HTTPS], helper: ConntrackHelper.FTP }),
    'stack/web/Ftp: the ftp helper is attached to the FTP control port only, and the service\'s tcp ports (tcp/2121, tcp/443) do not say which it is: include tcp/21, or declare the helper in a Service of its own with the one control port'],
  // 11: factories never throw; the construct reports with its path
  ['11 Peer.ipv4(undefined)', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4(any(undefined))] }),
    "stack/web/Ops: Peer.ipv4 needs a string such as '10.0.0.0/8', got undefined (an unset environment variable?)"],
  ['11 Peer.ipv6(number)', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv6(any(42))] }),
    "stack/web/Ops: Peer.ipv6 needs a string such as '2001:db8::/32', got number 42"],
  ['11 Peer.ipv4Range(_, null)', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4Range('10.0.0.1', any(null))] }),
    "stack/web/Ops: Peer.ipv4Range last needs a string such as '10.0.0.0/8', got null"],
  ['11 Port.tcp(string)', (s) => new Service(host(s), 'Svc', { ports: [Port.tcp(any('443'))] }),
    "stack/web/Svc: tcp port must be a number, got the string '443' (convert it with Number(...))"],
  ['11 Port.udpRange(undefined)', (s) => new Service(host(s), 'Svc', { ports: [Port.udpRange(any(undefined), 100)] }),
    'stack/web/Svc: udp port must be a number, got undefined'],
  ['11 Port.icmpType(string)', (s) => new Service(host(s), 'Svc', { ports: [Port.icmpType(any('8'))] }),
    "stack/web/Svc: icmp type must be a number, got the string '8' (convert it with Number(...))"],
  ['11 undefined in a peer list', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4('192.0.2.1'), any(undefined)] }),
    "stack/web/Ops: peers[1] is undefined, not a Peer: use the Peer factories, e.g. Peer.ipv4('192.0.2.0/24')"],
  ['11 a string in a port list', (s) => new Service(host(s), 'Svc', { ports: [any('443')] }),
    'stack/web/Svc: ports[0] is string "443", not a Port: use the Port factories, e.g. Port.tcp(443)'],
  ['11 a port that is not a list', (s) => host(s).addDeny('No', { peers: [Peer.ipv4('192.0.2.1')], ports: any(Port.HTTPS) }),
    'stack/web/No: ports must be a list, got a Port (tcp/443): write e.g. ports: [Port.HTTPS]'],
  ['11 undefined inside anyOf', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.anyOf(Peer.ipv4('192.0.2.1'), any(undefined))] }),
    'stack/web/Ops: Peer.anyOf() got undefined as peer 2, not a Peer: pass peers made with Peer.ipv4(...), Peer.ipv6(...)'],
  // 12: connections checked at the call
  ['12 allowFrom with port 0', (s) => { const a = new HostGroup(s, 'app'); host(s).connections.allowFrom(a, Port.tcp(0)); },
    'stack/web: connections.allowFrom(stack/app, tcp/0): tcp port 0 is out of range: use a port between 1 and 65535'],
  ['12 allowFrom from undefined', (s) => host(s).connections.allowFrom(any(undefined), Port.HTTPS),
    "stack/web: connections.allowFrom needs a StatefulHost, a HostGroup or a Peer (e.g. Peer.ipv4('198.51.100.0/24')), got undefined"],
  ['12 allowFrom from a bad Peer', (s) => host(s).connections.allowFrom(Peer.ipv4('198.51.100.1/24'), Port.HTTPS),
    "stack/web: connections.allowFrom(198.51.100.1/24, ...): '198.51.100.1/24' has host bits set: did you mean 198.51.100.0/24?"],
  ['12 allowTo a string', (s) => host(s).connections.allowTo(any('198.51.100.0/24'), Port.HTTPS),
    "stack/web: connections.allowTo needs a StatefulHost, a HostGroup or a Peer (e.g. Peer.ipv4('198.51.100.0/24')), got 198.51.100.0/24"],
  // 13: the management address
  ...([
    ['10.0.0.1/24', "address '10.0.0.1/24' is a CIDR block: give the host's own address, e.g. '10.0.0.1', not its network"],
    ['203.0.113.10:22', "address '203.0.113.10:22' includes a port: give the bare address '203.0.113.10' and set deployment.connection.port: 22"],
    ['[2001:db8::1]:2222', "address '[2001:db8::1]:2222' includes a port: give the bare address '2001:db8::1' and set deployment.connection.port: 2222"],
    ['[2001:db8::1]', "address '[2001:db8::1]' is in brackets: give the bare address '2001:db8::1'"],
    ['web 1.example.net', "address 'web 1.example.net' contains spaces: give one address or DNS name"],
    ['2001:db8:::1', "address '2001:db8:::1' is not a valid IPv6 address"],
    ['web_1.example.net', "address 'web_1.example.net' is neither an IP address nor a DNS name: use e.g. '203.0.113.10', '2001:db8::10' or 'web-1.example.net'"],
  ] as const).map(([address, message]): [string, Build, string] => [`13 address ${address}`, (s) => host(s, { address }), `stack/web: ${message}`]),
  ['13 IPv6 address on an IPv4-only host', (s) => host(s, { address: '2001:db8::10', ipFamilies: [IpFamily.IPV4] }),
    "stack/web: address '2001:db8::10' is IPv6, but the host is IPv4-only: give its IPv4 address, or add IpFamily.IPV6 to ipFamilies"],
  ['13 IPv6 in addresses of an IPv4-only host', (s) => host(s, { addresses: ['192.0.2.10', '2001:db8::10'], ipFamilies: [IpFamily.IPV4] }),
    "stack/web: address '2001:db8::10' in addresses is IPv6, but the host is IPv4-only: remove it, or add its family to ipFamilies"],
  // 14: deployment connection options
  ['14 empty user', (s) => host(s, { deployment: { connection: { user: '' } } }),
    'stack/web: deployment.connection.user "" is not a user name: give the login name, e.g. \'root\' or \'deploy\' (or omit it)'],
  ['14 port 0', (s) => host(s, { deployment: { connection: { port: 0 } } }),
    'stack/web: deployment.connection.port 0 is out of range: use a port number from 1 to 65535'],
  ['14 port 70000', (s) => host(s, { deployment: { connection: { port: 70000 } } }),
    'stack/web: deployment.connection.port 70000 is out of range: use a port number from 1 to 65535'],
  ['14 timeout in words', (s) => host(s, { deployment: { connection: { timeout: 'two minutes' } } }),
    'stack/web: deployment.connection.timeout "two minutes" is not a Terraform duration: write e.g. \'2m\', \'30s\' or \'1m30s\''],
  ['14 negative bastion port', (s) => host(s, { deployment: { connection: { bastionHost: '192.0.2.1', bastionPort: -22 } } }),
    'stack/web: deployment.connection.bastionPort -22 is out of range: use a port number from 1 to 65535'],
  ['14 bastion port without a bastion', (s) => host(s, { deployment: { connection: { bastionPort: 2222 } } }),
    'stack/web: deployment.connection.bastionPort, bastionUser and bastionHostKey need bastionHost: set the bastion to connect through, or remove them'],
  // 15: enum values passed as strings
  ['15 backend nft', (s) => host(s, { backend: any('nft') }),
    "stack/web: backend \"nft\" is not a Backend: use one of Backend.IPTABLES ('iptables'), Backend.NFTABLES ('nftables')"],
  ['15 defaultAction deny', (s) => host(s, { defaultAction: any('deny') }),
    "stack/web: defaultAction \"deny\" is not a DefaultAction: use one of DefaultAction.REJECT ('reject'), DefaultAction.REJECT_HOST_PROHIBITED ('reject-host-prohibited'), DefaultAction.DROP ('drop')"],
  ['15 ipFamilies v4', (s) => host(s, { ipFamilies: [any('v4')] }),
    "stack/web: ipFamilies[0] \"v4\" is not a IpFamily: use one of IpFamily.IPV4 ('ipv4'), IpFamily.IPV6 ('ipv6')"],
  ['15 rate unit minutes', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4('192.0.2.1')], limits: { newConnectionsPerSource: { rate: 10, unit: any('minutes') } } }),
    "stack/web/Ops: newConnectionsPerSource: unit \"minutes\" is not a RateUnit: use RateUnit.SECOND, RateUnit.MINUTE, RateUnit.HOUR, RateUnit.DAY ('second', 'minute', 'hour', 'day')"],
  ['15 helper string', (s) => new Service(host(s), 'Ftp', { ports: [Port.tcp(21)], helper: any('ftpd') }),
    "stack/web/Ftp: helper \"ftpd\" is not a ConntrackHelper: use one of ConntrackHelper.FTP ('ftp'), ConntrackHelper.TFTP ('tftp')"],
  ['15 deployment ownership', (s) => host(s, { deployment: { ownership: any('all') } }),
    "stack/web: deployment.ownership \"all\" is not a TableOwnership: use one of TableOwnership.SHARED ('shared'), TableOwnership.EXCLUSIVE ('exclusive')"],
  // 17: accepted without a word before
  ['17 overLimitAction without a limit', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4('192.0.2.1')], limits: { overLimitAction: any('reject') } }),
    'stack/web/Ops: overLimitAction applies to traffic over a limit, but no limit is set: add newConnectionsPerSource, concurrentPerSource or synFloodLimit, or remove overLimitAction'],
  ['17 echo request with code 5', (s) => new Service(host(s), 'Ping', { ports: [Port.icmpTypeAndCode(8, 5)] }),
    'stack/web/Ping: icmp code 5 does not exist for type 8: the type has only code 0; omit the code to match all of them'],
  ['17 unreachable code 16', (s) => new Service(host(s), 'Unreach', { ports: [Port.icmpTypeAndCode(3, 16)] }),
    'stack/web/Unreach: icmp code 16 does not exist for type 3: its codes are 0 to 15; omit the code to match all of them'],
  ['17 icmpv6 time exceeded code 2', (s) => new Service(host(s), 'Te', { ports: [Port.icmpv6TypeAndCode(3, 2)] }),
    'stack/web/Te: icmpv6 code 2 does not exist for type 3: its codes are 0 to 1; omit the code to match all of them'],
];

const AT_SYNTH: [string, Build, string][] = [
  // 4: admin access on another port than the deploy connects to
  ['4 AdminAccess on 2222, the deploy on 22', (s) => host(s).addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')], ports: [Port.tcp(2222)] }),
    "[stack/web] [SFW4] stack/web: the deploy connects over SSH to tcp/22, but nothing opens it (stack/web/Ops opens tcp/2222) and the new ruleset would lock it out; add Port.tcp(22) to the AdminAccess ports, or set deployment.connection.port to the port it opens, or PolicyChecks.of(host).acknowledge('SFW4', 'why SSH stays reachable')"],
  ['4 AdminAccess on 22, the deploy on 2222', (s) => ops(host(s, { deployment: { connection: { port: 2222 } } })),
    "[stack/web] [SFW4] stack/web: the deploy connects over SSH to tcp/2222, but nothing opens it (stack/web/Ops opens tcp/22) and the new ruleset would lock it out; add Port.tcp(2222) to the AdminAccess ports, or set deployment.connection.port to the port it opens, or PolicyChecks.of(host).acknowledge('SFW4', 'why SSH stays reachable')"],
  // 9 through connections: a group whose hosts are all IPv6
  ['9 icmp from a group of IPv6 hosts', (s) => {
    const v6 = new HostGroup(s, 'v6');
    v6.addHost(host(s, { address: '2001:db8::20', deployment: { enabled: false } }, 'v6-1'));
    const web = host(s);
    ops(web);
    web.connections.allowFrom(v6, Port.icmpPing());
  }, '[stack/web] stack/web from stack/v6: icmp/8 is ICMP (IPv4 only), but every peer is IPv6, so it opens nothing: add IPv4 peers, or use Port.icmpv6Type(...) for IPv6'],
  // 12: two baselines; expected connections past the maximum
  ['12 two FleetBaselines', (s) => {
    ops(host(s));
    ops(host(s, { address: '192.0.2.11' }, 'web2'));
    Aspects.of(s).add(new FleetBaseline({ adminPeers: [Peer.ipv4('198.51.100.8')] }));
    Aspects.of(s).add(new FleetBaseline({ adminPeers: [Peer.ipv4('198.51.100.9')] }));
  }, '[stack/web] two FleetBaselines with adminPeers apply to stack/web (and every host both reach): use one FleetBaseline per app with all the adminPeers and adminFrom, or exclude the host from one of them'],
  ['12 expected connections past the maximum', (s) => {
    const h = host(s, { conntrack: { expectedConnections: 60_000_000 } });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')], expectedConnections: 50_000_000 });
  }, '[stack/web] stack/web expects 110000000 connections in all (stack/web/Ops: 50000000, conntrack.expectedConnections: 60000000), more than the 100000000 a conntrack table can be sized for: lower expectedConnections'],
  // 16: a group's mistake once, not per member
  ['16 a group peer of a family its members lack', (s) => {
    const g = new HostGroup(s, 'g');
    for (const [id, address] of [['a', '192.0.2.21'], ['b', '192.0.2.22'], ['c', '192.0.2.23']]) g.addHost(host(s, { address, ipFamilies: [IpFamily.IPV4] }, id));
    ops(g);
    g.addService('Svc', { ports: [Port.HTTPS], peers: [Peer.ipv6('2001:db8::/64')] });
  }, '[stack/a] stack/g/Svc: peer 2001:db8::/64 is IPv6 but hosts stack/a, stack/b, stack/c are IPv4-only: remove the peer, or add its family to ipFamilies'],
  ['16 a group OutboundAccess, members without filtering', (s) => {
    const g = new HostGroup(s, 'g');
    for (const [id, address] of [['a', '192.0.2.21'], ['b', '192.0.2.22']]) g.addHost(host(s, { address }, id));
    ops(g);
    g.addOutbound('Dns', { ports: [Port.DNS_UDP] });
  }, '[stack/a] stack/g/Dns allows outbound traffic, but stack/a, stack/b do not filter it: set outboundFiltering: true, or remove the OutboundAccess'],
  // 17: an outbound destination of a family the host lacks
  ['17 outbound to IPv6 from an IPv4-only host', (s) => {
    const h = host(s, { ipFamilies: [IpFamily.IPV4], outboundFiltering: true });
    ops(h);
    h.addOutbound('Mirror', { ports: [Port.HTTPS], peers: [Peer.ipv6('2001:db8::80')] });
  }, '[stack/web] stack/web/Mirror: destination 2001:db8::80 is IPv6 but host stack/web is IPv4-only: remove the destination, or add its family to ipFamilies'],
  // 16: an exact duplicate is one error, no SFW5 warnings besides
  ['16 exact duplicate', (s) => {
    const h = host(s);
    ops(h);
    h.addService('A', { ports: [Port.HTTPS] });
    h.addService('B', { ports: [Port.HTTPS] });
  }, '[stack/web] stack/web/B repeats stack/web/A exactly (tcp/443 from any): remove one of them'],
];

function synthOf(build: Build): { app: App; errors: string[] } {
  const app = new App({ outdir: Testing.app().outdir });
  build(new TerraformStack(app, 'stack'));
  return { app, errors: synthErrors(app) };
}

describe('bad input classes (issue 14)', () => {
  test.each(THROWN)('%s: thrown where it is written', (_name, build, message) => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    let error: Error | undefined;
    try {
      build(stack);
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(error?.message).toBe(message);
  });

  test.each(AT_SYNTH)('%s: one error at synth', (_name, build, message) => {
    const { app, errors } = synthOf(build);
    expect(errors).toEqual([message]);
    if (_name.includes('duplicate')) expect(allWarnings(app).filter((w) => w.includes('[SFW5]'))).toEqual([]);
  });
});

describe('checks that judge too little or too much', () => {
  const warned = (build: Build) => {
    const { app, errors } = synthOf(build);
    expect(errors).toEqual([]);
    return allWarnings(app);
  };

  // 10: "open to the world" is coverage of the routable space (threshold: half)
  test.each([
    ['SSH to 1.0.0.0-255.255.255.255', [Peer.ipv4Range('1.0.0.0', '255.255.255.255')], ['stack/web: [SFW1] SSH (tcp/22) is open to any ipv4 address (stack/web/Ssh): restrict it with AdminAccess peers, e.g. Peer.ipv4(\'192.0.2.0/24\')']],
    ['SSH to 2000::/3', [Peer.ipv6('2000::/3')], ['stack/web: [SFW1] SSH (tcp/22) is open to any ipv6 address (stack/web/Ssh): restrict it with AdminAccess peers, e.g. Peer.ipv4(\'192.0.2.0/24\')']],
    ['SSH to 0.0.0.0/1 and 128.0.0.0/2 (75%)', [Peer.ipv4('0.0.0.0/1'), Peer.ipv4('128.0.0.0/2')], ['stack/web: [SFW1] SSH (tcp/22) is open to any ipv4 address (stack/web/Ssh): restrict it with AdminAccess peers, e.g. Peer.ipv4(\'192.0.2.0/24\')']],
    ['SSH to 10.0.0.0/8 (private, none of the routable space)', [Peer.ipv4('10.0.0.0/8')], []],
    ['SSH to 64.0.0.0/2 (about a quarter)', [Peer.ipv4('64.0.0.0/2')], []],
    ['SSH to 2001:db8::/32', [Peer.ipv6('2001:db8::/32')], []],
  ] as [string, Peer[], string[]][])('10 SFW1: %s', (_name, peers, expected) => {
    expect(warned((s) => {
      const h = host(s);
      ops(h);
      h.addService('Ssh', { ports: [Port.SSH], peers });
    }).filter((w) => w.includes('[SFW1]'))).toEqual(expected);
  });

  test('10 SFW3: IPv6 open to 2000::/3 where IPv4 is restricted', () => {
    expect(warned((s) => {
      const h = host(s);
      ops(h);
      h.addService('Api', { ports: [Port.tcp(8443)], peers: [Peer.ipv4('192.0.2.0/24'), Peer.ipv6('2000::/3')] });
    }).filter((w) => w.includes('[SFW3]'))).toEqual(['stack/web: [SFW3] tcp/8443 is restricted on IPv4 but open to any IPv6 address (stack/web/Api): give IPv6 the same peers']);
  });

  // 6: limits and helpers are not redundant
  test.each([
    ['a brute-force limit under a wider opening', (h: StatefulHost) => {
      h.addAdminAccess('Limited', { peers: [Peer.ipv4('198.51.100.0/24')], limits: { newConnectionsPerSource: { rate: 10, unit: RateUnit.MINUTE } } });
      h.addAdminAccess('Vpn', { peers: [Peer.ipv4('198.51.100.0/23')] });
    }],
    ['an FTP helper under a wider opening', (h: StatefulHost) => {
      h.addService('Ftp', { ports: [Port.tcp(21)], peers: [Peer.ipv4('203.0.113.0/24')], helper: ConntrackHelper.FTP });
      h.addService('Wide', { ports: [Port.tcpRange(1, 1024)], peers: [Peer.ipv4('203.0.0.0/16')] });
    }],
  ] as [string, (h: StatefulHost) => void][])('6 SFW5 stays quiet: %s', (_name, declare) => {
    expect(warned((s) => {
      const h = host(s);
      h.addAdminAccess('Ops', { peers: [Peer.ipv4('192.0.2.77')] });
      declare(h);
    }).filter((w) => w.includes('[SFW5]'))).toEqual([]);
  });

  // 16: one finding, one message
  test('16 Port.allTcp() open to anyone: one warning per check, not one per port and family', () => {
    const found = warned((s) => {
      const h = host(s);
      ops(h);
      h.addService('Everything', { ports: [Port.allTcp()] });
    });
    expect(found).toEqual([
      "stack/web: [SFW1] SSH (tcp/22), telnet (tcp/23), RDP (tcp/3389), VNC (tcp/5900), WinRM (tcp/5985), WinRM over TLS (tcp/5986), Cockpit (tcp/9090) and Webmin (tcp/10000) are open to any ipv4 and ipv6 address (stack/web/Everything): restrict it with AdminAccess peers, e.g. Peer.ipv4('192.0.2.0/24')",
      'stack/web: [SFW2] rpcbind (tcp/111), SMB (tcp/445), SQL Server (tcp/1433), Oracle (tcp/1521), Docker API (tcp/2375), Docker API over TLS (tcp/2376), etcd (tcp/2379), MySQL (tcp/3306), PostgreSQL (tcp/5432), AMQP (tcp/5672), CouchDB (tcp/5984), Redis (tcp/6379), Cassandra (tcp/9042), Kafka (tcp/9092), Elasticsearch (tcp/9200), memcached (tcp/11211) and MongoDB (tcp/27017) are open to any ipv4 and ipv6 address (stack/web/Everything): list the clients as peers',
      'stack/web: [SFW5] stack/web/Ops opens nothing that stack/web/Everything do not already open (tcp/22 from 198.51.100.7): remove it, or narrow the wider declaration',
    ]);
  });

  test('16 a group\'s SSH open to the world: one warning for the group, not one per member', () => {
    const found = warned((s) => {
      const g = new HostGroup(s, 'g');
      for (const [id, address] of [['a', '192.0.2.21'], ['b', '192.0.2.22'], ['c', '192.0.2.23']]) g.addHost(host(s, { address }, id));
      g.addAdminAccess('Ssh', { peers: [Peer.any()] });
    });
    expect(found).toEqual(["stack/a: [SFW1] SSH (tcp/22) is open to any ipv4 and ipv6 address (stack/g/Ssh): restrict it with AdminAccess peers, e.g. Peer.ipv4('192.0.2.0/24')"]);
  });

  test('16 unknown policy check ids and levels are errors where they are set', () => {
    const app = Testing.app();
    expect(() => PolicyChecks.of(app).setLevel('SFW9', CheckLevel.ERROR)).toThrow(
      "unknown policy check 'SFW9': the built-in checks are SFW1, SFW2, SFW3, SFW4, SFW5, SFW6, SFW7 (custom checks have ids of their own)");
    expect(() => PolicyChecks.of(app).acknowledge('sfw1', 'typo')).toThrow("unknown policy check 'sfw1'");
    expect(() => PolicyChecks.of(app).setLevel('SFW2', any('fatal'))).toThrow(
      "level \"fatal\" for SFW2 is not a CheckLevel: use CheckLevel.OFF ('off'), CheckLevel.WARNING ('warning') or CheckLevel.ERROR ('error')");
    expect(() => PolicyChecks.of(app).setLevel('ACME1', CheckLevel.ERROR)).not.toThrow();
  });

  // 19: identical openings from different groups are normal fleet usage
  test('19 two groups opening HTTPS to the same peers compile, keeping both origins', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const s = new TerraformStack(app, 'stack');
    const web = new HostGroup(s, 'webs');
    const api = new HostGroup(s, 'api');
    const h = host(s);
    web.addHost(h);
    api.addHost(h);
    ops(h);
    web.addService('Https', { ports: [Port.HTTPS], peers: [Peer.ipv4('203.0.113.0/24')] });
    api.addService('Https', { ports: [Port.HTTPS], peers: [Peer.ipv4('203.0.113.0/24')] });
    expect(synthErrors(app)).toEqual([]);
    expect(warnings(h)).toEqual([]);
    const r = h.ruleset.simulate(Packet.tcp({ from: '203.0.113.9', port: 443 }), Backend.IPTABLES);
    expect(r.verdict).toBe(Verdict.ACCEPT);
    expect(r.origins).toEqual(['stack/api/Https', 'stack/webs/Https']);
  });
});

// 7: a conntrack helper only on its control port
describe.each([Backend.IPTABLES, Backend.NFTABLES])('7 the FTP helper is attached to tcp/21 only (%s)', (backend) => {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const h = host(stack, { backend });
  ops(h);
  h.addService('Ftp', { ports: [Port.tcp(21), Port.HTTPS, Port.tcpRange(50000, 50010)], helper: ConntrackHelper.FTP });
  // iptables: a helper rule in the raw table; nftables: the accepting rule sets the helper (ct helper set ... accept)
  const helpedBy = (r: SimulationResult) => r.trace.some((t) => /matched: .*helper/.test(t)) || r.rule?.helper !== undefined;
  const helped = (port: number) => helpedBy(h.ruleset.simulate(Packet.tcp({ from: '203.0.113.9', port }), backend));

  test.each([[21, true], [443, false], [50005, false]])('tcp/%d helped: %s', (port, expected) => {
    expect(helped(port)).toBe(expected);
    expect(h.ruleset.simulate(Packet.tcp({ from: '203.0.113.9', port }), backend).verdict).toBe(Verdict.ACCEPT);
  });

  test('an FTP server on another port gets the helper there', () => {
    const s2 = new TerraformStack(Testing.app(), 'stack');
    const h2 = host(s2, { backend });
    h2.addService('Ftp', { ports: [Port.tcp(2121)], helper: ConntrackHelper.FTP });
    expect(helpedBy(h2.ruleset.simulate(Packet.tcp({ from: '203.0.113.9', port: 2121 }), backend))).toBe(true);
  });
});

// 5: a synth that fails writes nothing, for the whole app
describe('5 a failing synth leaves every stack\'s output as it was', () => {
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

  class Throwing implements IAspect {
    public visit(node: IConstruct): void {
      if (node instanceof StatefulHost) throw new Error(`aspect failed at ${node.node.path}`);
    }
  }

  // stack 'a' (with a host) and a plain stack 'b' come first; stack 'c' fails
  function app(outdir: string, version: number, failure?: (c: TerraformStack) => void): App {
    const a = new App({ outdir });
    const first = new TerraformStack(a, 'a');
    const h = host(first);
    ops(h);
    h.addService('Web', { ports: [Port.tcp(8000 + version)] });
    new TerraformStack(a, 'b');
    const third = new TerraformStack(a, 'c');
    ops(host(third, { address: '192.0.2.30' }, 'db'));
    failure?.(third);
    return a;
  }

  test.each([
    ['a validation error', (c: TerraformStack) => c.node.findChild('db').node.addValidation({ validate: () => ['broken'] }), '[c/db] broken'],
    ['a policy error', (c: TerraformStack) => (c.node.findChild('db') as StatefulHost).addService('Again', { ports: [Port.SSH], peers: [Peer.ipv4('198.51.100.7')] }), '[c/db] c/db/Again repeats c/db/Ops exactly'],
    ['a throwing aspect', (c: TerraformStack) => Aspects.of(c).add(new Throwing()), 'aspect failed at c/db'],
  ] as [string, (c: TerraformStack) => void, string][])('%s in the last stack', (_name, fail, message) => {
    const outdir = fs.mkdtempSync(path.join(Testing.app().outdir, 'all-or-nothing-'));
    app(outdir, 1).synth();
    const before = listing(outdir);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['stacks/a/cdk.tf.json', 'stacks/a/firewall/web/rules.v4', 'stacks/b/cdk.tf.json', 'stacks/c/firewall/db/rules.v4']));
    expect(() => app(outdir, 2, fail).synth()).toThrow(message);
    expect(listing(outdir)).toEqual(before);
    // and a synth that succeeds writes every stack
    app(outdir, 2).synth();
    expect(listing(outdir)['stacks/a/firewall/web/rules.v4']).toContain('8002');
    expect(fs.readdirSync(outdir).filter((f) => f.startsWith('.staging'))).toEqual([]);
  });
});

// 18: fleet diagram ids stay unique, labels stay quoted
describe('18 fleet diagrams', () => {
  const fleet = () => {
    const s = new TerraformStack(Testing.app(), 'stack');
    const g = new HostGroup(s, 'say "hi"');
    g.addHost(host(s, { address: '192.0.2.1' }, 'web-1'));
    g.addHost(host(s, { address: '192.0.2.2' }, 'web_1'));
    return s;
  };

  test('web-1 and web_1 are two nodes in Mermaid, quotes as #quot;', () => {
    const text = FleetDiagram.mermaid(fleet());
    const ids = [...text.matchAll(/^\s+(h_\w+)\[/gm)].map((m) => m[1]);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(text).toContain('["say #quot;hi#quot; (2 hosts)"]');
  });

  test('and in DOT, quotes escaped', () => {
    const text = FleetDiagram.dot(fleet());
    const ids = [...text.matchAll(/^\s+(h_\w+) \[label=/gm)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(2);
    expect(text).toContain('label="say \\"hi\\" (2 hosts)";');
  });
});
