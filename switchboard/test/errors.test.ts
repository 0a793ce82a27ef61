import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../errors.js';

t.test('ERRORS.md lists exactly the codes of switchboard/errors.ts, with the same meaning', async (t) => {
  const md = readFileSync(fileURLToPath(new URL('../../ERRORS.md', import.meta.url)), 'utf8');
  const rows = [...md.matchAll(/^\| `(SWB_[A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
  t.same(Object.fromEntries(rows), { ...ERROR_CODES });
  t.equal(rows.length, Object.keys(ERROR_CODES).length, 'no duplicates in ERRORS.md');
});

t.test('every code is used by the source', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const src = execFileSync('grep', ['-rhoE', "'SWB_[A-Z_]+'", 'switchboard', 'owner-maps', '--include=*.ts', '--exclude-dir=test'], { cwd: root, encoding: 'utf8' });
  const used = new Set(
    src
      .split('\n')
      .filter(Boolean)
      .map((s) => s.replace(/'/g, '')),
  );
  for (const code of Object.keys(ERROR_CODES)) t.ok(used.has(code), `${code} is raised somewhere`);
});
