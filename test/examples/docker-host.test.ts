import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { buildApp, DockerHostStack, OFFICE } from '../../examples/docker-host/main';
import { Backend, Direction, IpFamily, Packet, RejectWith, StatefulHost } from '../../src';
import '../../src/testing/jest';
import { allWarnings } from '../support/synth';

function dockerHost(backend?: Backend): StatefulHost {
  return new DockerHostStack(Testing.app(), 'docker-host', { backend }).docker;
}

describe('examples/docker-host', () => {
  test('iptables rulesets (IPv4, IPv6)', () => {
    const r = dockerHost().ruleset;
    expect(r.toIptablesRestore(IpFamily.IPV4)).toMatchSnapshot();
    expect(r.toIptablesRestore(IpFamily.IPV6)).toMatchSnapshot();
  });

  test('nftables ruleset', () => {
    expect(dockerHost(Backend.NFTABLES).ruleset.toNftables()).toMatchSnapshot();
  });

  test('synthesizes without warnings; the rulesets are in the stack output', () => {
    const outdir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'docker-host-'));
    const app = buildApp(outdir);
    app.synth();
    expect(allWarnings(app)).toEqual([]);
    const rules = fs.readFileSync(path.join(outdir, 'stacks', 'docker-host', 'firewall', 'docker', 'rules.v4'), 'utf8');
    expect(rules).toContain('-A DOCKER-USER -j SFW-PUBLISHED');
  });

  describe.each([Backend.IPTABLES, Backend.NFTABLES])('the intent, asserted with the matchers (%s)', (backend) => {
    const docker = dockerHost(backend);
    const published = (from: string, port: number) => Packet.tcp({ from, port, direction: Direction.PUBLISHED });

    test('the database container (published 5432) answers the office only', () => {
      expect(docker).toAllow(published('198.51.100.7', 5432));
      expect(OFFICE).toBe('198.51.100.0/24');
      for (const from of ['192.0.2.5', '203.0.113.99', '2001:db8::99']) expect(docker).toReject(published(from, 5432), RejectWith.TCP_RESET);
    });

    test('the web app container (published 8080) answers everyone, IPv4 and IPv6', () => {
      for (const from of ['192.0.2.5', '198.51.100.7', '2001:db8::99']) expect(docker).toAllow(published(from, 8080));
    });

    test('other published ports are refused; the host\'s own services stay on INPUT', () => {
      expect(docker).toReject(published('198.51.100.7', 6379), RejectWith.TCP_RESET);
      expect(docker).toAllow(Packet.tcp({ from: '192.0.2.3', port: 22 }));
      expect(docker).toAllow(Packet.tcp({ from: '2001:db8:ff::1', port: 22 }));
      expect(docker).toReject(Packet.tcp({ from: '198.51.100.7', port: 22 }), RejectWith.TCP_RESET);
      expect(docker).toAllow(Packet.tcp({ from: '192.0.2.50', port: 9100 }));
      // a published port is not open on the host itself, and the host's ports are not published ones
      expect(docker).toReject(Packet.tcp({ from: '198.51.100.7', port: 5432 }), RejectWith.TCP_RESET);
      expect(docker).toReject(published('192.0.2.50', 9100), RejectWith.TCP_RESET);
    });
  });
});
