import t from 'tap';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REG_ERROR_CODES } from '../errors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

t.test('ERRORS.md lists exactly the codes of domain/errors.ts, with the same meaning', async (t) => {
  const md = readFileSync(`${root}/ERRORS.md`, 'utf8').replace(/\\'/g, "'");
  const rows = [...md.matchAll(/^\| `(REG_[A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
  t.same(Object.fromEntries(rows), { ...REG_ERROR_CODES });
  t.equal(rows.length, Object.keys(REG_ERROR_CODES).length, 'no duplicates');
});

t.test('every code is raised by the source', async (t) => {
  // quay/ too: the quay command prints the component's codes.
  const src = execFileSync(
    'grep',
    ['-rhoE', "'REG_[A-Z_]+'", 'registryd', 'quay', 'dal', 'domain', 'storage', 'api', 'workers', '--include=*.ts', '--exclude-dir=test', '--exclude=errors.ts'],
    { cwd: root, encoding: 'utf8' },
  );
  const used = new Set(
    src
      .split('\n')
      .filter(Boolean)
      .map((s) => s.replace(/'/g, '')),
  );
  for (const code of Object.keys(REG_ERROR_CODES)) t.ok(used.has(code), `${code} is raised somewhere`);
});
