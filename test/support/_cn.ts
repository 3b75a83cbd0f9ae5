import { CompiledRuleset, Peer, Port } from '../../src/core';
import { CHAIN_NAME_POLICY } from './chain-name-policy';
console.log(CompiledRuleset.compile(CHAIN_NAME_POLICY).toNftables());
console.log(CompiledRuleset.compile({
      name: 'h',
      allowances: [
        { origin: 'h/Web', ports: [Port.HTTP, Port.HTTPS], peers: [Peer.any()] },
        { origin: 'h/Ssh', ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.0/24')] },
        { origin: 'h/Db', ports: [Port.POSTGRES], peers: [Peer.ipv4('198.51.100.0/24')] },
        { origin: 'h/Alt', ports: [Port.tcpRange(8000, 8010)], peers: [Peer.ipv4('203.0.113.0/24')] },
      ],
    }).toNftables().split('\n').filter((l) => l.includes('vmap') || l.includes('chain ')).join('\n'));
