/**
 * The first-boot baseline (`StatefulHost.userData()`) on the real kernel, by its effect on
 * traffic. A host namespace with three links (an admin client, a client the host denies
 * although it is inside the admin range, and another client), a host declaring every
 * feature at once (a web service, untracked DNS, admin access with limits, a denial,
 * outbound filtering, dropped-packet logging). The user data is parsed as cloud-init parses
 * it (PyYAML) and its `bootcmd` command is run in the namespace as cloud-init runs it;
 * then the full ruleset is deployed over it with assets/sfw-apply.sh (dash), as the first
 * deploy would, on both backends (iptables-nft and iptables-legacy, nftables).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { Backend, DefaultAction, Peer, Port, StatefulHost, UserDataFormat } from '../../src';
import { Lab, netnsSupported, ProbeResult, withLab } from '../support/netns';
import { makeScriptCtx, runScript, scriptOk, startListener } from '../support/script-lab';
import { terraformOutputs } from '../support/terraform-outputs';

const describeKernel = netnsSupported() ? describe : describe.skip;

const ADMIN = '10.74.1.2';
const ADMIN6 = '2001:db8:74:1::2';
const DENIED = '10.74.3.2';
const OTHER = '10.75.2.2';
const HOST_ADMIN = '10.74.1.1';
const HOST_ADMIN6 = '2001:db8:74:1::1';
const HOST_DENIED = '10.74.3.1';
const HOST_OTHER = '10.75.2.1';

interface Rendered {
  readonly userData: string;
  readonly files: Record<string, string>;
}

function render(backend: Backend, format: UserDataFormat): Rendered {
  const stack = new TerraformStack(Testing.app(), 'stack');
  const host = new StatefulHost(stack, 'web', {
    address: HOST_OTHER,
    backend,
    defaultAction: DefaultAction.REJECT,
    outboundFiltering: true,
    logDropped: { prefix: 'web-drop' },
    deployment: { enabled: false },
  });
  // asked for before the declarations: resolved at synth, so they are all in it
  new TerraformOutput(stack, 'userData', { value: host.userData({ format }) });
  host.addService('Web', { ports: [Port.HTTP] });
  host.addService('Dns', { ports: [Port.udp(53)], notrack: true });
  host.addAdminAccess('Admins', {
    peers: [Peer.ipv4('10.74.0.0/16'), Peer.ipv6('2001:db8:74::/48')],
    limits: { concurrentPerSource: 4 },
  });
  host.addDeny('Banned', { peers: [Peer.ipv4(DENIED)] });
  host.addOutbound('Https', { ports: [Port.HTTPS] });
  // as Terraform hands it to the machine
  return { userData: terraformOutputs(stack).userData as string, files: host.renderedFiles };
}

/** The user data as cloud-init's YAML loader (PyYAML, Debian's python3-yaml) reads it. */
function loadUserData(userData: string): any {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: userData, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyYAML could not load the user data: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The bootcmd entry's argv. */
function bootcmdArgv(userData: string): string[] {
  expect(userData.startsWith('#cloud-config\n')).toBe(true);
  const doc = loadUserData(userData);
  expect(Object.keys(doc)).toEqual(['bootcmd']);
  expect(doc.bootcmd).toHaveLength(1);
  return doc.bootcmd[0];
}

function topology(lab: Lab): { host: string; admin: string; denied: string; other: string } {
  const host = lab.addNamespace('host');
  const admin = lab.addNamespace('admin');
  const denied = lab.addNamespace('denied');
  const other = lab.addNamespace('other');
  lab.connect({ ns: host, ifname: 'eth0', addresses: [`${HOST_ADMIN}/24`, `${HOST_ADMIN6}/64`] }, { ns: admin, ifname: 'eth0', addresses: [`${ADMIN}/24`, `${ADMIN6}/64`] });
  lab.connect({ ns: host, ifname: 'eth1', addresses: [`${HOST_DENIED}/24`] }, { ns: denied, ifname: 'eth0', addresses: [`${DENIED}/24`] });
  lab.connect({ ns: host, ifname: 'eth2', addresses: [`${HOST_OTHER}/24`] }, { ns: other, ifname: 'eth0', addresses: [`${OTHER}/24`] });
  return { host, admin, denied, other };
}

/** What each client reaches: SSH and the web service. */
function probes(lab: Lab, t: ReturnType<typeof topology>): Record<string, ProbeResult> {
  return {
    'admin ssh': lab.tcpProbe(t.admin, HOST_ADMIN, 22),
    'admin ssh v6': lab.tcpProbe(t.admin, HOST_ADMIN6, 22),
    'denied ssh': lab.tcpProbe(t.denied, HOST_DENIED, 22),
    'other ssh': lab.tcpProbe(t.other, HOST_OTHER, 22),
    'other web': lab.tcpProbe(t.other, HOST_OTHER, 80),
  };
}

const CASES = [
  { name: 'iptables-nft', backend: Backend.IPTABLES, env: { SFW_IPTABLES: 'iptables-nft', SFW_IP6TABLES: 'ip6tables-nft' }, save: ['iptables-nft-save'] },
  { name: 'iptables-legacy', backend: Backend.IPTABLES, env: { SFW_IPTABLES: 'iptables-legacy', SFW_IP6TABLES: 'ip6tables-legacy' }, save: ['iptables-legacy-save'] },
  { name: 'nftables', backend: Backend.NFTABLES, env: {}, save: ['nft', 'list', 'ruleset'] },
];

describeKernel('first-boot baseline on the kernel', () => {
  test('the cloud-config bootcmd runs exactly the shell-script format\'s script', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    const host = new StatefulHost(stack, 'db', { address: '192.0.2.10', backend: Backend.NFTABLES, deployment: { enabled: false } });
    host.addAdminAccess('Ops', { peers: [Peer.ipv4('203.0.113.7'), Peer.ipv6('2001:db8::7')] });
    const cloud = host.userData();
    const script = host.userData({ format: UserDataFormat.SHELL_SCRIPT });
    new TerraformOutput(stack, 'script', { value: script });
    new TerraformOutput(stack, 'cloud', { value: cloud });
    const out = terraformOutputs(stack) as { script: string; cloud: string };
    // nft indents with tabs: they survive the YAML block scalar
    expect(out.script).toContain('\tchain input {');
    expect(loadUserData(out.cloud)).toEqual({ bootcmd: [['sh', '-c', out.script]] });
  });

  test.each(CASES)('$name: cloud-config bootcmd closes everything but admin access; the first deploy replaces it', (c) => withLab(async (lab) => {
    const { userData, files } = render(c.backend, UserDataFormat.CLOUD_CONFIG);
    const argv = bootcmdArgv(userData);
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    const t = topology(lab);
    await startListener(lab, t.host, [22, 80]);
    const ctx = makeScriptCtx(`first-boot-${c.name}`, { systemd: true, env: c.env });
    const env = { ...ctx.env, SFW_STATE_DIR: ctx.state };

    // an unprotected machine: everything answers
    expect(probes(lab, t)).toEqual({ 'admin ssh': 'open', 'admin ssh v6': 'open', 'denied ssh': 'open', 'other ssh': 'open', 'other web': 'open' });

    // first boot: cloud-init runs the bootcmd entry
    const boot = lab.run(t.host, ['dash', ...argv.slice(1)], { env });
    expect(boot.stderr).toContain('first-boot baseline of stack/web loaded');
    expect(boot.status).toBe(0);
    // admin access (both families: neighbour discovery works), the denial inside the admin
    // range, no web service yet, the default action (reject) for the rest
    expect(probes(lab, t)).toEqual({ 'admin ssh': 'open', 'admin ssh v6': 'open', 'denied ssh': 'timeout', 'other ssh': 'refused', 'other web': 'refused' });
    const baseline = lab.exec(t.host, c.save);
    expect(baseline).toContain('(first-boot baseline)');
    expect(baseline).not.toContain('stack/web/Web');
    expect(baseline).not.toContain('web-drop');

    // a reboot before the first deploy: a fresh kernel, the baseline again
    // (here: the same namespace, so the load must be repeatable)
    expect(lab.run(t.host, ['dash', ...argv.slice(1)], { env }).status).toBe(0);
    expect(probes(lab, t)['other web']).toBe('refused');

    // the first deploy: the whole ruleset replaces the baseline in one transaction;
    // a deploy that is not confirmed rolls back to the baseline, not to an open machine
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(ctx.pending, name), text);
    scriptOk(runScript(lab, t.host, ctx, ['apply', '--dir', ctx.pending]));
    expect(probes(lab, t)['other web']).toBe('open');
    scriptOk(runScript(lab, t.host, ctx, ['rollback']));
    expect(probes(lab, t)).toEqual({ 'admin ssh': 'open', 'admin ssh v6': 'open', 'denied ssh': 'timeout', 'other ssh': 'refused', 'other web': 'refused' });
    expect(lab.exec(t.host, c.save)).toContain('(first-boot baseline)');
    scriptOk(runScript(lab, t.host, ctx, ['apply', '--dir', ctx.pending]));
    scriptOk(runScript(lab, t.host, ctx, ['confirm']));
    expect(probes(lab, t)).toEqual({ 'admin ssh': 'open', 'admin ssh v6': 'open', 'denied ssh': 'timeout', 'other ssh': 'refused', 'other web': 'open' });
    const deployed = lab.exec(t.host, c.save);
    expect(deployed).not.toContain('(first-boot baseline)');
    expect(deployed).toContain('stack/web/Web');
    if (c.backend === Backend.IPTABLES) expect(deployed.match(/^-A INPUT -j SFW-INPUT$/mg)).toHaveLength(1);
    else expect(deployed.match(/^table inet /mg)).toHaveLength(1);

    // every later boot: the deploy's persistence loads the ruleset; the baseline stays out
    const later = lab.run(t.host, ['dash', ...argv.slice(1)], { env });
    expect(later.status).toBe(0);
    expect(later.stderr).toContain('a deploy installed the ruleset: first-boot baseline not loaded');
    expect(lab.exec(t.host, c.save)).not.toContain('(first-boot baseline)');
  }));

  test('shell-script format: the same baseline, run as a script', () => withLab(async (lab) => {
    const { userData } = render(Backend.NFTABLES, UserDataFormat.SHELL_SCRIPT);
    expect(userData.startsWith('#!/bin/sh\n')).toBe(true);
    const t = topology(lab);
    await startListener(lab, t.host, [22, 80]);
    const ctx = makeScriptCtx('first-boot-script');
    const file = path.join(ctx.dir, 'user-data.sh');
    fs.writeFileSync(file, userData);
    const r = lab.run(t.host, ['sh', file], { env: { ...ctx.env, SFW_STATE_DIR: ctx.state } });
    expect(r.status).toBe(0);
    expect(probes(lab, t)).toEqual({ 'admin ssh': 'open', 'admin ssh v6': 'open', 'denied ssh': 'timeout', 'other ssh': 'refused', 'other web': 'refused' });
  }));
});
