// jest matchers for firewall intent. Load them once in a test file or in jest's
// `setupFilesAfterEach`:
//
//   import 'cdktf-stateful-firewall/lib/testing/jest';
//   expect(host).toAllow(Packet.tcp({ from: '10.9.8.8', port: 22 }));
//
// The types work with the global `expect` (@types/jest) and with
// `import { expect } from '@jest/globals'`.
//
// `host` may be a StatefulHost (its backend is used) or a CompiledRuleset (iptables).
import { Backend } from '../core/backends/backend';
import { DEFAULT_BACKEND } from '../core/backends/registry';
import { CompiledRuleset } from '../core/compiled-ruleset';
import { RejectWith } from '../core/ir/reject-with';
import { Verdict } from '../core/ir/verdict';
import { Packet } from '../core/simulate/packet';
import { SimulationResult } from '../core/simulate/simulator';

/** Anything the matchers accept: a compiled ruleset, or a host exposing one. */
type FirewallSubject = CompiledRuleset | { readonly ruleset: CompiledRuleset; readonly backend?: Backend; readonly node?: { readonly path: string } };

/** The matchers' signatures, for both the global `expect` and `@jest/globals`' `expect`. */
interface FirewallMatchers<R> {
  /** The firewall accepts the packet. */
  toAllow(packet: Packet): R;
  /** The firewall rejects the packet (optionally: with this answer). */
  toReject(packet: Packet, rejectWith?: RejectWith): R;
  /** The firewall drops the packet silently. */
  toDrop(packet: Packet): R;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    // the global `expect` (@types/jest)
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Matchers<R> extends FirewallMatchers<R> {}
  }
}

// `import { expect } from '@jest/globals'` (the `expect` package's own types)
declare module 'expect' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
  interface Matchers<R extends void | Promise<void>, T = unknown> extends FirewallMatchers<R> {}
}

function resolve(received: FirewallSubject): { ruleset: CompiledRuleset; backend: Backend; name: string } {
  if (received instanceof CompiledRuleset) return { ruleset: received, backend: DEFAULT_BACKEND, name: received.hostName };
  if (received && typeof received === 'object' && 'ruleset' in received) {
    const ruleset = received.ruleset;
    return { ruleset, backend: received.backend ?? DEFAULT_BACKEND, name: `${ruleset.hostName}${received.node ? ` (${received.node.path})` : ''}` };
  }
  throw new Error('expected a StatefulHost or a CompiledRuleset');
}

/**
 * A host (or ruleset) with the addresses Terraform knows only at deploy time bound to
 * concrete ones, for the matchers: `bindings` maps a host's name (or a token peer's
 * declaration id) to its addresses.
 *
 * @example
 * expect(bindAddresses(db, { app: ['10.0.1.5'] })).toAllow(Packet.tcp({ from: '10.0.1.5', port: 5432 }));
 */
export function bindAddresses(received: FirewallSubject, bindings: { [label: string]: string[] }): FirewallSubject {
  const { ruleset, backend } = resolve(received);
  const bound = ruleset.bindAddresses(bindings);
  return received instanceof CompiledRuleset ? bound : { ruleset: bound, backend, node: received.node };
}

/** A hint when the ruleset waits for addresses nobody bound. */
function unboundHint(ruleset: CompiledRuleset): string {
  const unbound = (ruleset.model.sets ?? []).filter((s) => s.lateMembers && s.elements.length === 0);
  if (unbound.length === 0) return '';
  const labels = [...new Set(unbound.flatMap((s) => s.lateMembers!.map((m) => m.label)))].sort();
  return `\nnote: the sets of ${labels.join(', ')} hold addresses known only at deploy and are empty here: bind them with bindAddresses(host, { ${labels[0]}: ['...'] })`;
}

const PAST: Record<string, string> = { accept: 'allowed', drop: 'dropped', reject: 'rejected' };

function outcome(r: SimulationResult): string {
  const how = r.verdict === Verdict.REJECT ? ` (${r.rejectWith})` : '';
  const by = r.rule ? ` by ${r.chain} rule from ${r.origins.join(', ') || 'the library'}` : ` by the ${r.chain} policy`;
  return `${PAST[r.verdict] ?? r.verdict}${how}${by}, after ${r.rulesEvaluated} rules`;
}

function check(received: FirewallSubject, packet: Packet, want: Verdict, wantReject: RejectWith | undefined, negated: boolean) {
  const { ruleset, backend, name } = resolve(received);
  // without types (plain JavaScript, a cast) a string would simulate as an empty packet
  if (!(packet instanceof Packet)) throw new Error(`the firewall matchers need a Packet, e.g. Packet.tcp({ from: '10.9.8.8', port: 22 }), got ${typeof packet} ${String(packet)}`);
  if (wantReject !== undefined && !Object.values(RejectWith).includes(wantReject)) {
    throw new Error(`toReject's answer must be a RejectWith, e.g. RejectWith.TCP_RESET, got ${String(wantReject)}`);
  }
  const result = ruleset.simulate(packet, backend);
  const pass = result.verdict === want && (wantReject === undefined || result.rejectWith === wantReject);
  const wanted = `${want === Verdict.ACCEPT ? 'allow' : want === Verdict.DROP ? 'drop' : 'reject'}${wantReject ? ` (${wantReject})` : ''}`;
  return {
    pass,
    message: () =>
      `expected ${name} (${backend}) ${negated || pass ? 'not ' : ''}to ${wanted} ${packet}\n` +
      `but it was ${outcome(result)}\n` +
      `trace:\n${result.trace.map((l) => `  ${l}`).join('\n')}${unboundHint(ruleset)}`,
  };
}

/** The matchers, for `expect.extend(firewallMatchers)` when auto-registration is not wanted. */
export const firewallMatchers = {
  toAllow(this: { isNot: boolean }, received: FirewallSubject, packet: Packet) {
    return check(received, packet, Verdict.ACCEPT, undefined, this.isNot);
  },
  toReject(this: { isNot: boolean }, received: FirewallSubject, packet: Packet, rejectWith?: RejectWith) {
    return check(received, packet, Verdict.REJECT, rejectWith, this.isNot);
  },
  toDrop(this: { isNot: boolean }, received: FirewallSubject, packet: Packet) {
    return check(received, packet, Verdict.DROP, undefined, this.isNot);
  },
};

const jestExpect = (globalThis as { expect?: { extend(matchers: object): void } }).expect;
if (jestExpect) jestExpect.extend(firewallMatchers);
