/**
 * A policy whose nftables chains show the naming: new SSH connections meet different rules
 * per family (IPv4 and IPv6 SSH peers: `sfw_new_v4_tcp_p22`, `sfw_new_v6_tcp_p22`), the web
 * port the same rules in both (`sfw_new_tcp_p80`, no family). Shared by the layout's unit
 * test and the apply script's redeploy-after-rename lab.
 */
import { HostPolicy, Peer, Port } from '../../src/core';

export const CHAIN_NAME_POLICY: HostPolicy = {
  name: 'h',
  allowances: [
    { origin: 'h/Web', ports: [Port.HTTP], peers: [Peer.any()] },
    { origin: 'h/Ssh4', ports: [Port.SSH], peers: [Peer.ipv4('192.0.2.0/24')] },
    { origin: 'h/Ssh6', ports: [Port.SSH], peers: [Peer.ipv6('2001:db8::/48')] },
  ],
};
