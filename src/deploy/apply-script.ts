import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** Where the on-host apply script ships in the package (same depth from src/ and lib/). */
export const APPLY_SCRIPT_PATH = path.join(__dirname, '..', '..', 'assets', 'sfw-apply.sh');

let script: { text: string; sha256: string } | undefined;

/** The on-host apply script (POSIX sh), read once per process (it ships with the package). */
export function applyScript(): string {
  return loaded().text;
}

/** sha256 of the apply script (hashed once per process, not once per host). */
export function applyScriptSha256(): string {
  return loaded().sha256;
}

function loaded(): { text: string; sha256: string } {
  if (!script) {
    const text = fs.readFileSync(APPLY_SCRIPT_PATH, 'utf8');
    script = { text, sha256: sha256(text) };
  }
  return script;
}

/** sha256 hex digest of a text. */
export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
