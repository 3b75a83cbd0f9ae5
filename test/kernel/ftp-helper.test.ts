import * as fs from 'fs';
import * as path from 'path';
import { CompiledRuleset, ConntrackHelper, Peer, Port } from '../../src/core';
import { loadRuleset, VARIANTS } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// The FTP conntrack helper against the kernel: a real FTP server (pyftpdlib) behind the
// firewall, a real client (ftplib); passive and active transfers succeed with the helper
// and fail without it. The host filters outbound traffic too, so the active-mode data
// connection (server -> client) must be RELATED to get out.


function ruleset(helper: boolean): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'ftp',
    origin: 'lab/ftp',
    allowances: [{ origin: 'lab/ftp/Ftp', ports: [Port.tcp(21)], peers: [Peer.ipv4('10.93.0.0/24')], helper: helper ? ConntrackHelper.FTP : undefined }],
    outbound: { allowances: [] },
  });
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

const describeKernel = netnsSupported() ? describe : describe.skip;

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
    loadRuleset(lab, host, ruleset(true), variant);
    expect(transfer()).toEqual(['passive:hello through the firewall', 'active:hello through the firewall']);
  });

  test.each(VARIANTS)('%s: and fail without it', (variant) => {
    loadRuleset(lab, host, ruleset(false), variant);
    expect(transfer()).toEqual(['passive:failed', 'active:failed']);
  });
});
