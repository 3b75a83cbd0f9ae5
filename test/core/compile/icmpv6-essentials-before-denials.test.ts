import { ChainHook, ConnectionState, IpFamily, Protocol, Rule, Verdict } from '../../../src/core';
import { compileHostPolicy } from '../../../src/core/compile/compile';
import { DENY_MATRIX, denyPolicy } from '../../support/deny-cases';

// Issue 14: a denial used to sit before the ICMPv6 neighbour discovery and MLD accepts, so
// a denied address (or, for a denial of all IPv6, every neighbour) could no longer resolve
// the host or be resolved by it. The essentials now come right after the INVALID drop.

const isNd = (r: Rule) => r.comment === 'icmpv6 neighbour discovery';
const isMld = (r: Rule) => r.comment === 'icmpv6 multicast listener discovery';

describe('the ICMPv6 essentials come before the denials', () => {
  test.each(DENY_MATRIX)('input: %s denied, %s', (kind, _name, features) => {
    const model = compileHostPolicy(denyPolicy(kind, features));
    const input = model.tables[0].chains.find((c) => c.hook === ChainHook.INPUT)!;
    const rules = input.rules;
    // established, loopback, invalid, then the essentials
    expect(rules[2]).toMatchObject({ match: { states: [ConnectionState.INVALID] }, verdict: Verdict.DROP });
    expect(rules[3]).toMatchObject({
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, icmpTypes: [133, 134, 135, 136], hopLimit: 255 },
      verdict: Verdict.ACCEPT,
      comment: 'icmpv6 neighbour discovery',
    });
    expect(rules[3].match.states).toBeUndefined();
    expect(rules[3].match.source).toBeUndefined();
    expect(rules[4]).toMatchObject({
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, icmpTypes: [130, 131, 132, 143], source: { elements: ['fe80::/10'] } },
      verdict: Verdict.ACCEPT,
      comment: 'icmpv6 multicast listener discovery',
    });
    // nothing after them accepts ND again: they appear once
    expect(rules.filter(isNd)).toHaveLength(1);
    expect(rules.filter(isMld)).toHaveLength(1);
    // every rule that drops or rejects a new packet before the openings comes after them
    const denied = rules.map((r, i) => [r, i] as const).filter(([r]) => r.comment === 'denied');
    expect(denied.length).toBeGreaterThanOrEqual(features.portDenial ? 2 : 1);
    for (const [, i] of denied) expect(i).toBeGreaterThan(4);
    const firstDrop = rules.findIndex((r, i) => i > 2 && (r.verdict === Verdict.DROP || r.verdict === Verdict.REJECT));
    expect(firstDrop).toBeGreaterThan(4);
    // the whole-traffic denial of IPv6: a set for the long list, no source match for all of IPv6
    const v6 = denied.map(([r]) => r).find((r) => r.match.family === IpFamily.IPV6 && r.match.protocol === undefined)!;
    if (kind === 'long list') expect(v6.match.source?.set).toMatch(/^sfw-6i-/);
    else if (kind === 'any IPv6') expect(v6.match.source).toBeUndefined();
    else expect(v6.match.source?.elements).toEqual([kind === 'address' ? '2001:db8::2/128' : '2001:db8::/64']);
  });

  test.each(DENY_MATRIX.filter(([, , f]) => f.outbound))('output: %s denied, %s', (kind, _name, features) => {
    const model = compileHostPolicy(denyPolicy(kind, features));
    const output = model.tables[0].chains.find((c) => c.hook === ChainHook.OUTPUT)!;
    const rules = output.rules;
    expect(rules[2]).toMatchObject({ match: { states: [ConnectionState.INVALID] }, verdict: Verdict.DROP });
    expect(rules[3]).toMatchObject({
      match: { family: IpFamily.IPV6, protocol: Protocol.ICMPV6, icmpTypes: [130, 131, 132, 133, 134, 135, 136, 143] },
      verdict: Verdict.ACCEPT,
    });
    const firstDecline = rules.findIndex((r, i) => i > 2 && (r.verdict === Verdict.DROP || r.verdict === Verdict.REJECT));
    expect(firstDecline).toBeGreaterThan(3);
    // the declared destination follows
    expect(rules.findIndex((r) => r.origins.includes('lab/nd/ToClient'))).toBeGreaterThan(3);
  });

  test('without denials the essentials keep the same place (one order for every host)', () => {
    const model = compileHostPolicy({ ...denyPolicy('address'), denials: [] });
    const rules = model.tables[0].chains[0].rules;
    expect([isNd(rules[3]), isMld(rules[4])]).toEqual([true, true]);
  });
});
