import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import { Backend, IpFamily, Peer, Port, ProvisioningResource, StatefulHost, TableOwnership } from '../../src';
import { applyScript, sha256 } from '../../src/deploy/apply-script';
import { escapeTerraformTemplate } from '../../src/deploy/terraform-escape';
import { renderStep } from '../support/deploy-steps';

/** A full synth (files written): the stack's JSON and its output directory. */
function fullSynth(configure: (stack: TerraformStack) => void): { json: any; stackDir: string } {
  const stack = new TerraformStack(Testing.app(), 'stack');
  configure(stack);
  const outdir = Testing.fullSynth(stack);
  const stackDir = path.join(outdir, 'stacks', 'stack');
  return { json: JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')), stackDir };
}

function synth(configure: (stack: TerraformStack) => void): any {
  const stack = new TerraformStack(Testing.app(), 'stack');
  configure(stack);
  return JSON.parse(Testing.synth(stack));
}

/** The one resource of a type and role: `Apply` (applies the ruleset) or `Teardown` (removes it on destroy). */
function only(json: any, type: string, role: 'Apply' | 'Teardown' = 'Apply'): any {
  const all = Object.entries(json.resource[type] ?? {}).filter(([key]) => key.includes(`_Deployment_${role}_`));
  expect(all).toHaveLength(1);
  return all[0][1];
}

/** The logical id of the one resource of a type and role. */
function onlyKey(json: any, type: string, role: 'Apply' | 'Teardown'): string {
  const keys = Object.keys(json.resource[type] ?? {}).filter((key) => key.includes(`_Deployment_${role}_`));
  expect(keys).toHaveLength(1);
  return keys[0];
}

describe('HostDeployment', () => {
  const web = (stack: TerraformStack, resource?: ProvisioningResource) => {
    const h = new StatefulHost(stack, 'web', {
      address: '203.0.113.10',
      deployment: { resource, connection: { user: 'deploy', privateKey: 'KEY', hostKey: 'ssh-ed25519 AAAA', port: 2222, bastionHost: '198.51.100.1', timeout: '90s' } },
    });
    h.addService('Web', { ports: [Port.HTTPS] });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('192.0.2.0/24')], ports: [Port.tcp(2222)] });
    return h;
  };

  test('null_resource by default, with the null provider declared once', () => {
    const json = synth((s) => {
      web(s);
      new StatefulHost(s, 'db', { address: '203.0.113.11' });
    });
    // one apply and one teardown resource per host
    expect(Object.keys(json.resource.null_resource).map((k) => k.replace(/_[0-9A-F]{8}$/, '')).sort()).toEqual([
      'db_Deployment_Apply', 'db_Deployment_Teardown', 'web_Deployment_Apply', 'web_Deployment_Teardown',
    ]);
    expect(json.provider.null).toHaveLength(1);
  });

  test('terraform_data needs no provider, and carries the same connection and provisioners', () => {
    const nul = only(synth((s) => web(s)), 'null_resource');
    const dataJson = synth((s) => web(s, ProvisioningResource.TERRAFORM_DATA));
    const data = only(dataJson, 'terraform_data');
    expect(dataJson.provider).toBeUndefined();
    expect(data.connection).toEqual(nul.connection);
    expect(data.provisioner).toEqual(nul.provisioner);
    expect(data.triggers_replace).toEqual(nul.triggers);
    const nulTeardown = only(synth((s) => web(s)), 'null_resource', 'Teardown');
    const dataTeardown = only(dataJson, 'terraform_data', 'Teardown');
    // the same provisioners, each connection reading the address from the teardown's own state attribute
    const own = (provisioners: any[], attribute: string) => provisioners.map((x: any) => JSON.stringify(x).split(attribute).join('OWN'));
    expect(own(dataTeardown.provisioner, 'self.triggers_replace.')).toEqual(own(nulTeardown.provisioner, 'self.triggers.'));
    expect(dataTeardown.triggers_replace).toEqual(nulTeardown.triggers);
    // each reads the address from its own state attribute
    expect(nulTeardown.connection.host).toBe('${self.triggers.host}');
    expect(dataTeardown.connection).toEqual({ ...nulTeardown.connection, host: '${self.triggers_replace.host}', host_key: '${self.triggers_replace.host_key}' });
    expect(dataTeardown.depends_on).toEqual([`terraform_data.${onlyKey(dataJson, 'terraform_data', 'Apply')}`]);
  });

  test('the SSH connection comes from the host\'s props', () => {
    expect(only(synth((s) => web(s)), 'null_resource').connection).toEqual({
      type: 'ssh',
      host: '203.0.113.10',
      user: 'deploy',
      port: 2222,
      private_key: 'KEY',
      host_key: 'ssh-ed25519 AAAA',
      bastion_host: '198.51.100.1',
      timeout: '90s',
      script_path: './.stateful-firewall-step-%RAND%.sh',
    });
  });

  test('triggers: address and sha256 of the rendered rulesets and of the script, and the ruleset\'s summary', () => {
    let host: StatefulHost | undefined;
    const r = only(synth((s) => (host = web(s))), 'null_resource');
    const rendered = `rules.v4\n${host!.ruleset.toIptablesRestore(IpFamily.IPV4)}\nrules.v6\n${host!.ruleset.toIptablesRestore(IpFamily.IPV6)}`;
    expect(r.triggers).toEqual({
      'host': '203.0.113.10',
      'backend': 'iptables',
      'ownership': 'shared',
      'rollback_timeout': '60',
      'script_sha256': sha256(applyScript()),
      'ruleset_sha256': sha256(rendered),
      // the plan names the openings (src/core/explain/plan-summary.ts)
      'default: in': 'tcp: reject (tcp-reset); reject (port-unreachable)',
      'in: Ops': 'tcp 2222 from 192.0.2.0/24',
      'in: Web': 'tcp 443 from any',
      'in: ping': 'icmp type 8 up to 20/second burst 50 from any; icmpv6 type 128 up to 20/second burst 50 from any',
    });
    expect(host!.planSummary).toEqual(Object.fromEntries(Object.entries(r.triggers).filter(([k]) => k.includes(': '))));
  });

  test('the summary\'s construct ids are text for Terraform: ${ and %{ escaped in keys and values', () => {
    const r = only(synth((s) => web(s).addService('Api ${x} %{y}', { ports: [Port.tcp(8080)], description: 'a ${b} %{c}' })), 'null_resource');
    const keys = Object.keys(r.triggers).filter((k) => k.includes('Api'));
    expect(keys).toEqual([escapeTerraformTemplate('in: Api ${x} %{y} + Web')]);
    expect(JSON.stringify(r.triggers)).not.toMatch(/(?<![$%])[$%]\{/);
  });

  test('only a changed ruleset changes the triggers', () => {
    const a = only(synth((s) => web(s)), 'null_resource').triggers;
    const b = only(synth((s) => web(s)), 'null_resource').triggers;
    const c = only(synth((s) => web(s).addService('Extra', { ports: [Port.tcp(8443)] })), 'null_resource').triggers;
    expect(b).toEqual(a);
    expect(c.ruleset_sha256).not.toBe(a.ruleset_sha256);
    // the summary's rows change with it: the new port joins the rule it was merged into (same peers)
    const { 'in: Extra + Web': merged, ...rest } = c;
    expect(merged).toBe('tcp 443,8443 from any');
    const { 'in: Web': web443, ...restA } = a;
    expect(web443).toBe('tcp 443 from any');
    expect({ ...rest, ruleset_sha256: a.ruleset_sha256 }).toEqual(restA);
  });

  test('provisioners: one step checks, writes the host\'s files and applies; confirm on a fresh connection; destroy removes', () => {
    let host: StatefulHost | undefined;
    const { json, stackDir } = fullSynth((s) => (host = web(s)));
    const apply = only(json, 'null_resource');
    const p = apply.provisioner;
    // two SSH connections per deploy: apply, then confirm
    expect(p.map((x: any) => Object.keys(x)[0])).toEqual(['remote-exec', 'remote-exec']);
    const steps = p.map((x: any) => Object.values(x)[0] as any);
    // no step runs from /tmp: the first from the home directory, the confirm from ~/.stateful-firewall
    expect(apply.connection.script_path).toBe('./.stateful-firewall-step-%RAND%.sh');
    expect(steps[0].connection).toBeUndefined();
    expect(steps[1].connection).toEqual({ ...apply.connection, script_path: './.stateful-firewall/step-%RAND%.sh', timeout: '120s' });
    // cdk.tf.json holds no file contents: the step is a template over files in the stack's output
    expect(steps[0].inline).toHaveLength(1);
    expect(steps[0].inline[0].length).toBeLessThan(400);
    const step = renderStep(stackDir, steps[0].inline[0]);
    // it deletes itself, checks the home directory, makes the private dirs and checks sudo -n
    expect(step.startsWith('rm -f "$0"\nset -eu\numask 077\n')).toBe(true);
    expect(step).toContain('mkdir "$d/${self.id}"');
    expect(step).toContain('sudo -n true');
    // each apply writes into a directory of its own, named by the resource id: the host's
    // files exactly as rendered, and the apply script
    const files = host!.renderedFiles;
    expect(step).toContain(`cat >"$u/rules.v4" <<'SFW_END_OF_FILE'\n${files['rules.v4']}SFW_END_OF_FILE\n`);
    expect(step).toContain(`cat >"$u/rules.v6" <<'SFW_END_OF_FILE'\n${files['rules.v6']}SFW_END_OF_FILE\n`);
    // always written for iptables, empty without sets
    expect(step).toContain(': >"$u/sets.ipset"\n');
    expect(step).toContain(`cat >"$u/sfw-apply.sh" <<'SFW_END_OF_APPLY_SCRIPT'\n${applyScript()}\nSFW_END_OF_APPLY_SCRIPT\n`);
    const digests = ['rules.v4', 'rules.v6', 'sets.ipset'].map((n) => ` --sha256 ${n}=${sha256(files[n] ?? '')}`).join('');
    expect(step).toContain(`SFW_SUDO='sudo -n'\nSFW_ARGS='--state-dir /var/lib/stateful-firewall --backend iptables --mode shared --rollback-timeout 60${digests}'\n`);
    expect(step).toContain('$SFW_SUDO sh "$u/sfw-apply.sh" apply --dir "$u" --apply-id ${self.id} $SFW_ARGS\nstatus=$?\nrm -rf "$u"\nexit "$status"\n');
    // confirm runs root's copy of the script, bound to this apply's id
    expect(steps[1].inline).toEqual([
      'rm -f "$0"\nset -u\nexec sudo -n sh /var/lib/stateful-firewall/sfw-apply.sh confirm --state-dir /var/lib/stateful-firewall --backend iptables --mode shared --apply-id ${self.id}\n',
    ]);
    // the apply resource is replaced on every ruleset change: nothing may run there at destroy time
    expect(p.filter((x: any) => Object.values(x).some((v: any) => v.when === 'destroy'))).toEqual([]);
    const teardown = only(json, 'null_resource', 'Teardown');
    const t = teardown.provisioner;
    expect(t.map((x: any) => Object.keys(x)[0])).toEqual(['remote-exec']);
    const tstep = t[0]['remote-exec'];
    expect(tstep.when).toBe('destroy');
    // destroy-time connections may only use self: the address from the teardown's own triggers
    expect(teardown.connection.host).toBe('${self.triggers.host}');
    expect(teardown.connection.script_path).toBe('./.stateful-firewall-step-%RAND%.sh');
    const destroy = renderStep(stackDir, tstep.inline[0]);
    expect(destroy).toContain('mkdir "$d/destroy-${self.id}"');
    expect(destroy).toContain(`cat >"$u/sfw-apply.sh" <<'SFW_END_OF_APPLY_SCRIPT'\n${applyScript()}\nSFW_END_OF_APPLY_SCRIPT\n`);
    // what was installed, from the teardown's own state
    expect(destroy).toContain('sudo -n sh "$u/sfw-apply.sh" destroy --state-dir /var/lib/stateful-firewall --backend ${self.triggers.backend} --mode ${self.triggers.ownership}\n');
  });

  test('the apply script is written once per stack, each host\'s files once, and cdk.tf.json stays small', () => {
    const { json, stackDir } = fullSynth((s) => {
      for (let i = 0; i < 20; i++) {
        const h = new StatefulHost(s, `h${i}`, { address: `192.0.2.${i + 1}` });
        h.addService('Web', { ports: [Port.HTTPS] });
        h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.0/24')] });
      }
    });
    const text = JSON.stringify(json);
    // no copy of the apply script (or a ruleset) in the JSON
    expect(text).not.toContain('stateful-firewall on-host apply script');
    expect(text).not.toContain('*filter');
    expect(fs.readdirSync(path.join(stackDir, 'firewall', '_deploy')).sort()).toEqual(['apply.sh.tftpl', 'hosts', 'sfw-apply.sh', 'teardown.sh.tftpl']);
    expect(fs.readFileSync(path.join(stackDir, 'firewall', '_deploy', 'sfw-apply.sh'), 'utf8')).toBe(applyScript());
    expect(fs.readdirSync(path.join(stackDir, 'firewall', '_deploy', 'hosts'))).toHaveLength(20);
    // each host's share of cdk.tf.json (two resources): about 3 KB, whatever its ruleset
    expect(Buffer.byteLength(text) / 20).toBeLessThan(4000);
  });

  test('sets.ipset carries the host\'s sets and counts in the ruleset hash; an empty one does not', () => {
    const admins = Array.from({ length: 12 }, (_, i) => Peer.ipv4(`198.51.100.${i * 2 + 1}`));
    let host: StatefulHost | undefined;
    const full = fullSynth((s) => {
      host = web(s);
      host.addAdminAccess('Admins', { peers: admins });
    });
    const withSets = only(full.json, 'null_resource');
    const sets = host!.ruleset.toIpset();
    expect(sets).toMatch(/^create sfw-4i-Admins-[0-9a-f]{6} hash:ip family inet hashsize 64 maxelem 65536\n/);
    const step = renderStep(full.stackDir, withSets.provisioner[0]['remote-exec'].inline[0]);
    expect(step).toContain(`cat >"$u/sets.ipset" <<'SFW_END_OF_FILE'\n${sets}SFW_END_OF_FILE\n`);
    expect(step).toContain(` --sha256 sets.ipset=${sha256(sets)}`);
    const files = host!.renderedFiles;
    expect(withSets.triggers.ruleset_sha256).toBe(sha256(['rules.v4', 'rules.v6', 'sets.ipset'].map((n) => `${n}\n${files[n]}`).join('\n')));
    let plain: StatefulHost | undefined;
    const without = only(synth((s) => (plain = web(s))), 'null_resource');
    const plainFiles = plain!.renderedFiles;
    expect(without.triggers.ruleset_sha256).toBe(sha256(['rules.v4', 'rules.v6'].map((n) => `${n}\n${plainFiles[n]}`).join('\n')));
  });

  test('teardown: replaced only when address, host key, backend or ownership change; connects to the address and key in its own state', () => {
    const json = synth((s) => web(s));
    const apply = only(json, 'null_resource');
    const teardown = only(json, 'null_resource', 'Teardown');
    // a replaced machine has another host key: the old teardown must still trust the old machine's
    expect(teardown.triggers).toEqual({ host: '203.0.113.10', backend: 'iptables', ownership: 'shared', host_key: 'ssh-ed25519 AAAA' });
    expect(teardown.connection).toEqual({ ...apply.connection, host: '${self.triggers.host}', host_key: '${self.triggers.host_key}' });
    const unpinned = synth((s) => new StatefulHost(s, 'db', { address: '203.0.113.11', deployment: { resource: ProvisioningResource.TERRAFORM_DATA } }));
    const t2 = only(unpinned, 'terraform_data', 'Teardown');
    expect(t2.triggers_replace).toEqual({ host: '203.0.113.11', backend: 'iptables', ownership: 'shared' });
    expect(t2.connection.host_key).toBeUndefined();
    const pinned = synth((s) => new StatefulHost(s, 'db', { address: '203.0.113.11', deployment: { resource: ProvisioningResource.TERRAFORM_DATA, connection: { hostKey: 'ssh-ed25519 BBBB' } } }));
    expect(only(pinned, 'terraform_data', 'Teardown').connection.host_key).toBe('${self.triggers_replace.host_key}');
    expect(teardown.depends_on).toEqual([`null_resource.${onlyKey(json, 'null_resource', 'Apply')}`]);
    const changed = only(synth((s) => web(s).addService('Extra', { ports: [Port.tcp(8443)] })), 'null_resource', 'Teardown');
    expect(changed.triggers).toEqual(teardown.triggers);
  });

  test('nftables hosts upload one file; exclusive ownership and the rollback timeout reach the script', () => {
    let fw: StatefulHost | undefined;
    const full = fullSynth((s) => (fw = new StatefulHost(s, 'fw', {
      address: '192.0.2.9',
      backend: Backend.NFTABLES,
      deployment: { ownership: TableOwnership.EXCLUSIVE, rollbackTimeoutSeconds: 30 },
    })).addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.0/24')] }));
    const r = only(full.json, 'null_resource');
    const step = renderStep(full.stackDir, r.provisioner[0]['remote-exec'].inline[0]);
    expect(step.match(/^cat >"\$u\/[^"]+"/gm)).toEqual(['cat >"$u/ruleset.nft"', 'cat >"$u/sfw-apply.sh"']);
    // root: no sudo
    expect(step).toContain(`SFW_SUDO=''\nSFW_ARGS='--state-dir /var/lib/stateful-firewall --backend nftables --mode exclusive --rollback-timeout 30 --sha256 ruleset.nft=${sha256(fw!.renderedFiles['ruleset.nft'])}'\n`);
    expect(r.connection).toEqual({ type: 'ssh', host: '192.0.2.9', user: 'root', agent: 'true', timeout: '2m', script_path: './.stateful-firewall-step-%RAND%.sh' });
  });

  test('deployment can be switched off', () => {
    const json = synth((s) => new StatefulHost(s, 'h', { address: '192.0.2.9', deployment: { enabled: false } }));
    expect(json.resource).toBeUndefined();
  });

  test('refuses a rollback timeout that cannot work', () => {
    expect(() => new StatefulHost(new TerraformStack(Testing.app(), 's'), 'h', { address: '192.0.2.9', deployment: { rollbackTimeoutSeconds: 2 } })).toThrow(
      's/h/Deployment: rollbackTimeoutSeconds 2 is out of range: use 10 to 3600 seconds',
    );
  });
});

describe('escapeTerraformTemplate', () => {
  test('escapes interpolations and directives, nothing else', () => {
    expect(escapeTerraformTemplate('a ${b} %{c} $d %e $$ {f}')).toBe('a $${b} %%{c} $d %e $$ {f}');
  });
});

describe('HostDeployment reapplyOnDrift', () => {
  const host = (stack: TerraformStack, reapplyOnDrift: boolean | undefined, resource = ProvisioningResource.TERRAFORM_DATA, id = 'web') => {
    const h = new StatefulHost(stack, id, {
      address: id === 'web' ? '203.0.113.10' : '203.0.113.11',
      deployment: { resource, reapplyOnDrift, connection: { user: 'deploy', privateKey: 'KEY', hostKey: 'ssh-ed25519 AAAA' } },
    });
    h.addService('Web', { ports: [Port.HTTPS] });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('192.0.2.0/24')] });
    return h;
  };
  const drift = (json: any, type: string) => Object.entries(json.resource[type] ?? {}).filter(([key]) => key.includes('_Deployment_DriftCheck_'));

  test('off by default: no drift check resource and no drift template', () => {
    const { json, stackDir } = fullSynth((s) => host(s, undefined));
    expect(drift(json, 'terraform_data')).toEqual([]);
    expect(fs.existsSync(path.join(stackDir, 'firewall', '_deploy', 'drift-check.sh.tftpl'))).toBe(false);
  });

  test.each([ProvisioningResource.TERRAFORM_DATA, ProvisioningResource.NULL_RESOURCE])(
    'on (%s): a drift check per host, replaced on every run, after the apply; it applies with --if-drifted and confirms its own id',
    (resource) => {
      const { json, stackDir } = fullSynth((s) => {
        host(s, true, resource);
        host(s, false, resource, 'db');
      });
      const checks = drift(json, resource);
      expect(checks).toHaveLength(1);
      const [key, r] = checks[0] as [string, any];
      expect(key).toMatch(/^web_Deployment_DriftCheck_/);
      expect(resource === ProvisioningResource.TERRAFORM_DATA ? r.triggers_replace : r.triggers).toEqual({ checked_at: '${timestamp()}' });
      expect(r.depends_on).toEqual([`${resource}.${onlyKey({ resource: { [resource]: Object.fromEntries(Object.entries(json.resource[resource]).filter(([k]) => k.startsWith('web_'))) } }, resource, 'Apply')}`]);
      expect(r.provisioner).toHaveLength(2);
      const [step, confirm] = r.provisioner.map((p: any) => p['remote-exec'].inline[0]);
      expect(step).toContain('templatefile("${path.module}/firewall/_deploy/drift-check.sh.tftpl", { id = self.id');
      expect(confirm).toContain('confirm --state-dir /var/lib/stateful-firewall --backend iptables --mode shared --apply-id ${self.id}');
      const template = fs.readFileSync(path.join(stackDir, 'firewall', '_deploy', 'drift-check.sh.tftpl'), 'utf8');
      expect(template).toContain('apply --dir "$u" --apply-id ${id} --if-drifted $SFW_ARGS');
      // the apply step itself is unchanged
      expect(fs.readFileSync(path.join(stackDir, 'firewall', '_deploy', 'apply.sh.tftpl'), 'utf8')).not.toContain('--if-drifted');
    },
  );
});
