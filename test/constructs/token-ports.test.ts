import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { Port, StatefulHost } from '../../src';

// Ports lay the ruleset out (port dispatch, merged ranges, sets): they must be known at
// synth. A number token (a variable's numberValue, a resource's number attribute) is said
// to be one, with the construct path, instead of "port -8.1e+298 is out of range".
describe('a Terraform token as a port', () => {
  const setup = () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const token = new TerraformVariable(stack, 'port', { type: 'number' }).numberValue;
    const host = new StatefulHost(stack, 'web', { address: '192.0.2.10' });
    return { token, host };
  };
  const TOKEN_MESSAGE = /is a Terraform token \(a variable or a resource attribute\), known only at deploy time: ports must be known at synth/;

  test.each([
    ['Port.tcp', (t: number) => Port.tcp(t), 'tcp port'],
    ['Port.udp', (t: number) => Port.udp(t), 'udp port'],
    ['Port.tcpRange (first)', (t: number) => Port.tcpRange(t, 2000), 'tcp port'],
    ['Port.udpRange (last)', (t: number) => Port.udpRange(1000, t), 'udp port'],
    ['Port.icmpType', (t: number) => Port.icmpType(t), 'icmp type'],
    ['Port.icmpv6TypeAndCode (code)', (t: number) => Port.icmpv6TypeAndCode(128, t), 'icmpv6 code'],
  ])('%s: one error naming the construct path', (_name, make, what) => {
    const { token, host } = setup();
    expect(() => host.addService('Api', { ports: [make(token)] })).toThrow(new RegExp(`^s/web/Api: ${what} ${TOKEN_MESSAGE.source}`));
  });

  test('numbers that are not tokens keep their own messages (a huge or negative number is not a token)', () => {
    const { host } = setup();
    expect(() => host.addService('A', { ports: [Port.tcp(-8.1e298)] })).toThrow('s/web/A: tcp port -8.1e+298 is out of range: use a port between 1 and 65535');
    expect(() => host.addService('B', { ports: [Port.tcp(70000)] })).toThrow('s/web/B: tcp port 70000 is out of range');
    expect(Port.tcp(22).problem).toBeUndefined();
  });
});
