// The matchers with `import { expect } from '@jest/globals'` (the `expect` package's types, not
// @types/jest's global `expect`): type-checked by `tsc -p test/tsconfig.json` and run by jest.
// @jest/globals is installed with jest (not a devDependency of its own here)
// eslint-disable-next-line import/no-extraneous-dependencies
import { describe, expect, test } from '@jest/globals';
import { TerraformStack, Testing } from 'cdktf';
import { Backend, CompiledRuleset, Packet, Peer, Port, RejectWith, StatefulHost, TcpFlag } from '../../src';
import '../../src/testing/jest';

describe.each([Backend.IPTABLES, Backend.NFTABLES])('firewall matchers with @jest/globals (%s)', (backend) => {
  const h = new StatefulHost(new TerraformStack(Testing.app(), 'stack'), 'web', { address: '192.0.2.1', backend });
  h.addService('Web', { ports: [Port.HTTPS] });
  h.addAdminAccess('Ops', { peers: [Peer.ipv4('10.9.8.8')] });

  test('toAllow / toReject / toDrop / not, on a host and on a compiled ruleset', () => {
    expect(h).toAllow(Packet.tcp({ from: '203.0.113.9', port: 443 }));
    expect(h).toReject(Packet.tcp({ from: '10.9.8.9', port: 22 }), RejectWith.TCP_RESET);
    expect(h).toDrop(Packet.tcp({ from: '10.9.8.8', port: 22, flags: [TcpFlag.SYN, TcpFlag.ACK] }));
    expect(h).not.toAllow(Packet.tcp({ from: '10.9.8.9', port: 22 }));
    const ruleset: CompiledRuleset = h.ruleset;
    expect(ruleset).toAllow(Packet.tcp({ from: '10.9.8.8', port: 22 }));
  });

  test('a failing expectation throws with the verdict', () => {
    expect(() => expect(h).toAllow(Packet.tcp({ from: '10.9.8.9', port: 22 }))).toThrow(/but it was rejected \(tcp-reset\)/);
  });

  test('the matchers are typed: a wrong argument is a type error', () => {
    // @ts-expect-error toAllow takes a Packet
    expect(() => expect(h).toAllow('tcp 10.9.8.8 -> :22')).toThrow("the firewall matchers need a Packet, e.g. Packet.tcp({ from: '10.9.8.8', port: 22 }), got string tcp 10.9.8.8 -> :22");
    // @ts-expect-error toReject's second argument is a RejectWith
    expect(() => expect(h).toReject(Packet.tcp({ from: '10.9.8.9', port: 22 }), 'tcp-reset-please')).toThrow("toReject's answer must be a RejectWith, e.g. RejectWith.TCP_RESET, got tcp-reset-please");
  });
});
