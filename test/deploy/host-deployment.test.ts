import { TerraformStack, Testing } from 'cdktf';
import { Backend, IpFamily, Peer, Port, ProvisioningResource, StatefulHost, TableOwnership } from '../../src';
import { applyScript, sha256 } from '../../src/deploy/apply-script';
import { escapeTerraformTemplate } from '../../src/deploy/terraform-escape';

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
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('192.0.2.0/24')] });
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
    const hostFrom = (provisioners: any[], host: string) => provisioners.map((x: any) => JSON.stringify(x).split(host).join('HOST'));
    expect(hostFrom(dataTeardown.provisioner, '${self.triggers_replace.host}')).toEqual(hostFrom(nulTeardown.provisioner, '${self.triggers.host}'));
    expect(dataTeardown.triggers_replace).toEqual(nulTeardown.triggers);
    // each reads the address from its own state attribute
    expect(nulTeardown.connection.host).toBe('${self.triggers.host}');
    expect(dataTeardown.connection).toEqual({ ...nulTeardown.connection, host: '${self.triggers_replace.host}' });
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
    });
  });

  test('triggers: address and sha256 of the rendered rulesets and of the script', () => {
    let host: StatefulHost | undefined;
    const r = only(synth((s) => (host = web(s))), 'null_resource');
    const rendered = `rules.v4\n${host!.ruleset.toIptablesRestore(IpFamily.IPV4)}\nrules.v6\n${host!.ruleset.toIptablesRestore(IpFamily.IPV6)}`;
    expect(r.triggers).toEqual({
      host: '203.0.113.10',
      backend: 'iptables',
      ownership: 'shared',
      rollback_timeout: '60',
      script_sha256: sha256(applyScript()),
      ruleset_sha256: sha256(rendered),
    });
  });

  test('only a changed ruleset changes the triggers', () => {
    const a = only(synth((s) => web(s)), 'null_resource').triggers;
    const b = only(synth((s) => web(s)), 'null_resource').triggers;
    const c = only(synth((s) => web(s).addService('Extra', { ports: [Port.tcp(8443)] })), 'null_resource').triggers;
    expect(b).toEqual(a);
    expect(c.ruleset_sha256).not.toBe(a.ruleset_sha256);
    expect({ ...c, ruleset_sha256: a.ruleset_sha256 }).toEqual(a);
  });

  test('provisioners: prepare, upload script and rulesets, apply, confirm on a fresh connection; destroy removes', () => {
    let host: StatefulHost | undefined;
    const json = synth((s) => (host = web(s)));
    const apply = only(json, 'null_resource');
    const p = apply.provisioner;
    expect(p.map((x: any) => Object.keys(x)[0])).toEqual(['remote-exec', 'file', 'file', 'file', 'file', 'remote-exec', 'remote-exec']);
    const steps = p.map((x: any) => Object.values(x)[0] as any);
    // no step runs from /tmp: the first from the home directory, the others from ~/.stateful-firewall
    expect(steps[0].connection.script_path).toBe('./.stateful-firewall-prepare-%RAND%.sh');
    for (const step of steps.slice(1)) expect(step.connection.script_path).toBe('./.stateful-firewall/step-%RAND%.sh');
    // one script per step, which deletes itself, checks the home directory, makes the private dirs and checks sudo -n
    expect(steps[0].inline).toHaveLength(1);
    expect(steps[0].inline[0]).toContain('rm -f "$0"\nset -eu\numask 077\n');
    expect(steps[0].inline[0]).toContain('mkdir "$d/${self.id}"');
    expect(steps[0].inline[0]).toContain('sudo -n true');
    // each apply uploads into a directory of its own, named by the resource id
    expect(steps[1].destination).toBe('.stateful-firewall/${self.id}/sfw-apply.sh');
    expect(p[2].file).toEqual({
      destination: '.stateful-firewall/${self.id}/rules.v4',
      content: escapeTerraformTemplate(host!.ruleset.toIptablesRestore(IpFamily.IPV4)),
      connection: { ...apply.connection, script_path: './.stateful-firewall/step-%RAND%.sh' },
    });
    // always uploaded for iptables, empty without sets
    expect(p[4].file.destination).toBe('.stateful-firewall/${self.id}/sets.ipset');
    expect(p[4].file.content).toBe('');
    const files = host!.renderedFiles;
    const digests = ['rules.v4', 'rules.v6', 'sets.ipset'].map((n) => ` --sha256 ${n}=${sha256(files[n] ?? '')}`).join('');
    expect(steps[5].inline).toEqual([
      'rm -f "$0"\nset -u\nHOME_DIR=$(pwd -P) || exit 1\n'
      + 'sudo -n sh "$HOME_DIR"/.stateful-firewall/${self.id}/sfw-apply.sh apply --state-dir /var/lib/stateful-firewall --backend iptables --mode shared'
      + ` --dir "$HOME_DIR"/.stateful-firewall/\${self.id} --apply-id \${self.id} --rollback-timeout 60${digests}\n`
      + 'status=$?\nrm -rf "$HOME_DIR"/.stateful-firewall/${self.id}\nexit "$status"\n',
    ]);
    // confirm runs root's copy of the script, bound to this apply's id
    expect(steps[6].inline).toEqual([
      'rm -f "$0"\nset -u\nexec sudo -n sh /var/lib/stateful-firewall/sfw-apply.sh confirm --state-dir /var/lib/stateful-firewall --backend iptables --mode shared --apply-id ${self.id}\n',
    ]);
    expect(steps[6].connection.timeout).toBe('120s');
    // the apply resource is replaced on every ruleset change: nothing may run there at destroy time
    expect(p.filter((x: any) => Object.values(x).some((v: any) => v.when === 'destroy'))).toEqual([]);
    const t = only(json, 'null_resource', 'Teardown').provisioner;
    expect(t.map((x: any) => Object.keys(x)[0])).toEqual(['remote-exec', 'file', 'remote-exec']);
    const tsteps = t.map((x: any) => Object.values(x)[0] as any);
    expect(tsteps.every((v: any) => v.when === 'destroy')).toBe(true);
    // destroy-time connections may only use self: the address from the teardown's own triggers
    expect(tsteps.map((v: any) => v.connection.host)).toEqual(['${self.triggers.host}', '${self.triggers.host}', '${self.triggers.host}']);
    expect(tsteps[0].connection.script_path).toBe('./.stateful-firewall-prepare-%RAND%.sh');
    expect(tsteps[0].inline[0]).toContain('mkdir "$d/destroy-${self.id}"');
    expect(tsteps[1].destination).toBe('.stateful-firewall/destroy-${self.id}/sfw-apply.sh');
    expect(tsteps[1].content).toBe(escapeTerraformTemplate(applyScript()));
    expect(tsteps[2].inline[0]).toContain(
      'sudo -n sh "$HOME_DIR"/.stateful-firewall/destroy-${self.id}/sfw-apply.sh destroy --state-dir /var/lib/stateful-firewall --backend iptables --mode shared\n',
    );
  });

  test('sets.ipset carries the host\'s sets and counts in the ruleset hash; an empty one does not', () => {
    const admins = Array.from({ length: 12 }, (_, i) => Peer.ipv4(`198.51.100.${i * 2 + 1}`));
    let host: StatefulHost | undefined;
    const withSets = only(synth((s) => {
      host = web(s);
      host.addAdminAccess('Admins', { peers: admins });
    }), 'null_resource');
    const sets = host!.ruleset.toIpset();
    expect(sets).toMatch(/^create sfw-4n-Admins-[0-9a-f]{6} hash:net family inet hashsize 64 maxelem 65536\n/);
    expect(withSets.provisioner[4].file.destination).toBe('.stateful-firewall/${self.id}/sets.ipset');
    expect(withSets.provisioner[4].file.content).toBe(escapeTerraformTemplate(sets));
    const files = host!.renderedFiles;
    expect(withSets.triggers.ruleset_sha256).toBe(sha256(['rules.v4', 'rules.v6', 'sets.ipset'].map((n) => `${n}\n${files[n]}`).join('\n')));
    let plain: StatefulHost | undefined;
    const without = only(synth((s) => (plain = web(s))), 'null_resource');
    const plainFiles = plain!.renderedFiles;
    expect(without.triggers.ruleset_sha256).toBe(sha256(['rules.v4', 'rules.v6'].map((n) => `${n}\n${plainFiles[n]}`).join('\n')));
  });

  test('teardown: replaced only when address, backend or ownership change; connects to the address in its own state', () => {
    const json = synth((s) => web(s));
    const apply = only(json, 'null_resource');
    const teardown = only(json, 'null_resource', 'Teardown');
    expect(teardown.triggers).toEqual({ host: '203.0.113.10', backend: 'iptables', ownership: 'shared' });
    expect(teardown.connection).toEqual({ ...apply.connection, host: '${self.triggers.host}' });
    expect(teardown.depends_on).toEqual([`null_resource.${onlyKey(json, 'null_resource', 'Apply')}`]);
    const changed = only(synth((s) => web(s).addService('Extra', { ports: [Port.tcp(8443)] })), 'null_resource', 'Teardown');
    expect(changed.triggers).toEqual(teardown.triggers);
  });

  test('nftables hosts upload one file; exclusive ownership and the rollback timeout reach the script', () => {
    const r = only(synth((s) => new StatefulHost(s, 'fw', {
      address: '192.0.2.9',
      backend: Backend.NFTABLES,
      deployment: { ownership: TableOwnership.EXCLUSIVE, rollbackTimeoutSeconds: 30 },
    })), 'null_resource');
    expect(r.provisioner.filter((x: any) => x.file && !x.file.when).map((x: any) => x.file.destination)).toEqual([
      '.stateful-firewall/${self.id}/sfw-apply.sh',
      '.stateful-firewall/${self.id}/ruleset.nft',
    ]);
    // root: no sudo
    expect(r.provisioner[3]['remote-exec'].inline[0]).toContain(
      '\nsh "$HOME_DIR"/.stateful-firewall/${self.id}/sfw-apply.sh apply --state-dir /var/lib/stateful-firewall --backend nftables --mode exclusive --dir "$HOME_DIR"/.stateful-firewall/${self.id} --apply-id ${self.id} --rollback-timeout 30 --sha256 ruleset.nft=',
    );
    expect(r.connection).toEqual({ type: 'ssh', host: '192.0.2.9', user: 'root', agent: 'true', timeout: '2m' });
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
