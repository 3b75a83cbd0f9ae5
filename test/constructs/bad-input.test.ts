import { App, TerraformStack, Testing } from 'cdktf';
import { AdminAccess, Backend, ConntrackHelper, Deny, IpFamily, Peer, Port, RateUnit, Service, StatefulHost, StatefulHostProps } from '../../src';

// Every bad input gets one clear message that names the construct path, the offending
// value, and how to fix it. Each row: what the user wrote, the exact message.

type Build = (stack: TerraformStack) => void;

const host = (s: TerraformStack, props: Partial<StatefulHostProps> = {}) =>
  new StatefulHost(s, 'web', { address: '192.0.2.10', ...props });
const svc = (ports: Port[], peers?: Peer[]): Build => (s) => new Service(host(s), 'Svc', { ports, peers });
const admin = (peers: Peer[], ports?: Port[]): Build => (s) => new AdminAccess(host(s), 'Ops', { peers, ports });
const admin2 = (limits: object): Build => (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4('192.0.2.1')], limits });
const ops = (h: StatefulHost) => h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });

const THROWN: [string, Build, string][] = [
  // ports
  ['tcp port 0', svc([Port.tcp(0)]), 'stack/web/Svc: tcp port 0 is out of range: use a port between 1 and 65535'],
  ['tcp port 65536', svc([Port.tcp(65536)]), 'stack/web/Svc: tcp port 65536 is out of range: use a port between 1 and 65535'],
  ['udp port -1', svc([Port.udp(-1)]), 'stack/web/Svc: udp port -1 is out of range: use a port between 1 and 65535'],
  ['fractional port', svc([Port.tcp(80.5)]), 'stack/web/Svc: tcp port 80.5 is not an integer: use a whole port number between 1 and 65535'],
  ['NaN port', svc([Port.udp(NaN)]), 'stack/web/Svc: udp port NaN is not an integer: use a whole port number between 1 and 65535'],
  ['inverted tcp range', svc([Port.tcpRange(6010, 6000)]), 'stack/web/Svc: tcp port range 6010-6000 is inverted: write it as 6000-6010'],
  ['inverted udp range', svc([Port.udpRange(61000, 60000)]), 'stack/web/Svc: udp port range 61000-60000 is inverted: write it as 60000-61000'],
  ['range past 65535', svc([Port.udpRange(60000, 70000)]), 'stack/web/Svc: udp port 70000 is out of range: use a port between 1 and 65535'],
  ['range from 0', svc([Port.tcpRange(0, 10)]), 'stack/web/Svc: tcp port 0 is out of range: use a port between 1 and 65535'],
  ['icmp type 7', svc([Port.icmpType(7)]), 'stack/web/Svc: icmp type 7 does not exist: use an assigned type, e.g. 8 (echo request) or 3 (destination unreachable)'],
  ['icmp type 300', svc([Port.icmpTypeAndCode(300, 0)]), 'stack/web/Svc: icmp type 300 does not exist: use an assigned type, e.g. 8 (echo request) or 3 (destination unreachable)'],
  ['icmp code 256', svc([Port.icmpTypeAndCode(3, 256)]), 'stack/web/Svc: icmp code 256 does not exist: codes are whole numbers between 0 and 255'],
  ['icmpv6 type 5', svc([Port.icmpv6Type(5)]), 'stack/web/Svc: icmpv6 type 5 does not exist: use an assigned type, e.g. 128 (echo request) or 1 (destination unreachable)'],
  ['icmpv6 code -1', admin([Peer.ipv6('2001:db8::1')], [Port.icmpv6TypeAndCode(1, -1)]), 'stack/web/Ops: icmpv6 code -1 does not exist: codes are whole numbers between 0 and 255'],
  ['admin port 0', admin([Peer.ipv4('192.0.2.1')], [Port.tcp(0)]), 'stack/web/Ops: tcp port 0 is out of range: use a port between 1 and 65535'],
  // peers
  ['host bits v4', svc([Port.HTTP], [Peer.ipv4('10.0.0.1/8')]), "stack/web/Svc: '10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"],
  ['host bits v6', svc([Port.HTTP], [Peer.ipv6('2001:db8::1/32')]), "stack/web/Svc: '2001:db8::1/32' has host bits set: did you mean 2001:db8::/32?"],
  ['host bits /24', admin([Peer.ipv4('192.0.2.7/24')]), "stack/web/Ops: '192.0.2.7/24' has host bits set: did you mean 192.0.2.0/24?"],
  ['prefix /33', svc([Port.HTTP], [Peer.ipv4('10.0.0.0/33')]), "stack/web/Svc: '10.0.0.0/33' has an invalid prefix length: use /0 to /32"],
  ['prefix /129', svc([Port.HTTP], [Peer.ipv6('2001:db8::/129')]), "stack/web/Svc: '2001:db8::/129' has an invalid prefix length: use /0 to /128"],
  ['prefix not a number', svc([Port.HTTP], [Peer.ipv4('10.0.0.0/x')]), "stack/web/Svc: '10.0.0.0/x' has an invalid prefix length: use /0 to /32"],
  ['octet 256', svc([Port.HTTP], [Peer.ipv4('10.0.0.256')]), "stack/web/Svc: '10.0.0.256' is not a valid ipv4 address or cidr: write e.g. '10.9.8.7' or '10.0.0.0/8'"],
  ['three octets', admin([Peer.ipv4('10.0.0')]), "stack/web/Ops: '10.0.0' is not a valid ipv4 address or cidr: write e.g. '10.9.8.7' or '10.0.0.0/8'"],
  ['hostname as peer', admin([Peer.ipv4('bastion.example.net')]), "stack/web/Ops: 'bastion.example.net' is not a valid ipv4 address or cidr: write e.g. '10.9.8.7' or '10.0.0.0/8'"],
  ['empty address', admin([Peer.ipv4('')]), "stack/web/Ops: '' is not a valid ipv4 address or cidr: write e.g. '10.9.8.7' or '10.0.0.0/8'"],
  ['bad ipv6', admin([Peer.ipv6('2001:db8:::1')]), "stack/web/Ops: '2001:db8:::1' is not a valid ipv6 address or cidr: write e.g. '2001:db8::1' or '2001:db8::/32'"],
  ['ipv6 in Peer.ipv4', admin([Peer.ipv4('2001:db8::1')]), "stack/web/Ops: '2001:db8::1' is an ipv6 address: use Peer.ipv6('2001:db8::1')"],
  ['ipv4 in Peer.ipv6', admin([Peer.ipv6('192.0.2.1')]), "stack/web/Ops: '192.0.2.1' is an ipv4 address: use Peer.ipv4('192.0.2.1')"],
  ['inverted range', admin([Peer.ipv4Range('10.9.8.10', '10.9.8.7')]), 'stack/web/Ops: address range 10.9.8.10-10.9.8.7 is inverted: write it as 10.9.8.7-10.9.8.10'],
  ['mixed-family range', admin([Peer.ipv4Range('10.9.8.7', '2001:db8::1')]), "stack/web/Ops: '2001:db8::1' is an ipv6 address: use Peer.ipv6Range(...)"],
  ['ipv4 in ipv6 range', admin([Peer.ipv6Range('192.0.2.1', '2001:db8::1')]), "stack/web/Ops: '192.0.2.1' is an ipv4 address: use Peer.ipv4Range(...)"],
  ['garbage in range', admin([Peer.ipv6Range('2001:db8::1', 'x')]), "stack/web/Ops: 'x' is not a valid ipv6 address"],
  ['empty anyOf', admin([Peer.anyOf()]), 'stack/web/Ops: Peer.anyOf() needs at least one peer'],
  ['bad peer inside anyOf', admin([Peer.anyOf(Peer.ipv4('192.0.2.1'), Peer.ipv4('192.0.2.1/16'))]), "stack/web/Ops: '192.0.2.1/16' has host bits set: did you mean 192.0.0.0/16?"],
  // declarations
  ['service without ports', svc([]), 'stack/web/Svc: ports must not be empty: e.g. ports: [Port.HTTPS]'],
  ['service with empty peers', svc([Port.HTTP], []), "stack/web/Svc: peers must not be empty: omit peers to allow anyone, or list e.g. Peer.ipv4('192.0.2.0/24')"],
  ['admin without peers', admin([]), "stack/web/Ops: peers must not be empty: admin access needs explicit peers, e.g. Peer.ipv4('192.0.2.10')"],
  ['admin with empty ports', admin([Peer.ipv4('192.0.2.1')], []), 'stack/web/Ops: ports must not be empty: omit ports for SSH, or list e.g. Port.tcp(2222)'],
  // hosts
  ['host without an address', (s) => host(s, { address: '' }), "stack/web: address must not be empty: give the address the host is managed at, e.g. '203.0.113.10'"],
  ['host with a blank address', (s) => host(s, { address: '   ' }), "stack/web: address must not be empty: give the address the host is managed at, e.g. '203.0.113.10'"],
  ['host with a bad IPv4 address', (s) => host(s, { address: '192.0.2.300' }), "stack/web: address '192.0.2.300' is not a valid IPv4 address"],
  ['host name with a space', (s) => host(s, { hostName: 'web 1' }), "stack/web: host name 'web 1' is not usable: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"],
  ['host name starting with -', (s) => host(s, { hostName: '-web' }), "stack/web: host name '-web' is not usable: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"],
  ['host name of 64 characters', (s) => host(s, { hostName: 'w'.repeat(64) }), `stack/web: host name '${'w'.repeat(64)}' is not usable: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`],
  ['no address family', (s) => host(s, { ipFamilies: [] }), 'stack/web: ipFamilies must not be empty: use [IpFamily.IPV4], [IpFamily.IPV6] or both'],
  ['nft table name with a space', (s) => host(s, { backend: Backend.NFTABLES, nftTableName: 'my table' }), "stack/web: nftTableName 'my table' is not a name nft accepts: use a letter, then up to 63 letters, digits or '_'"],
  ['nft table name with a dash', (s) => host(s, { backend: Backend.NFTABLES, nftTableName: 'my-fw' }), "stack/web: nftTableName 'my-fw' is not a name nft accepts: use a letter, then up to 63 letters, digits or '_'"],
  ['log prefix too long', (s) => host(s, { logDropped: { prefix: 'firewall-of-the-web-server-1: ' } }), "stack/web: log prefix 'firewall-of-the-web-server-1: ' is not usable: use at most 29 printable characters without quotes or backslashes"],
  ['ping rate of zero', (s) => host(s, { pingRateLimit: { rate: 0, unit: RateUnit.SECOND } }), 'stack/web: pingRateLimit: rate 0 is out of range: use a whole number of packets from 1 to 10000 per second'],
  ['nftTableName on iptables', (s) => host(s, { nftTableName: 'fw' }), "stack/web: nftTableName 'fw' needs backend: Backend.NFTABLES (iptables keeps its rules in SFW-* chains)"],
  ['notrack with icmp', (s) => new Service(host(s), 'Svc', { ports: [Port.udp(53), Port.icmpType(8)], notrack: true }),
    'stack/web/Svc: notrack exempts TCP and UDP ports from connection tracking, not icmp/8: declare ICMP in another Service'],
  ['notrack with a helper', (s) => new Service(host(s), 'Svc', { ports: [Port.tcp(21)], notrack: true, helper: ConntrackHelper.FTP }),
    'stack/web/Svc: the ftp helper reads tracked connections, so it cannot be combined with notrack: remove one of them'],
  ['notrack with limits', (s) => new Service(host(s), 'Svc', { ports: [Port.udp(53)], notrack: true, limits: { concurrentPerSource: 5 } }),
    'stack/web/Svc: limits count connections, and an untracked service has none: remove limits or notrack'],
  ['notrack with expected connections', (s) => new Service(host(s), 'Svc', { ports: [Port.udp(53)], notrack: true, expectedConnections: 100 }),
    'stack/web/Svc: an untracked service takes no conntrack entries: remove expectedConnections or notrack'],
  ['syn-flood cap without tcp', (s) => new Service(host(s), 'Svc', { ports: [Port.udp(53)], limits: { synFloodLimit: { rate: 10, unit: RateUnit.SECOND } } }),
    'stack/web/Svc: synFloodLimit caps new TCP connections, but the declaration has no TCP port: remove it or use newConnectionsPerSource'],
  ['syn-flood cap of 0', admin2({ synFloodLimit: { rate: 0, unit: RateUnit.SECOND } }),
    'stack/web/Ops: synFloodLimit: rate 0 is out of range: use a whole number of packets from 1 to 10000 per second'],
  ['negative expected connections', (s) => new AdminAccess(host(s), 'Ops', { peers: [Peer.ipv4('192.0.2.1')], expectedConnections: -1 }),
    'stack/web/Ops: expectedConnections -1 is not usable: use a whole number of connections from 0 to 100000000'],
  ['fractional host expected connections', (s) => host(s, { conntrack: { expectedConnections: 2.5 } }),
    'stack/web: conntrack.expectedConnections 2.5 is not usable: use a whole number of connections from 0 to 100000000'],
  ['zero concurrent connections', (s) => new Service(host(s), 'Svc', { ports: [Port.HTTPS], limits: { concurrentPerSource: 0 } }), 'stack/web/Svc: concurrentPerSource 0 is out of range: use a whole number of connections from 1 to 65535'],
  ['fractional connection rate', admin2({ newConnectionsPerSource: { rate: 0.5, unit: RateUnit.MINUTE } }), 'stack/web/Ops: newConnectionsPerSource: rate 0.5 is out of range: use a whole number of packets from 1 to 10000 per minute'],
  ['rollback timeout too short', (s) => host(s, { deployment: { rollbackTimeoutSeconds: 5 } }), 'stack/web/Deployment: rollbackTimeoutSeconds 5 is out of range: use 10 to 3600 seconds'],
  ['rollback timeout too long', (s) => host(s, { deployment: { rollbackTimeoutSeconds: 7200 } }), 'stack/web/Deployment: rollbackTimeoutSeconds 7200 is out of range: use 10 to 3600 seconds'],
];

