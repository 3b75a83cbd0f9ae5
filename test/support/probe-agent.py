#!/usr/bin/python3
"""Probe agent for the differential kernel tests (test/support/differential-lab.ts).

Runs inside the CLIENT network namespace of a two-namespace lab:

    ip netns exec <client> /usr/bin/python3 probe-agent.py --iface veth-c --host-pid <pid> \
        --host-mac <mac> --host4 10.99.0.1 --host6 fd00:99::1 --barrier-ip 10.99.0.2

<pid> is a process (e.g. `sleep`) inside the HOST namespace: the agent reads that
namespace's SNMP counters from /proc/<pid>/net/snmp and /proc/<pid>/net/snmp6.

Protocol: every stdin line is one JSON probe object or a JSON array of probes; the
agent answers each line with one stdout line holding one result object or an array of
results, in order. At start it prints {"ready": true, ...} once. A probe:

    {"id": 7, "proto": "tcp"|"udp"|"icmp"|"icmp6", "src": "192.0.2.5",
     "sport": 20007, "dport": 22, "flags": "S",      # tcp/udp (flags: scapy letters FSRPAU)
     "type": 8, "code": 0, "icmpId": 7, "hlim": 64}  # icmp/icmp6 (hlim also for icmp6 ND)

A result:

    {"id": 7, "delivered": bool, "reply": "none"|"tcp-rst"|"tcp-synack"|"tcp:<flags>"|
     "icmp:<type>/<code>"|"icmp6:<type>/<code>", "replies": [...every reply seen...],
     "deltas": {"tcp": n, "udp4": n, "udp6": n, "icmp4": n, "icmp6": n},
     "noise": bool, "barrier": bool, "ms": float}

How it decides:
 * delivered: the host's counter for the probe's protocol (Tcp InSegs; Udp InDatagrams +
   NoPorts + InErrors; Icmp InMsgs; Udp6 InDatagrams + NoPorts + InErrors; Icmp6InMsgs)
   grew between a read just before sending and a read after the probe was processed.
   Netfilter's INPUT hook runs before any of these counters is touched, so a DROPped or
   REJECTed packet leaves them alone.
 * processed: right after the probe the agent sends an ARP request for the host's IPv4
   address (the "barrier"). ARP bypasses the IP firewall; the host handles it after the
   probe (same veth backlog queue: the agent pins itself to one CPU), so once the ARP
   reply is back, every reply the probe caused has been received. Without a barrier reply
   within --timeout-ms the result says barrier=false.
 * reply: frames from the host addressed to the probe's source that answer this probe
   (TCP with the probe's ports swapped, ICMP/ICMPv6 errors quoting the probe's source and
   ports or ICMP id, echo/timestamp replies with the probe's id, neighbour adverts).
 * noise: another counter moved, or the probe's counter moved by more than one.
"""
import argparse
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, UDPerror
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6MLReport,
    ICMPv6MLDone,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6NIQueryNOOP,
    ICMPv6Unknown,
    IPerror6,
    IPv6,
)
from scapy.layers.l2 import ARP, Ether

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
ICMP4_ERRORS = {3, 4, 5, 11, 12}
COUNTERS = ('tcp', 'udp4', 'udp6', 'icmp4', 'icmp6')


def read_counters(pid):
    """The host namespace's counters, read through a process living in it."""
    with open('/proc/%d/net/snmp' % pid) as f:
        lines = f.read().splitlines()
    v4 = {}
    for head, vals in zip(lines[0::2], lines[1::2]):
        proto = head.split(':', 1)[0]
        for k, v in zip(head.split()[1:], vals.split()[1:]):
            v4[proto + k] = int(v)
    v6 = {}
    with open('/proc/%d/net/snmp6' % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                v6[parts[0]] = int(parts[1])
    return {
        'tcp': v4['TcpInSegs'],
        'udp4': v4['UdpInDatagrams'] + v4['UdpNoPorts'] + v4['UdpInErrors'],
        'icmp4': v4['IcmpInMsgs'],
        'udp6': v6['Udp6InDatagrams'] + v6['Udp6NoPorts'] + v6['Udp6InErrors'],
        'icmp6': v6['Icmp6InMsgs'],
    }


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(':'))


