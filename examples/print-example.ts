// Synthesizes one example app and prints, per host and address family, the compiled
// ruleset and where the Terraform JSON was written. Used by `npm run example`.
import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { Backend, IpFamily, StatefulHost } from '../src';

const name = process.argv[2] ?? 'webserver';
const exampleDir = path.join(__dirname, name);
if (!fs.existsSync(path.join(exampleDir, 'main.ts'))) {
  console.error(`no example named '${name}' in ${__dirname}`);
  process.exit(1);
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildApp } = require(path.join(exampleDir, 'main')) as { buildApp: (outdir?: string) => App };
const outdir = path.join(exampleDir, 'cdktf.out');
const app = buildApp(outdir);
app.synth();

const rel = (p: string) => path.relative(process.cwd(), p);
for (const stack of app.node.findAll().filter((c): c is TerraformStack => c instanceof TerraformStack)) {
  for (const host of stack.node.findAll().filter(StatefulHost.isStatefulHost)) {
    const ruleset = host.ruleset;
    console.log(`\n### host ${host.hostName} (${host.node.path}), backend ${host.backend}`);
    if (host.backend === Backend.NFTABLES) {
      console.log('\n--- nftables (nft -f), IPv4 and IPv6 in one inet table ---');
      process.stdout.write(ruleset.toNftables());
    } else {
      for (const family of [IpFamily.IPV4, IpFamily.IPV6]) {
        const tool = family === IpFamily.IPV4 ? 'iptables-restore' : 'ip6tables-restore';
        console.log(`\n--- ${family === IpFamily.IPV4 ? 'IPv4' : 'IPv6'} (${tool}), ${ruleset.ruleCount(host.backend, family)} rules ---`);
        process.stdout.write(ruleset.toIptablesRestore(family));
      }
    }
    const sizing = host.conntrackSizing;
    if (sizing) console.log(`\nconntrack sizing: ${sizing.describe()}`);
    console.log(`\nrendered files: ${rel(path.join(outdir, 'stacks', stack.node.id, 'firewall', host.hostName))}/`);
  }
  console.log(`Terraform JSON: ${rel(path.join(outdir, 'stacks', stack.node.id, 'cdk.tf.json'))}`);
}
