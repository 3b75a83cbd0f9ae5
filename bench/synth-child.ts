/**
 * One synth, in its own process so its time and peak memory are its own (run by bench/run.ts):
 *
 *   ts-node --transpile-only bench/synth-child.ts policy N P OUTDIR   one host, N admin addresses x P ports
 *   ts-node --transpile-only bench/synth-child.ts fleet H S OUTDIR    H hosts with S services each (and SSH for 3 admins)
 *
 * Prints one JSON line: construct + synth milliseconds (module loading excluded), peak RSS in
 * MiB, the number of hosts and the bytes written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { benchPolicy } from './contenders';
import { DefaultAction, Peer, Port, StatefulHost } from '../src';

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

function main(): void {
  const [mode, a, b, outdir] = process.argv.slice(2);
  const started = process.hrtime.bigint();
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'bench');
  let hosts = 0;
  if (mode === 'policy') {
    const p = benchPolicy(Number(a), Number(b));
    const host = new StatefulHost(stack, 'host', { address: '203.0.113.10', defaultAction: DefaultAction.DROP });
    host.addAdminAccess('Admins', { peers: p.admins.map((x) => Peer.ipv4(x)), ports: p.portList.map((x) => Port.tcp(x)) });
    hosts = 1;
  } else if (mode === 'fleet') {
    const admins = [Peer.ipv4('198.51.100.7'), Peer.ipv4('198.51.100.9'), Peer.ipv6('2001:db8::7')];
    for (let h = 0; h < Number(a); h++) {
      const host = new StatefulHost(stack, `host-${h}`, { address: `10.${Math.floor(h / 250)}.${h % 250}.10` });
      for (let s = 0; s < Number(b); s++) {
        // every other service is public; the rest open to one /24 each
        const peers = s % 2 === 0 ? [Peer.any()] : [Peer.ipv4(`192.0.${s}.0/24`)];
        host.addService(`svc-${s}`, { ports: [Port.tcp(8000 + s)], peers });
      }
      host.addAdminAccess('Ops', { peers: admins });
      hosts++;
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  app.synth();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ms, rssMiB, hosts, bytes: dirBytes(outdir) })}\n`);
}

main();