class Agent:
    def __init__(self, args):
        self.iface = args.iface
        self.pid = args.host_pid
        self.host_mac = args.host_mac
        self.host4 = args.host4
        self.host6 = args.host6
        self.timeout = args.timeout_ms / 1000.0
        with open('/sys/class/net/%s/address' % self.iface) as f:
            self.my_mac = f.read().strip()
        self.host4_b = socket.inet_aton(self.host4)
        self.host6_b = socket.inet_pton(socket.AF_INET6, self.host6)
        self.barrier_ip = args.barrier_ip
        self.barrier_b = socket.inet_aton(self.barrier_ip)
        self.barrier_frame = bytes(
            Ether(src=self.my_mac, dst=self.host_mac)
            / ARP(op=1, hwsrc=self.my_mac, psrc=self.barrier_ip, hwdst='00:00:00:00:00:00', pdst=self.host4)
        )
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((self.iface, ETH_P_ALL))
        self.sock.setblocking(False)
        self.poller = select.poll()
        self.poller.register(self.sock.fileno(), select.POLLIN)

    # ---- building probes -------------------------------------------------------------

    def build(self, p):
        proto = p['proto']
        src = p['src']
        v6 = ':' in src
        eth = Ether(src=self.my_mac, dst=self.host_mac)
        if v6:
            ip = IPv6(src=src, dst=self.host6, hlim=int(p.get('hlim', 64)))
        else:
            ip = IP(src=src, dst=self.host4, ttl=int(p.get('hlim', 64)), id=int(p['id']) & 0xFFFF)
        if proto == 'tcp':
            flags = p.get('flags', 'S')
            ack = 0x12345678 if 'A' in flags else 0
            l4 = TCP(sport=int(p['sport']), dport=int(p['dport']), flags=flags, seq=0x1000 + int(p['id']), ack=ack, window=8192)
            if 'U' in flags:
                l4.urgptr = 1
            return bytes(eth / ip / l4)
        if proto == 'udp':
            return bytes(eth / ip / UDP(sport=int(p['sport']), dport=int(p['dport'])) / b'sfw-probe')
        t = int(p.get('type', 128 if v6 else 8))
        c = int(p.get('code', 0))
        ident = int(p.get('icmpId', p['id'])) & 0xFFFF
        if proto == 'icmp':
            if t in ICMP4_ERRORS:
                # an error quoting a datagram the host supposedly sent to the probe's source
                quoted = IPerror(src=self.host4, dst=src, ttl=64) / UDPerror(sport=33000, dport=ident)
                return bytes(eth / ip / ICMP(type=t, code=c) / quoted)
            if t in (13, 14):
                return bytes(eth / ip / ICMP(type=t, code=c, id=ident, seq=1, ts_ori=1, ts_rx=0, ts_tx=0))
            return bytes(eth / ip / ICMP(type=t, code=c, id=ident, seq=1) / b'sfw-probe')
        # icmp6
        if t == 128:
            l4 = ICMPv6EchoRequest(code=c, id=ident, seq=1, data=b'sfw-probe')
        elif t == 129:
            l4 = ICMPv6EchoReply(code=c, id=ident, seq=1, data=b'sfw-probe')
        elif t < 128:
            quoted = IPerror6(src=self.host6, dst=src, hlim=64) / UDPerror(sport=33000, dport=ident)
            l4 = ICMPv6DestUnreach(type=t, code=c) / quoted
        elif t == 133:
            l4 = ICMPv6ND_RS(code=c)
        elif t == 134:
            l4 = ICMPv6ND_RA(code=c, routerlifetime=0)
        elif t == 135:
            l4 = ICMPv6ND_NS(code=c, tgt=self.host6) / ICMPv6NDOptSrcLLAddr(lladdr=self.my_mac)
        elif t == 136:
            l4 = ICMPv6ND_NA(code=c, tgt=src, R=0, S=0, O=1)
        elif t == 131:
            l4 = ICMPv6MLReport(code=c, mladdr='ff02::1:ff00:1')
        elif t == 132:
            l4 = ICMPv6MLDone(code=c, mladdr='ff02::1:ff00:1')
        elif t == 143:
            # MLDv2 report without records (scapy's class has no code field)
            l4 = ICMPv6Unknown(type=t, code=c, msgbody=b'\x00\x00\x00\x00')
        elif t == 130:
            # MLDv1 query for one group (max response delay 0: no report storm)
            l4 = ICMPv6Unknown(type=t, code=c, msgbody=b'\x00\x00\x00\x00' + socket.inet_pton(socket.AF_INET6, 'ff02::1:ff00:1'))
        elif t == 139:
            # node information NOOP query; conntrack reads its identifier from qtype/flags
            l4 = ICMPv6NIQueryNOOP(code=c, nonce=struct.pack('!Q', ident))
        else:
            l4 = ICMPv6Unknown(type=t, code=c, msgbody=struct.pack('!HH', ident, 1))
        return bytes(eth / ip / l4)

    # ---- classifying frames ----------------------------------------------------------

    def drain(self):
        n = 0
        while n < 10000:
            try:
                self.sock.recv(65535)
            except BlockingIOError:
                return
            n += 1

    def classify(self, frame, p, src_b, v6):
        """'barrier', a reply kind for this probe, ('other', text) or None."""
        if len(frame) < 14:
            return None
        ethertype = struct.unpack('!H', frame[12:14])[0]
        if ethertype == 0x0806:
            # ARP reply from the host to the barrier address
            if len(frame) >= 42 and frame[20:22] == b'\x00\x02' and frame[28:32] == self.host4_b and frame[38:42] == self.barrier_b:
                return 'barrier'
            return None
        if ethertype == 0x0800 and not v6:
            ihl = (frame[14] & 0x0F) * 4
            proto = frame[23]
            if frame[26:30] != self.host4_b or frame[30:34] != src_b:
                return None
            l4 = frame[14 + ihl:]
            return self.classify_l4(proto, l4, p, False)
        if ethertype == 0x86DD and v6:
            nh = frame[20]
            if frame[22:38] != self.host6_b or frame[38:54] != src_b:
                # neighbour adverts to link-local probes come from the host's link-local address
                if frame[38:54] != src_b or nh != 58:
                    return None
            return self.classify_l4(nh, frame[54:], p, True)
        return None

    def classify_l4(self, proto, l4, p, v6):
        sport = int(p.get('sport', 0))
        dport = int(p.get('dport', 0))
        ident = int(p.get('icmpId', p['id'])) & 0xFFFF
        if proto == 6 and len(l4) >= 20:
            s, d = struct.unpack('!HH', l4[0:4])
            if p['proto'] != 'tcp' or s != dport or d != sport:
                return ('other', 'tcp %d->%d' % (s, d))
            flags = l4[13]
            if flags & 0x04:
                return 'tcp-rst'
            if flags & 0x12 == 0x12:
                return 'tcp-synack'
            return 'tcp:%#x' % flags
        icmp_proto = 58 if v6 else 1
        if proto != icmp_proto or len(l4) < 8:
            return ('other', 'proto %d' % proto)
        t, c = l4[0], l4[1]
        kind = ('icmp6:%d/%d' if v6 else 'icmp:%d/%d') % (t, c)
        is_error = t < 128 if v6 else t in ICMP4_ERRORS
        if is_error:
            inner = l4[8:]
            if not self.quotes_probe(inner, p, v6, sport, dport, ident):
                return ('other', kind + ' quoting something else')
            return kind
        if p['proto'] in ('icmp', 'icmp6'):
            if v6 and t == 136:
                return kind
            if v6 and t == 135:
                return ('other', kind + ' (host neighbour solicitation)')
            rid = struct.unpack('!H', l4[4:6])[0]
            if rid == ident:
                return kind
        return ('other', kind)

    def quotes_probe(self, inner, p, v6, sport, dport, ident):
        src = p['src']
        if v6:
            if len(inner) < 40 or inner[8:24] != socket.inet_pton(socket.AF_INET6, src):
                return False
            nh, l4 = inner[6], inner[40:]
        else:
            if len(inner) < 20 or inner[12:16] != socket.inet_aton(src):
                return False
            nh, l4 = inner[9], inner[(inner[0] & 0x0F) * 4:]
        if len(l4) < 8:
            return False
        if nh in (6, 17):
            s, d = struct.unpack('!HH', l4[0:4])
            return s == sport and d == dport
        if nh in (1, 58):
            # echo-like messages carry the id at offset 4; errors/ND are matched by source only
            return struct.unpack('!H', l4[4:6])[0] == ident or p['proto'] in ('icmp', 'icmp6')
        return True

    # ---- running one probe -----------------------------------------------------------

    def run(self, p):
        started = time.monotonic()
        frame = self.build(p)
        v6 = ':' in p['src']
        src_b = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, p['src'])
        self.drain()
        before = read_counters(self.pid)
        self.sock.send(frame)
        self.sock.send(self.barrier_frame)
        replies, others = [], []
        barrier = False
        deadline = started + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if barrier:
                remaining = min(remaining, 0.001)  # brief grace for anything queued behind the barrier
            if remaining <= 0:
                break
            if not self.poller.poll(remaining * 1000):
                if barrier:
                    break
                continue
            for _ in range(256):
                try:
                    data, addr = self.sock.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                kind = self.classify(data, p, src_b, v6)
                if kind is None:
                    continue
                if kind == 'barrier':
                    barrier = True
                elif isinstance(kind, tuple):
                    others.append(kind[1])
                else:
                    replies.append(kind)
        after = read_counters(self.pid)
        deltas = {k: after[k] - before[k] for k in COUNTERS}
        key = {'tcp': 'tcp', 'udp': 'udp6' if v6 else 'udp4', 'icmp': 'icmp4', 'icmp6': 'icmp6'}[p['proto']]
        noise = deltas[key] > 1 or any(deltas[k] != 0 for k in COUNTERS if k != key)
        return {
            'id': p['id'],
            'delivered': deltas[key] > 0,
            'reply': replies[0] if replies else 'none',
            'replies': replies,
            'others': others,
            'deltas': deltas,
            'noise': noise,
            'barrier': barrier,
            'ms': round((time.monotonic() - started) * 1000, 3),
        }

    def run_safe(self, p):
        try:
            return self.run(p)
        except Exception as e:  # report, keep serving
            return {'id': p.get('id'), 'error': '%s: %s' % (type(e).__name__, e)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--iface', required=True)
    ap.add_argument('--host-pid', type=int, required=True)
    ap.add_argument('--host-mac', required=True)
    ap.add_argument('--host4', required=True)
    ap.add_argument('--host6', required=True)
    ap.add_argument('--barrier-ip', required=True, help='IPv4 sender address of the ARP barrier (the host must know it)')
    ap.add_argument('--timeout-ms', type=float, default=40.0, help='longest wait for the barrier per probe')
    ap.add_argument('--cpu', type=int, default=None, help='CPU to pin to (default: the first allowed one)')
    args = ap.parse_args()
    ipaddress.ip_address(args.host4)
    ipaddress.ip_address(args.host6)
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {args.cpu if args.cpu is not None else cpus[0]})
    agent = Agent(args)
    # warm up scapy's builders so the first probe is not slow
    agent.build({'id': 0, 'proto': 'tcp', 'src': '192.0.2.1', 'sport': 1, 'dport': 1})
    out = sys.stdout
    out.write(json.dumps({'ready': True, 'mac': agent.my_mac, 'pid': os.getpid()}) + '\n')
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            out.write(json.dumps({'error': 'bad json: %s' % e}) + '\n')
            out.flush()
            continue
        if isinstance(req, list):
            res = [agent.run_safe(p) for p in req]
        else:
            res = agent.run_safe(req)
        out.write(json.dumps(res) + '\n')
        out.flush()


if __name__ == '__main__':
    main()
