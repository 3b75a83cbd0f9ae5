import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { Backend, Peer, Port, StatefulHost } from '../../src';
import { sha256 } from '../../src/deploy/apply-script';

/** A full synth of a stack with two hosts: the stack's JSON and output directory. */
function fullSynth(terraformOutputs: boolean | undefined, extra?: (stack: TerraformStack) => void) {
  const stack = new TerraformStack(Testing.app(), 'stack');
  for (const [id, backend, address] of [['web.1', Backend.IPTABLES, '192.0.2.10'], ['db', Backend.NFTABLES, '192.0.2.20']] as const) {
    const h = new StatefulHost(stack, id, { address, backend, terraformOutputs });
    h.addService('Https', { ports: [Port.HTTPS] });
    h.addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.0/24')] });
  }
  extra?.(stack);
  const stackDir = path.join(Testing.fullSynth(stack), 'stacks', 'stack');
  return { json: JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')), stackDir, stack };
}

function filesHash(dir: string, names: string[]): string {
  return sha256(names.map((n) => `${n}\n${fs.readFileSync(path.join(dir, n), 'utf8')}`).join('\n'));
}

describe('StatefulHost terraformOutputs', () => {
  test('off by default: no outputs', () => {
    expect(fullSynth(undefined).json.output).toBeUndefined();
  });

  test('on request: the ruleset digest and the explain text of each host, as in the written files and the deploy trigger', () => {
    const { json, stackDir } = fullSynth(true);
    expect(Object.keys(json.output).sort()).toEqual(['db_explain', 'db_ruleset_sha256', 'web_1_explain', 'web_1_ruleset_sha256']);
    const web = path.join(stackDir, 'firewall', 'web.1');
    const db = path.join(stackDir, 'firewall', 'db');
    expect(json.output.web_1_ruleset_sha256.value).toBe(filesHash(web, ['rules.v4', 'rules.v6']));
    expect(json.output.db_ruleset_sha256.value).toBe(filesHash(db, ['ruleset.nft']));
    expect(json.output.web_1_explain.value).toBe(fs.readFileSync(path.join(web, 'explain.md'), 'utf8'));
    expect(json.output.web_1_explain.value).toContain('stack/web.1/Https');
    expect(json.output.db_explain.description).toBe('what the firewall of stack/db allows (firewall/db/explain.md)');
    // the same digest the deployment's terraform_data resource is replaced on
    const resources = Object.values(json.resource as Record<string, Record<string, any>>).flatMap((byName) => Object.values(byName));
    const triggers = resources.map((r) => (r.triggers ?? r.triggers_replace)?.ruleset_sha256).filter(Boolean);
    expect(triggers).toHaveLength(2);
    expect(triggers).toEqual(expect.arrayContaining([json.output.web_1_ruleset_sha256.value, json.output.db_ruleset_sha256.value]));
  });

  test('stable: the same app synthesizes the same outputs; a changed policy changes the digest of that host only', () => {
    const a = fullSynth(true).json.output;
    const b = fullSynth(true).json.output;
    expect(b).toEqual(a);
    const c = fullSynth(true, (stack) => {
      (stack.node.findChild('db') as StatefulHost).addService('Pg', { ports: [Port.POSTGRES], peers: [Peer.ipv4('192.0.2.10')] });
    }).json.output;
    expect(c.web_1_ruleset_sha256).toEqual(a.web_1_ruleset_sha256);
    expect(c.db_ruleset_sha256.value).not.toBe(a.db_ruleset_sha256.value);
    expect(c.db_explain.value).toContain('stack/db/Pg');
  });

  test('an output name another construct of the stack already has is an error naming the host', () => {
    const stack = new TerraformStack(new App(), 'stack');
    new StatefulHost(stack, 'web_1', { address: '192.0.2.10', terraformOutputs: true });
    expect(() => new StatefulHost(stack, 'web.1', { address: '192.0.2.11', terraformOutputs: true }))
      .toThrow("stack/web.1: terraformOutputs: the stack already has an output or construct 'web_1_ruleset_sha256' (stack/web_1_ruleset_sha256): give this host another hostName");
  });
});
