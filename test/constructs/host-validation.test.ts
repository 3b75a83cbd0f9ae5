import { App, TerraformStack, Testing } from 'cdktf';
import { HostGroup, Peer, Port, StatefulHost } from '../../src';
import { problemsFound } from '../../src/constructs/host-validation';
import { Problem } from '../../src/constructs/problem';
import { synthErrors, warnings } from '../support/synth';

/**
 * A fleet with one mistake of each kind the hosts' validation finds across the tree: a
 * group's repeated opening (found by both members), a host name used twice, a shared
 * address, connections from an empty group, and the SFW6 warning every unpinned host gets.
 */
function faultyFleet(): { app: App; hosts: StatefulHost[] } {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'stack');
  const web = new HostGroup(stack, 'web');
  const empty = new HostGroup(stack, 'empty');
  const a = new StatefulHost(stack, 'a', { address: '192.0.2.1' });
  const b = new StatefulHost(stack, 'b', { address: '192.0.2.2' });
  const twin = new StatefulHost(stack, 'twin', { hostName: 'a', address: '192.0.2.3' });
  const clash = new StatefulHost(stack, 'clash', { address: '192.0.2.2' });
  for (const h of [a, b, twin, clash]) h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] });
  web.addHost(a);
  web.addHost(b);
  web.addService('Https', { ports: [Port.HTTPS] });
  web.addService('HttpsAgain', { ports: [Port.HTTPS] });
  twin.connections.allowFrom(empty, Port.tcp(9000));
  return { app, hosts: [a, b, twin, clash] };
}

describe('host validation', () => {
  test('one pass reports each problem once, with its code and the path it is reported on', () => {
    const { app, hosts } = faultyFleet();
    const errors = synthErrors(app);
    const found: Problem[] = hosts.flatMap((h) => [...problemsFound(h)]);
    const errorsFound = found.filter((p) => p.level === 'error');

    // every problem is found once: the group's repeat by its first member only, however many members find it
    const keys = found.map((p) => `${p.path}|${p.message}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(errorsFound.map((p) => [p.code, p.path]).sort()).toEqual([
      ['address-conflict', 'stack/b'],
      ['duplicate-host-name', 'stack/twin'],
      ['empty-connection-source', 'stack/twin'],
      ['repeated-opening', 'stack/a'],
    ]);
    expect(errorsFound.find((p) => p.code === 'repeated-opening')!.message)
      .toBe('stack/web/HttpsAgain repeats stack/web/Https exactly (tcp/443 from any): remove one of them');

    // the synth fails with exactly these errors, each once, as `[path] message`
    expect(errors.sort()).toEqual(errorsFound.map((p) => `[${p.path}] ${p.message}`).sort());

    // warnings become annotations on the host they are reported on, once each
    const sfw6 = found.filter((p) => p.code === 'policy-check:SFW6');
    expect(sfw6.map((p) => p.path).sort()).toEqual(hosts.map((h) => h.node.path).sort());
    for (const h of hosts) {
      const mine = found.filter((p) => p.level === 'warning' && p.path === h.node.path).map((p) => p.message);
      expect(warnings(h)).toEqual(mine);
    }
  });

  test('a second synth of the same app reports the same problems, and adds no warning twice', () => {
    const { app, hosts } = faultyFleet();
    const first = synthErrors(app);
    const before = hosts.map((h) => warnings(h).length);
    expect(synthErrors(app)).toEqual(first);
    expect(hosts.map((h) => warnings(h).length)).toEqual(before);
    expect(before.every((n) => n > 0)).toBe(true);
  });
});
