import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explainOutput } from '../../src/cli/explain';
import { CompiledRuleset, Peer, Port } from '../../src/core';

describe('explain of a synth output', () => {
  const ruleset = CompiledRuleset.compile({ name: 'web', origin: 's/web', allowances: [{ origin: 's/web/Ssh', ports: [Port.SSH], peers: [Peer.any()] }] });

  test('explain of a synth output whose model names an unknown backend fails instead of naming both', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sfw-backend-'));
    try {
      const dir = path.join(out, 'stacks', 's', 'firewall', 'web');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ hostName: 'web', path: 's/web', backend: 'pf', model: ruleset.model }));
      expect(() => explainOutput(out)).toThrow("unknown backend 'pf'");
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ hostName: 'web', path: 's/web', backend: 'nftables', model: ruleset.model }));
      expect(explainOutput(out)).toContain('[nftables chain input (hook input)]');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

});
