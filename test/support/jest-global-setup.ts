import * as fs from 'fs';
import * as path from 'path';

// cdktf's Testing helpers create cdktf.outdir.* folders under os.tmpdir(): every jest run
// points TMPDIR at its own folder under test-tmp/, which globalTeardown removes.
export default async function globalSetup(): Promise<void> {
  const dir = path.join(__dirname, '..', '..', 'test-tmp', `run-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  process.env.SFW_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
}