// Errors that depend on the whole tree surface at synth (node.addValidation).
const AT_SYNTH: [string, Build, string][] = [
  ['IPv6 peer on an IPv4-only host', (s) => {
    const h = host(s, { ipFamilies: [IpFamily.IPV4] });
    ops(h);
    h.addService('Svc', { ports: [Port.HTTPS], peers: [Peer.ipv6('2001:db8::/64')] });
  }, '[stack/web] stack/web/Svc: peer 2001:db8::/64 is IPv6 but host stack/web is IPv4-only: remove the peer, or add its family to ipFamilies'],
  ['IPv4 peer on an IPv6-only host', (s) => {
    const h = host(s, { address: '2001:db8::10', ipFamilies: [IpFamily.IPV6] });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('192.0.2.5')] });
  }, '[stack/web] stack/web/Ops: peer 192.0.2.5 is IPv4 but host stack/web is IPv6-only: remove the peer, or add its family to ipFamilies'],
  ['the same declaration twice', (s) => {
    const h = host(s);
    ops(h);
    h.addService('A', { ports: [Port.HTTP, Port.HTTPS] });
    h.addService('B', { ports: [Port.HTTPS, Port.HTTP] });
  }, '[stack/web] stack/web/B repeats stack/web/A exactly (tcp/443, tcp/80 from any): remove one of them'],
  ['two hosts with one name', (s) => {
    ops(host(s, { hostName: 'web' }));
    ops(new StatefulHost(s, 'other', { address: '192.0.2.11', hostName: 'web' }));
  }, "[stack/other] host name 'web' is also used by stack/web: give one of them another hostName"],
  ['a Deny outside every host and group', (s) => {
    ops(host(s));
    new Deny(s, 'Abusers', { peers: [Peer.ipv4('203.0.113.0/26')] });
  }, '[stack/Abusers] stack/Abusers: this Deny is outside every StatefulHost and HostGroup, so no host picks it up and it blocks nothing: create it inside a StatefulHost or HostGroup, or use host.addDeny(...)'],
  ['two hosts with one address', (s) => {
    ops(host(s));
    ops(new StatefulHost(s, 'other', { address: '192.0.2.10' }));
  }, "[stack/web] address '192.0.2.10' of stack/web is also used by stack/other: one machine would get two rulesets and the last deploy would win; declare each machine once (one StatefulHost, in several HostGroups for several roles), or correct the address"],
  ['a deployed host without AdminAccess', (s) => {
    host(s).addService('Svc', { ports: [Port.HTTPS] });
  }, "[stack/web] [SFW4] stack/web has no AdminAccess: the deploy connects over SSH (tcp/22) and the new ruleset would lock it out; add host.addAdminAccess('Ops', { peers: [...] }) with the deploying machine's address, or PolicyChecks.of(host).acknowledge('SFW4', 'why SSH stays reachable')"],
];

describe('bad input', () => {
  test('covers at least 40 cases', () => {
    expect(THROWN.length + AT_SYNTH.length).toBeGreaterThanOrEqual(40);
  });

  test.each(THROWN)('%s: thrown where it is written', (_name, build, message) => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    let error: Error | undefined;
    try {
      build(stack);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toBe(message);
  });

  test.each(AT_SYNTH)('%s: an error at synth', (_name, build, message) => {
    const app = new App({ outdir: Testing.app().outdir });
    build(new TerraformStack(app, 'stack'));
    let error: Error | undefined;
    try {
      app.synth();
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toContain(message);
    // exactly one message for one mistake
    expect(error!.message.split('\n').filter((l) => l.trim().startsWith('[stack/'))).toHaveLength(1);
  });
});
