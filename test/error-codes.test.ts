/**
 * Every error code a bin can print is in a table: the codes written in the
 * source of all three commands (switchboard, quay, registryd) and the code
 * they share are each in switchboard/errors.ts or domain/errors.ts, whose
 * own tests keep ERRORS.md equal to them.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ROOT } from './lib/proc.js';
import { ERROR_CODES } from '../switchboard/errors.js';
import { REG_ERROR_CODES } from '../domain/errors.js';

/** Names that stand for "a code" in doc comments, not codes. */
const PLACEHOLDERS = new Set(['SWB_CODE', 'REG_CODE']);

t.test('every SWB_/REG_ code in the source of the bins is in a table and in ERRORS.md', async (t) => {
  const hits = execFileSync(
    'grep',
    ['-rhoE', '[[\'"`](SWB|REG)_[A-Z0-9_]*[A-Z0-9][]\'"`]', 'switchboard', 'owner-maps', 'registryd', 'quay', 'bin', '--include=*.ts', '--include=*.js', '--exclude-dir=test'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const used = new Set(
    hits
      .split('\n')
      .filter(Boolean)
      .map((h) => h.slice(1, -1))
      .filter((c) => !PLACEHOLDERS.has(c)),
  );
  t.ok(used.has('SWB_CLI_USAGE') && used.has('REG_CLI_USAGE'), 'the scan finds codes');
  const md = readFileSync(`${ROOT}/ERRORS.md`, 'utf8');
  for (const code of [...used].sort()) {
    t.ok(Object.hasOwn(ERROR_CODES, code) || Object.hasOwn(REG_ERROR_CODES, code), `${code} is in switchboard/errors.ts or domain/errors.ts`);
    t.match(md, `| \`${code}\` |`, `${code} is in ERRORS.md`);
  }
});
