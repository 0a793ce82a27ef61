/** Stale-upload cleanup (Quay's blobuploadcleanupworker job): old sessions go, young ones and blobs stay. */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../lib/log.js';
import { openGoSide as openRegistry } from '../../../quay/runtime.js';
import { tempDir } from '../../../test/lib/proc.js';
import { Readable } from 'node:stream';

// One subtest: its teardown (closing the database) waits for every step, whatever the machine's load.
t.test('old sessions go, young ones stay', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const dataDir = tempDir(t, 'registryd-cleanup-');
  const reg = await openRegistry({ dataDir, log: createLogger({}, { write: () => {} }), now: () => now });
  t.teardown(() => reg.close());

  const repo = await reg.store.createRepository('acme', 'app', 'public', now);
  const old = await reg.uploads.start(repo);
  await reg.uploads.chunk(repo, old.uuid, { body: Readable.from([Buffer.from('old bytes')]), range: null });
  now += 3 * 24 * 3600 * 1000;
  const young = await reg.uploads.start(repo);
  const uploadFile = (uuid: string): string => join(dataDir, 'storage', 'uploads', uuid);

  t.ok(existsSync(uploadFile(old.uuid)));
  const removed = await reg.uploads.cleanupStale(2 * 24 * 3600 * 1000);
  t.equal(removed, 1, 'one upload older than two days');
  t.notOk(existsSync(uploadFile(old.uuid)), 'its storage object is gone');
  t.equal(await reg.store.upload(old.uuid), null, 'its blobupload row is gone');
  t.ok(existsSync(uploadFile(young.uuid)), 'the young upload stays');
  t.not(await reg.store.upload(young.uuid), null);
  t.equal(await reg.uploads.cleanupStale(2 * 24 * 3600 * 1000), 0, 'nothing left to clean');
});
