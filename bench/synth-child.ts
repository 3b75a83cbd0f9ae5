/**
 * One synth, in its own process so its time and peak memory are its own (run by bench/run.ts):
 *
 *   ts-node --transpile-only bench/synth-child.ts policy N P OUTDIR              one host, N admin addresses x P ports
 *   ts-node --transpile-only bench/synth-child.ts fleet H S OUTDIR [null|data]   H hosts with S services each (and SSH for 3 admins)
 *   ts-node --transpile-only bench/synth-child.ts baseline H S OUTDIR [null|data]
 *       cdktf alone: for each of H hosts the provisioning resources the library's HostDeployment
 *       declares (src/deploy/host-deployment.ts: an Apply resource with a connection, triggers
 *       and 7 provisioners, a Teardown resource with 3 destroy-time ones), with trivial content
 *
 * `null` (default) declares null_resource, `data` terraform_data (ProvisioningResource).
 * Prints one JSON line: construct + synth milliseconds (module loading excluded), peak RSS in
 * MiB (both taken before anything else is counted), the number of hosts, the bytes written
 * (whole output folder, and the stack's cdk.tf.json), and the Terraform resources and
 * provisioners declared, by resource type, so the run can check that library and baseline
 * declare the same.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import {
  App, DataResource, RemoteExecProvisioner, SSHProvisionerConnection, TerraformResource, TerraformSelf, TerraformStack,
} from 'cdktf';
import { Construct } from 'constructs';
import { benchPolicy } from './contenders';
import { DefaultAction, Peer, Port, ProvisioningResource, StatefulHost } from '../src';

const STACK = 'bench';

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

/** The address of fleet host `h` (the same for the library and the baseline). */
function fleetAddress(h: number): string {
  return `10.${Math.floor(h / 62500) % 256}.${Math.floor(h / 250) % 250}.${(h % 250) + 1}`;
}

/**
 * The baseline's resources for one host: what HostDeployment declares (an apply resource
 * with the apply step and the confirm step, a teardown resource with its destroy step),
 * each step a one-line command.
 */
function baselineHost(scope: Construct, id: string, address: string, data: boolean): void {
  const host = new Construct(scope, id);
  const connection: SSHProvisionerConnection = { type: 'ssh', host: address, user: 'root', agent: 'true', timeout: '2m', scriptPath: './.sfw-step-%RAND%.sh' };
  const selfId = TerraformSelf.getString('id');
  const provisioners: RemoteExecProvisioner[] = [
    { type: 'remote-exec', inline: [`sh .sfw/sfw-apply.sh apply ${selfId}`] },
    { type: 'remote-exec', inline: [`sh /var/lib/sfw/sfw-apply.sh confirm ${selfId}`], connection: { ...connection, scriptPath: './.sfw/step-%RAND%.sh', timeout: '120s' } },
  ];
  const teardownConnection: SSHProvisionerConnection = { ...connection, host: TerraformSelf.getString(data ? 'triggers_replace.host' : 'triggers.host') };
  const teardownProvisioners: RemoteExecProvisioner[] = [
    { type: 'remote-exec', inline: [`sh .sfw/sfw-apply.sh destroy ${selfId}`], when: 'destroy' } as RemoteExecProvisioner,
  ];
  const identity = { host: address, backend: 'iptables', ownership: 'shared' };
  const triggers = { ...identity, rollback_timeout: '60', script_sha256: 'a', ruleset_sha256: 'b' };
  if (data) {
    const apply = new DataResource(host, 'Apply', { triggersReplace: triggers, connection, provisioners });
    new DataResource(host, 'Teardown', { triggersReplace: identity, connection: teardownConnection, provisioners: teardownProvisioners, dependsOn: [apply] });
  } else {
    const apply = new NullResource(host, 'Apply', { triggers, connection, provisioners });
    new NullResource(host, 'Teardown', { triggers: identity, connection: teardownConnection, provisioners: teardownProvisioners, dependsOn: [apply] });
  }
}

/** Terraform resources and their provisioners by resource type. */
function declared(stack: TerraformStack): Record<string, { resources: number; provisioners: number }> {
  const out: Record<string, { resources: number; provisioners: number }> = {};
  for (const c of stack.node.findAll()) {
    if (!(c instanceof TerraformResource)) continue;
    const e = (out[c.terraformResourceType] ??= { resources: 0, provisioners: 0 });
    e.resources++;
    e.provisioners += c.provisioners?.length ?? 0;
  }
  return out;
}

function main(): void {
  const [mode, a, b, outdir, kind] = process.argv.slice(2);
  const data = kind === 'data';
  if (kind !== undefined && kind !== 'null' && kind !== 'data') throw new Error(`unknown resource kind ${kind}: null or data`);
  const started = process.hrtime.bigint();
  const app = new App({ outdir });
  const stack = new TerraformStack(app, STACK);
  let hosts = 0;
  if (mode === 'policy') {
    const p = benchPolicy(Number(a), Number(b));
    const host = new StatefulHost(stack, 'host', { address: '203.0.113.10', defaultAction: DefaultAction.DROP });
    host.addAdminAccess('Admins', { peers: p.admins.map((x) => Peer.ipv4(x)), ports: p.portList.map((x) => Port.tcp(x)) });
    hosts = 1;
  } else if (mode === 'fleet') {
    const admins = [Peer.ipv4('198.51.100.7'), Peer.ipv4('198.51.100.9'), Peer.ipv6('2001:db8::7')];
    const deployment = data ? { resource: ProvisioningResource.TERRAFORM_DATA } : undefined;
    for (let h = 0; h < Number(a); h++) {
      const host = new StatefulHost(stack, `host-${h}`, { address: fleetAddress(h), deployment });
      for (let s = 0; s < Number(b); s++) {
        // every other service is public; the rest open to one /24 each
        const peers = s % 2 === 0 ? [Peer.any()] : [Peer.ipv4(`192.0.${s}.0/24`)];
        host.addService(`svc-${s}`, { ports: [Port.tcp(8000 + s)], peers });
      }
      host.addAdminAccess('Ops', { peers: admins });
      hosts++;
    }
  } else if (mode === 'baseline') {
    if (!data) new NullProvider(stack, 'null');
    for (let h = 0; h < Number(a); h++) {
      baselineHost(stack, `host-${h}`, fleetAddress(h), data);
      hosts++;
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  app.synth();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  const tfJson = path.join(outdir, 'stacks', STACK, 'cdk.tf.json');
  process.stdout.write(`${JSON.stringify({ ms, rssMiB, hosts, bytes: dirBytes(outdir), tfJsonBytes: fs.statSync(tfJson).size, declared: declared(stack) })}\n`);
}

main();
