import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CompiledRuleset, ConntrackHelper, Peer, Port } from '../../src/core';
import { loadRuleset, VARIANTS } from '../support/load-ruleset';
import { Lab, netnsSupported } from '../support/netns';

// The TFTP conntrack helper against the kernel: a real (minimal, RFC 1350) TFTP server
// behind the firewall, a real client. The server answers a read request from a new
// socket on an ephemeral port, so the DATA flow (server:new port -> client) is a new
// connection that only the helper's expectation makes RELATED. The host filters
// outbound traffic too, so without the helper that flow is NEW in OUTPUT and rejected:
// block 1 never leaves the server. (Without outbound filtering the helper changes
// nothing on the server: its DATA opens the flow itself and the client's ACKs are
// replies, ESTABLISHED; the last test pins that down.)


function ruleset(helper: boolean, outbound = true): CompiledRuleset {
  return CompiledRuleset.compile({
    name: 'tftp',
    origin: 'lab/tftp',
    allowances: [{ origin: 'lab/tftp/Tftp', ports: [Port.udp(69)], peers: [Peer.ipv4('10.92.0.0/24')], helper: helper ? ConntrackHelper.TFTP : undefined }],
    outbound: outbound ? { allowances: [] } : undefined,
  });
}


// Read-only, one transfer at a time; octet mode; 512-byte blocks; each block is sent up to
// 4 times, 0.5 s apart, until its ACK arrives, then the transfer is given up. One line per
// transfer goes to the log file: 'done <blocks>' or 'gave up at block <n>: <send error>'.
const SERVER = `
import os, socket, struct, sys, time
root, log = sys.argv[1], sys.argv[2]
def note(line):
    with open(log, 'a') as f:
        f.write(line + '\\n')
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('10.92.0.1', 69))
while True:
    pkt, peer = s.recvfrom(2048)
    if len(pkt) < 4 or struct.unpack('!H', pkt[:2])[0] != 1:
        continue
    name = os.path.basename(pkt[2:].split(b'\\0')[0].decode())
    try:
        data = open(os.path.join(root, name), 'rb').read()
    except OSError:
        s.sendto(struct.pack('!HH', 5, 1) + b'not found\\0', peer)
        continue
    t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t.bind(('10.92.0.1', 0))
    blocks = len(data) // 512 + 1
    block, error = 1, ''
    while block <= blocks:
        acked = False
        for attempt in range(4):
            try:
                t.sendto(struct.pack('!HH', 3, block) + data[(block - 1) * 512:block * 512], peer)
            except OSError as e:
                error = e.strerror
            deadline = time.monotonic() + 0.5
            while not acked and time.monotonic() < deadline:
                t.settimeout(max(deadline - time.monotonic(), 0.001))
                try:
                    ack, frm = t.recvfrom(2048)
                except OSError:
                    break
                acked = frm == peer and ack[:4] == struct.pack('!HH', 4, block)
            if acked:
                break
        if not acked:
            break
        block += 1
    t.close()
    note('done %d' % blocks if block > blocks else 'gave up at block %d: %s' % (block, error or 'no ack'))
`;

// One read request; ACKs every DATA block to the port it came from; gives up 3 s after the
// request. Prints '<bytes> <sha256> <blocks> <server port>' or 'failed'.
const CLIENT = `
import hashlib, socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('10.92.0.2', 0))
s.sendto(struct.pack('!H', 1) + b'blob.bin\\0octet\\0', ('10.92.0.1', 69))
deadline = time.monotonic() + 3
data, expected, server = b'', 1, None
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        print('failed')
        break
    s.settimeout(left)
    try:
        pkt, frm = s.recvfrom(2048)
    except socket.timeout:
        print('failed')
        break
    if frm[0] != '10.92.0.1' or pkt[:2] != struct.pack('!H', 3) or (server and frm != server):
        continue
    server = frm
    block = struct.unpack('!H', pkt[2:4])[0]
    if block == expected:
        data += pkt[4:]
        expected += 1
    s.sendto(struct.pack('!HH', 4, block), frm)
    if block == expected - 1 and len(pkt) - 4 < 512:
        print(len(data), hashlib.sha256(data).hexdigest(), block, server[1])
        break
`;

const FILE_BYTES = 2000; // 3 full blocks and a 464-byte last one: 4 DATA blocks, 4 ACKs

const describeKernel = netnsSupported() ? describe : describe.skip;

describeKernel('the TFTP conntrack helper in the kernel', () => {
  let lab: Lab;
  let host: string;
  let client: string;
  let log: string;
  let sha: string;
  let root: string;

  beforeAll(() => {
    lab = new Lab('tftp');
    host = lab.addNamespace('host');
    client = lab.addNamespace('client');
    lab.connect({ ns: host, ifname: 'h0', addresses: ['10.92.0.1/24'] }, { ns: client, ifname: 'c0', addresses: ['10.92.0.2/24'] });
    root = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'tftp-'));
    const blob = randomBytes(FILE_BYTES);
    sha = createHash('sha256').update(blob).digest('hex');
    fs.writeFileSync(path.join(root, 'blob.bin'), blob);
    log = path.join(root, 'transfers.log');
    lab.spawn(host, ['/usr/bin/python3', '-c', SERVER, root, log]);
    lab.sh(host, 'for i in $(seq 50); do ss -lun | grep -q "10.92.0.1:69 " && exit 0; sleep 0.1; done; exit 1');
  });

  afterAll(() => {
    lab.destroy();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  // the client's output, and the server's log line for that transfer
  const transfer = (): [string, string] => {
    const before = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').length : 1;
    const out = lab.exec(client, ['/usr/bin/python3', '-c', CLIENT], { timeoutMs: 15_000 }).trim();
    // the server may still be retransmitting block 1 after the client gave up (at most 2 s)
    lab.sh(host, `for i in $(seq 40); do [ "$(wc -l < ${log})" -ge ${before} ] && exit 0; sleep 0.1; done; exit 1`);
    return [out, fs.readFileSync(log, 'utf8').trim().split('\n')[before - 1]];
  };
  const conntrack = () => lab.exec(host, ['conntrack', '-L', '-p', 'udp'], { timeoutMs: 10_000 }).split('\n').filter((l) => l.includes('dport=69 '));

  test.each(VARIANTS)('%s: a 4-block transfer from a new server port succeeds with the helper', (variant) => {
    loadRuleset(lab, host, ruleset(true), variant);
    const [out, line] = transfer();
    const [bytes, digest, blocks, port] = out.split(' ');
    expect([Number(bytes), digest, Number(blocks)]).toEqual([FILE_BYTES, sha, 4]);
    expect(Number(port)).not.toBe(69);
    expect(line).toBe('done 4');
    // the request's conntrack entry carries the helper
    expect(conntrack()).toEqual([expect.stringMatching(/ src=10\.92\.0\.2 dst=10\.92\.0\.1 sport=\d+ dport=69 .* helper=tftp /)]);
  });

  test.each(VARIANTS)('%s: and fails without it: block 1 cannot leave the server', (variant) => {
    loadRuleset(lab, host, ruleset(false), variant);
    expect(transfer()).toEqual(['failed', 'gave up at block 1: Operation not permitted']);
    expect(conntrack()).toEqual([expect.not.stringContaining('helper=')]);
  });

  test('without outbound filtering the helper is not needed on the server', () => {
    loadRuleset(lab, host, ruleset(false, false), 'nftables');
    const [out, line] = transfer();
    expect([out.split(' ')[1], line]).toEqual([sha, 'done 4']);
  });
});
