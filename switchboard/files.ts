/** File writes the components share. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Replace `file` with `data` atomically: written to a hidden temp file beside
 * it (same directory, so the rename stays on one filesystem), then renamed
 * over it. Readers see the old contents or the new, never a torn file.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o600): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}
