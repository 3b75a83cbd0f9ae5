import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { Peer, StatefulHost } from '../../src';
import { isStack, stackOf, terraformLib } from '../../src/synth/terraform-lib';

describe('terraformLib: the CDK module of the app', () => {
  test('is the module whose TerraformStack the scope\'s stack is (here cdktf, or cdktn in the cdktn run)', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    const h = new StatefulHost(stack, 'web', { address: '203.0.113.10' });
    expect(terraformLib(h).TerraformStack).toBe(TerraformStack);
    expect(terraformLib(h).App).toBe(App);
    expect(stackOf(h)).toBe(stack);
    expect(isStack(stack)).toBe(true);
    expect(isStack(h)).toBe(false);
  });

  test('a stack of a copy it cannot load is an error naming the construct path, not a crash at synth', () => {
    // marked as a stack the way cdktf and cdktn mark theirs, but from neither module the library loads
    class ForeignStack extends Construct {
      constructor(scope: Construct, id: string) {
        super(scope, id);
        Object.defineProperty(this, Symbol.for('cdktf/TerraformStack'), { value: true });
      }
    }
    const stack = new ForeignStack(new Construct(undefined as any, 'root'), 'foreign');
    expect(() => new StatefulHost(stack, 'web', { address: '203.0.113.10' }).addAdminAccess('Ops', { peers: [Peer.ipv4('198.51.100.7')] }))
      .toThrow(/root\/foreign\/web.*was built with a copy of cdktf or cdktn that cdktf-stateful-firewall cannot load/);
  });

  test('a construct outside any stack is an error naming its path', () => {
    expect(() => stackOf(new Construct(new Construct(undefined as any, 'root'), 'lonely'))).toThrow(/root\/lonely: not inside a TerraformStack/);
  });
});

describe('one codebase for cdktf and cdktn', () => {
  test('src/ loads cdktf only through terraform-lib (a value import of cdktf would break cdktn apps)', () => {
    const SRC = path.join(__dirname, '..', '..', 'src');
    const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    const offenders = files(SRC)
      .filter((f) => f.endsWith('.ts') && !f.endsWith(path.join('synth', 'terraform-lib.ts')))
      .flatMap((f) => {
        const text = fs.readFileSync(f, 'utf8');
        const hits = [
          ...text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s*'((?:cdktf|cdktn|@cdktf\/|@cdktn\/)[^']*)'/gm),
          ...text.matchAll(/require\(\s*'((?:cdktf|cdktn|@cdktf\/|@cdktn\/)[^']*)'\s*\)/g),
        ];
        return hits.map((m) => `${path.relative(SRC, f)} loads ${m[1]} (use terraformLib(scope) from src/synth/terraform-lib.ts, and 'import type' for types)`);
      });
    expect(offenders).toEqual([]);
  });
});
