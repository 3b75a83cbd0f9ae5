import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { buildApp, CloudFleetStack } from '../../examples/cloud-fleet/main';
import { Explain, FleetDiagram, Packet, StatefulHost } from '../../src';
import { bindAddresses } from '../../src/testing/jest';
import { allWarnings } from '../support/synth';

describe('examples/cloud-fleet', () => {
  const outdir = path.join(process.env.TMPDIR!, 'cloud-fleet-example');
  const stackDir = path.join(outdir, 'stacks', 'cloud-fleet');
  let tf: any;
  beforeAll(() => {
    buildApp(outdir).synth();
    tf = JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
  });
  const applyOf = (host: string) => {
    const [key, value] = Object.entries(tf.resource.terraform_data as Record<string, any>).find(([k]) => k.startsWith(`${host}_Deployment_Apply_`))!;
    return { key, value };
  };

  test('synthesizes without warnings: machines and firewalls in one stack', () => {
    const app = Testing.app();
    new CloudFleetStack(app, 'cloud-fleet');
    app.synth();
    expect(allWarnings(app)).toEqual([]);
    expect(Object.keys(tf.resource.terraform_data).filter((k) => k.endsWith('-machine')).sort()).toEqual(['app-1-machine', 'bastion-machine', 'db-1-machine', 'web-1-machine', 'web-2-machine']);
  });

  test('each deployment\'s triggers hold exactly the machine addresses its rules refer to, as Terraform expressions', () => {
    const triggers = (host: string) => Object.entries(applyOf(host).value.triggers_replace as Record<string, string>)
      .filter(([k]) => k === 'host' || k.startsWith('addr_')).sort();
    expect(triggers('db-1')).toEqual([
      ['addr_app-1', '${terraform_data.app-1-machine.output.ip}'], ['addr_bastion', '${terraform_data.bastion-machine.output.ip}'], ['host', '${terraform_data.db-1-machine.output.ip}'],
    ]);
    expect(triggers('app-1')).toEqual([
      ['addr_bastion', '${terraform_data.bastion-machine.output.ip}'], ['addr_web-1', '${terraform_data.web-1-machine.output.ip}'],
      ['addr_web-2', '${terraform_data.web-2-machine.output.ip}'], ['host', '${terraform_data.app-1-machine.output.ip}'],
    ]);
    // web refers to the bastion only: a replaced app machine leaves web alone
    expect(triggers('web-1')).toEqual([['addr_bastion', '${terraform_data.bastion-machine.output.ip}'], ['host', '${terraform_data.web-1-machine.output.ip}']]);
    // the bastion's rules refer to no machine: the plain template
    expect(applyOf('bastion').value.provisioner[0]['remote-exec'].inline[0]).toContain('/apply.sh.tftpl');
    expect(applyOf('db-1').value.provisioner[0]['remote-exec'].inline[0]).toContain('/apply-late.sh.tftpl", { id = self.id, bundle = ');
    expect(applyOf('db-1').value.provisioner[0]['remote-exec'].inline[0]).toContain('late = self.triggers_replace })}');
  });

  test('db\'s rendered sets and its late.map (set, family, the path that declared each address)', () => {
    const bundle = fs.readdirSync(path.join(stackDir, 'firewall', '_deploy', 'hosts'))
      .map((f) => fs.readFileSync(path.join(stackDir, 'firewall', '_deploy', 'hosts', f), 'utf8'))
      .find((t) => t.includes('addr_app-1 '))!;
    const lateMap = /cat >"\$u\/late\.map" <<'SFW_END_OF_FILE'\n([\s\S]*?)SFW_END_OF_FILE/.exec(bundle)![1];
    expect({
      'sets.ipset': fs.readFileSync(path.join(stackDir, 'firewall', 'db-1', 'sets.ipset'), 'utf8'),
      'late.map': lateMap,
      'explain.md (openings)': fs.readFileSync(path.join(stackDir, 'firewall', 'db-1', 'explain.md'), 'utf8').split('\n').filter((l) => l.includes('known at deploy')).join('\n'),
    }).toMatchSnapshot();
    expect(fs.readFileSync(path.join(stackDir, 'firewall', 'db-1', 'model.json'), 'utf8')).not.toContain('TfToken');
  });

  test('bound to addresses, the rules do what the roles say', () => {
    const app = Testing.app();
    const stack = new CloudFleetStack(app, 'cloud-fleet');
    app.synth();
    const [db1] = stack.db.hosts;
    const [app1] = stack.app.hosts;
    const db = bindAddresses(db1, { 'app-1': ['10.0.1.10'], 'bastion': ['10.0.9.10'] });
    expect(db).toAllow(Packet.tcp({ from: '10.0.1.10', port: 5432 }));
    expect(db).toReject(Packet.tcp({ from: '10.0.0.10', port: 5432 }));
    expect(db).toAllow(Packet.tcp({ from: '10.0.9.10', port: 22 }));
    expect(db).toReject(Packet.tcp({ from: '198.51.100.7', port: 22 }));
    const api = bindAddresses(app1, { 'web-1': ['10.0.0.10'], 'web-2': ['10.0.0.11'] });
    expect(api).toAllow(Packet.tcp({ from: '10.0.0.11', port: 8080 }));
    expect(api).toReject(Packet.tcp({ from: '10.0.2.10', port: 8080 }));
    expect(Explain.markdown(db1.ruleset)).toContain('members of app-1, known at deploy');
    expect(stack.bastion).toAllow(Packet.tcp({ from: '198.51.100.7', port: 22 }));
  });

  test('fleet diagram: hosts with "address known at deploy", the flows that compile', () => {
    const app = Testing.app();
    const stack = new CloudFleetStack(app, 'cloud-fleet');
    app.synth();
    expect(FleetDiagram.mermaid(stack)).toMatchSnapshot();
    expect(stack.node.findAll().filter(StatefulHost.isStatefulHost)).toHaveLength(5);
  });
});
