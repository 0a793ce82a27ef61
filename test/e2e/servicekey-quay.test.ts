/**
 * servicekey against real Quay: the instance key Quay's boot.py registered
 * (its kid in Quay's conf directory) is renewed by Quay's own
 * ServiceKeyWorker._refresh_service_key and by our `servicekey` program,
 * each from the same starting row and on the same fixed clock: the row ends
 * the same, byte for byte (SQLite keeps the timestamp as text, so the format
 * counts too). The UPDATE itself is covered on both dialects by
 * workers/test/quota-totals.test.ts. Needs real Quay: fails, never skips.
 */
import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openDal } from '../../dal/index.js';
import { serviceKeyProgram } from '../../workers/programs/schedulers.js';
import { startQuayPython } from '../lib/quay-python.js';

t.setTimeout(300_000);

// With a fraction: Python writes none when the microseconds are 0, and Quay's clock never is that round.
const NOW = Date.UTC(2026, 11, 4, 12, 0, 0, 123);

const pyRefresh = `
import datetime as _dt
class FixedDatetime(_dt.datetime):
    @classmethod
    def utcnow(cls):
        return _dt.datetime(2026, 12, 4, 12, 0, 0, 123000)
import workers.servicekeyworker.servicekeyworker as skw
skw.datetime = FixedDatetime
skw.ServiceKeyWorker()._refresh_service_key()
print("refreshed")
`;

t.test("Quay's servicekeyworker and ours leave the instance key's row the same", async (t) => {
  const quay = await startQuayPython(t, { start: false });
  const kidFile = join(quay.run, 'conf', 'quay.kid');
  const kid = readFileSync(kidFile, 'utf8').trim();
  const db = new Database(quay.database);
  t.teardown(() => db.close());
  const row = (): Record<string, unknown> => db.prepare('SELECT * FROM servicekey WHERE kid = ?').get(kid) as Record<string, unknown>;
  const reset = (): void => void db.prepare("UPDATE servicekey SET expiration_date = '2026-12-04 11:00:00' WHERE kid = ?").run(kid);
  t.ok(row(), "boot.py registered Quay's instance key");

  // Quay's config: INSTANCE_SERVICE_KEY_EXPIRATION 5256000 minutes (ten years).
  reset();
  t.match(await quay.python(pyRefresh), /refreshed/);
  const quays = row();

  reset();
  const dal = await openDal({ databaseUri: null, databaseFile: quay.database, storageLocation: 'local_us' });
  t.teardown(() => dal.close());
  const program = serviceKeyProgram({
    keys: dal.serviceKeys,
    quayConfig: { INSTANCE_SERVICE_KEY_KID_LOCATION: kidFile, INSTANCE_SERVICE_KEY_EXPIRATION: 5_256_000 },
    now: () => NOW,
  });
  t.match(await program.run(() => true), { kid });
  t.same(row(), quays, 'the same row after either renewal');
  t.match(String(quays.expiration_date), /^2036-12-0\d 12:00:00/, 'ten years on');
});
