import * as fs from 'fs';
import * as path from 'path';

// cdktf's Testing helpers create cdktf.outdir.* folders under os.tmpdir();
// keep them inside the repository's test-tmp/, which globalTeardown removes.
const dir = path.join(__dirname, '..', '..', 'test-tmp');
fs.mkdirSync(dir, { recursive: true });
process.env.TMPDIR = dir;
