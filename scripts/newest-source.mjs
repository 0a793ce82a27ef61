// The newest modification time (ms) of the files `npm run build` compiles:
// .ts outside node_modules, dist and test directories, plus the tsconfig files.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', 'test', '.git', '.tap', 'data', 'build', 'test-output', 'coverage']);

export function newestSource(root = ROOT) {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP.has(e.name) && !e.name.startsWith('.')) walk(join(dir, e.name));
        continue;
      }
      if (e.name.endsWith('.ts') || /^tsconfig.*\.json$/.test(e.name) || e.name === 'package.json') newest = Math.max(newest, statSync(join(dir, e.name)).mtimeMs);
    }
  };
  walk(root);
  return newest;
}
