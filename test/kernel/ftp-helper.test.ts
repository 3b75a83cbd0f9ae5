import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CompiledRuleset, ConntrackHelper, IpFamily, Peer, Port } from '../../src/engine';
import { normalizeIptablesSave } from '../support/kernel';
import { Lab, netnsSupported } from '../support/netns';

// The FTP conntrack helper against the kernel: a real FTP server (pyftpdlib) behind the
// firewall, a real client (ftplib); passive and active transfers succeed with the helper
// and fail without it. The host filters outbound traffic too, so the active-mode data
// connection (server -> client) must be RELATED to get out.

type Variant = 'iptables-nft' | 'iptables-legacy' | 'nftables';
const VARIANTS: Variant[] = ['iptables-nft', 'iptables-legacy', 'nftables'];

function ruleset(helper: boolean): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'ftp',
    origin: 'lab/ftp',
    allowances: [{ origin: 'lab/ftp/Ftp', ports: [Port.tcp(21)], peers: [Peer.ipv4('10.93.0.0/24')], helper: helper ? ConntrackHelper.FTP : undefined }],
    outbound: { allowances: [] },
  });
}

function load(lab: Lab, ns: string, r: CompiledRuleset, variant: Variant): void {
  lab.sh(ns, 'for t in iptables iptables-legacy; do for tb in filter raw; do $t -t $tb -F; $t -t $tb -X; done; done; nft flush ruleset; conntrack -F 2>/dev/null; true');
  if (variant === 'nftables') {
    lab.exec(ns, ['nft', '-f', '-'], { input: r.toNftables() });
    expect(lab.exec(ns, ['nft', 'list', 'table', 'inet', 'stateful_firewall'])).toBe(r.toNftables());
    return;
  }
  const suffix = variant === 'iptables-legacy' ? '-legacy' : '';
  lab.exec(ns, [`iptables${suffix}-restore`], { input: r.toIptablesRestore(IpFamily.IPV4) });
  // the tables rendered (legacy keeps listing a table once used, even when it is empty again)
  const rendered = r.toIptablesRestore(IpFamily.IPV4).split(/^(?=\*)/m).sort();
  const names = rendered.map((t) => t.split('\n')[0]);
  const live = lab.exec(ns, [`iptables${suffix}-save`]).split(/^(?=\*)/m).filter((t) => names.includes(t.split('\n')[0])).sort().join('');
  expect(normalizeIptablesSave(live)).toBe(normalizeIptablesSave(rendered.join('')));
}

const CLIENT = `
import ftplib, sys, socket
socket.setdefaulttimeout(3)
for passive in (True, False):
    try:
        f = ftplib.FTP()
        f.connect('10.93.0.1', 21, timeout=3)
        f.login()
        f.set_pasv(passive)
        data = []
        f.retrbinary('RETR hello.txt', data.append)
        f.quit()
        print(('passive' if passive else 'active') + ':' + b''.join(data).decode().strip())
    except Exception as e:
        print(('passive' if passive else 'active') + ':failed')
`;

const describeKernel = netnsSupported() && spawnOk() ? describe : describe.skip;

function spawnOk(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import pyftpdlib']).status === 0;
}

describeKernel('the FTP conntrack helper in the kernel', () => {
  let lab: Lab;
  let host: string;
  let client: string;

  beforeAll(() => {
    lab = new Lab('ftp');
    host = lab.addNamespace('host');
    client = lab.addNamespace('client');
    lab.connect({ ns: host, ifname: 'h0', addresses: ['10.93.0.1/24'] }, { ns: client, ifname: 'c0', addresses: ['10.93.0.2/24'] });
    const root = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'ftp-'));
    fs.writeFileSync(path.join(root, 'hello.txt'), 'hello through the firewall\n');
    lab.spawn(host, ['/usr/bin/python3', '-c', [
      'import logging',
      'from pyftpdlib.authorizers import DummyAuthorizer',
      'from pyftpdlib.handlers import FTPHandler',
      'from pyftpdlib.servers import FTPServer',
      'logging.disable(logging.CRITICAL)',
      'a = DummyAuthorizer()',
      `a.add_anonymous(${JSON.stringify(root)})`,
      'FTPHandler.authorizer = a',
      'FTPHandler.passive_ports = range(60000, 60100)',
      'FTPHandler.permit_foreign_addresses = True',
      "FTPServer(('10.93.0.1', 21), FTPHandler).serve_forever()",
    ].join('\n')]);
    lab.sh(host, 'for i in $(seq 50); do ss -ltn | grep -q "10.93.0.1:21 " && exit 0; sleep 0.1; done; exit 1');
  });

  afterAll(() => lab.destroy());

  const transfer = () => lab.exec(client, ['/usr/bin/python3', '-c', CLIENT], { timeoutMs: 30_000 }).trim().split('\n');

  test.each(VARIANTS)('%s: passive and active transfers succeed with the helper', (variant) => {
    load(lab, host, ruleset(true), variant);
    expect(transfer()).toEqual(['passive:hello through the firewall', 'active:hello through the firewall']);
  });

  test.each(VARIANTS)('%s: and fail without it', (variant) => {
    load(lab, host, ruleset(false), variant);
    expect(transfer()).toEqual(['passive:failed', 'active:failed']);
  });
});
