/**
 * One large compile, in its own process so bench/run.ts can stop it at a time limit (used
 * when bench/compile-scale.ts is not there):
 *
 *   ts-node --transpile-only bench/compile-child.ts ports|services iptables|nftables
 *
 * ports: one service of 65,535 distinct TCP ports (1 to 65,535, each its own Port), open to
 * one admin network. services: 5,000 services, each one TCP port (10,000 + i) open to one
 * address of its own. Both backends: the policy compiled and the backend's files rendered.
 * Prints one JSON line: milliseconds of compile + render (module loading excluded).
 */
import { adminAddress } from './contenders';
import { Backend, CompiledRuleset, DefaultAction, HostPolicy, Peer, Port } from '../src/core';

/** The two policies of the compile-scale figures. */
export function compileScalePolicy(kind: 'ports' | 'services'): HostPolicy {
  if (kind === 'ports') {
    return {
      name: 'ports',
      origin: 'bench/ports',
      defaultAction: DefaultAction.DROP,
      allowances: [{ origin: 'bench/ports/All', ports: Array.from({ length: 65535 }, (_, i) => Port.tcp(i + 1)), peers: [Peer.ipv4('192.0.2.0/24')] }],
    };
  }
  return {
    name: 'services',
    origin: 'bench/services',
    defaultAction: DefaultAction.DROP,
    allowances: Array.from({ length: 5000 }, (_, i) => ({ origin: `bench/services/S${i}`, ports: [Port.tcp(10000 + i)], peers: [Peer.ipv4(adminAddress(i))] })),
  };
}

function main(): void {
  const [kind, backend] = process.argv.slice(2);
  if (kind !== 'ports' && kind !== 'services') throw new Error(`unknown case ${kind}: ports or services`);
  if (backend !== Backend.IPTABLES && backend !== Backend.NFTABLES) throw new Error(`unknown backend ${backend}`);
  const policy = compileScalePolicy(kind);
  const started = process.hrtime.bigint();
  const files = CompiledRuleset.compile(policy).files(backend as Backend);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({ ms, bytes: Object.values(files).reduce((n, t) => n + t.length, 0) })}\n`);
}

if (require.main === module) main();
