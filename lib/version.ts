/**
 * The package version, read once from package.json: the one place every bin's
 * `--version` takes it from. Found by walking up from this module, so the
 * source tree (switchboard/) and the build (dist/switchboard/) read the same file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'switchboard' && typeof pkg.version === 'string') return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error(`package.json of switchboard not found above ${fileURLToPath(import.meta.url)}`);
  }
}

export const VERSION: string = readVersion();
