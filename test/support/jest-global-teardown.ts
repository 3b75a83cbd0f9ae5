import * as fs from 'fs';
import * as path from 'path';

export default async function globalTeardown(): Promise<void> {
  fs.rmSync(path.join(__dirname, '..', '..', 'test-tmp'), { recursive: true, force: true });
}
