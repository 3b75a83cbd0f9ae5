import { CompiledRuleset, DefaultAction, Peer, Port } from '../../../src/core';
import { DiffHost, DiffRow, formatPeers, formatPorts } from '../../../src/core/diff/semantic-diff';
import { Allowance, HostPolicy } from '../../../src/core/policy/host-policy';

export function host(policy: HostPolicy, backend = 'iptables', stack = 'app'): DiffHost {
  return { stack, hostName: policy.name, path: `${stack}/${policy.name}`, backend, model: CompiledRuleset.compile(policy).model };
}

/** A row as one line: kind family direction peers ports state before -> after. */
export function rowLine(r: DiffRow): string {
  return `${r.kind} ${r.family} ${r.direction} ${formatPeers(r.peers)} ${formatPorts(r.protocol, r.ports)} ${r.state}: ${r.before} -> ${r.after}`;
}

export const ssh = (peers: Peer[]): Allowance => ({ origin: 'app/web/Ssh', ports: [Port.tcp(22)], peers });
export const web = (ports: Port[]): Allowance => ({ origin: 'app/web/Https', ports, peers: [Peer.anyIpv4(), Peer.anyIpv6()] });

export const BASE: HostPolicy = {
  name: 'web',
  allowances: [ssh([Peer.ipv4('10.0.0.0/16'), Peer.ipv6('2001:db8:1::/48')]), web([Port.tcp(443), Port.tcp(80)])],
  outbound: { allowances: [{ origin: 'app/web/Dns', ports: [Port.udp(53), Port.tcp(53)], peers: [Peer.ipv4('192.0.2.53/32')] }], defaultAction: DefaultAction.REJECT },
};
