import * as fs from 'fs';
import * as path from 'path';

// Set by globalSetup (inherited by workers); a file run without it gets a folder of its own.
const dir = process.env.SFW_TEST_TMPDIR ?? path.join(__dirname, '..', '..', 'test-tmp', `run-${process.pid}`);
fs.mkdirSync(dir, { recursive: true });
process.env.TMPDIR = dir;
