import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** Where the on-host apply script ships in the package (same depth from src/ and lib/). */
export const APPLY_SCRIPT_PATH = path.join(__dirname, '..', '..', 'assets', 'sfw-apply.sh');

/** The on-host apply script (POSIX sh). */
export function applyScript(): string {
  return fs.readFileSync(APPLY_SCRIPT_PATH, 'utf8');
}

/** sha256 hex digest of a text. */
export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
