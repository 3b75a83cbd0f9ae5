import * as fs from 'fs';
import * as path from 'path';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.SFW_TEST_TMPDIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  // remove test-tmp/ itself once no other run is using it
  const root = path.join(__dirname, '..', '..', 'test-tmp');
  if (fs.existsSync(root) && fs.readdirSync(root).length === 0) fs.rmdirSync(root);
}
