/** File writes the components share. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/**
 * Replace `file` with `data` atomically: written to a hidden temp file beside
 * it (same directory, so the rename stays on one filesystem), then renamed
 * over it. Readers see the old contents or the new, never a torn file.
 *
 * The temp file is new (O_EXCL, so never a link or file someone planted: a
 * directory another user can write, such as STATE_DIR, may hold anything) and
 * its name unguessable; `mode` is then the mode of what is written.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o600): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    renameSync(tmp, file);
  } catch (e) {
    // Ours to remove, unless the name was taken (then it is not ours).
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(tmp, { force: true });
    throw e;
  }
}
