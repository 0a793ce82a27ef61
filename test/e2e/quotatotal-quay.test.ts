/**
 * The quota backfill proven against real Quay, on SQLite and PostgreSQL:
 * Quay's initdb content (its namespaces, repositories, manifests and blobs)
 * with every namespace and repository total removed, except a few left in
 * the other states the backfill meets, set with Quay's own model code: a
 * total handed back for a new count (reset_namespace_backfill,
 * reset_backfill), a complete one, a count in progress; plus a repository
 * marked for deletion and a disabled user. Then two copies: Quay's
 * QuotaTotalWorker.backfill on one, our quotatotalworker on the other, both
 * on the same fixed clock. The databases must end equal, row for row (the
 * totals compared by namespace and repository, not by their row ids).
 * Needs real Quay and PostgreSQL: fails, never skips.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../../lib/log.js';
import { quotaTotalProgram } from '../../workers/programs/schedulers.js';
import { startQuayPython } from '../lib/quay-python.js';
import { diffSnapshots, type Snapshot } from '../lib/db-diff.js';
import { copyQuayDatabase, openOursDal, quayAndOursReaders } from '../lib/quay-copies.js';

t.setTimeout(900_000);

const quiet = createLogger({ test: 'quotatotal-quay' }, { level: 'warn' });

const PY_SETUP = `
import json, time
from app import app, repository_gc_queue
from data import model
from data.database import QuotaNamespaceSize, QuotaRepositorySize, Repository, User
from data.model import quota

NOW = int(time.time() * 1000)
QuotaRepositorySize.delete().execute()
QuotaNamespaceSize.delete().execute()
devtable = model.user.get_user("devtable")
buynlarge = model.user.get_namespace_user("buynlarge")
public = model.user.get_user("public")
# buynlarge counted, then handed back with one of its repositories
quota.run_backfill(buynlarge.id)
some = Repository.select().where(Repository.namespace_user == buynlarge.id).order_by(Repository.id).first()
quota.reset_backfill(some.id)
# public: complete; freshuser: a count in progress
quota.run_backfill(public.id)
QuotaNamespaceSize.insert(namespace_user=model.user.get_user("freshuser").id, size_bytes=0, backfill_start_ms=NOW - 1000, backfill_complete=False).execute()
# a repository of devtable marked for deletion, and a disabled user
model.repository.mark_repository_for_deletion("devtable", "simple", repository_gc_queue)
User.update(enabled=False).where(User.username == "reader").execute()
print(json.dumps({"now": NOW, "buynlarge": buynlarge.id, "devtable": devtable.id}))
`;

const pyBackfill = (now: number): string => `
NOW = ${now}
import data.model.quota
data.model.quota.get_epoch_timestamp_ms = lambda: NOW
from workers.quotatotalworker import QuotaTotalWorker
QuotaTotalWorker().backfill()
print("backfilled")
`;

/**
 * The totals keyed by what they count (the namespace, the repository), not by
 * their row ids: Quay picks the namespaces in the database's order (no ORDER
 * BY; on PostgreSQL, the heap's), ours by id, so the rows are the same but
 * may be inserted in another order.
 */
function byNaturalKey(s: Snapshot): Snapshot {
  const out: Snapshot = new Map(s);
  for (const [table, key] of [
    ['quotanamespacesize', 'namespace_user_id'],
    ['quotarepositorysize', 'repository_id'],
  ] as const) {
    const rows = s.get(table);
    if (rows) out.set(table, new Map([...rows.values()].map(({ id: _id, ...rest }) => [String(rest[key]), rest])));
  }
  return out;
}

for (const database of ['sqlite', 'postgres'] as const) {
  t.test(`${database}: Quay's quota backfill and ours on two copies of the same data end equal`, async (t) => {
    const quay = await startQuayPython(t, { database, start: false });
    const made = JSON.parse((await quay.python(PY_SETUP, { timeoutMs: 300_000 })).trim().split('\n').pop()!) as { now: number; buynlarge: number; devtable: number };
    const NOW = made.now + 5_000;

    const oursDb = await copyQuayDatabase(t, quay, database, 'qt');

    t.match(await quay.python(pyBackfill(NOW), { timeoutMs: 300_000 }), /backfilled/, "Quay's worker ran");

    const readers = await quayAndOursReaders(t, database, quay.database, oursDb);
    const before = await readers[1]!.snapshot();

    const dal = await openOursDal(t, database, oursDb);
    const quayConfig = { ...(parseYaml(readFileSync(quay.configFile, 'utf8')) as Record<string, unknown>), QUOTA_TOTAL_DELAY_SECONDS: null };
    const did = await quotaTotalProgram({ sql: dal.sql, log: quiet, quayConfig, now: () => NOW }).run(() => true);
    t.ok(Number(did?.namespaces) > 1 && Number(did?.repositories) > 1, `ours counted totals: ${JSON.stringify(did)}`);

    const [quaySnap, oursSnap] = [await readers[0]!.snapshot(), await readers[1]!.snapshot()];
    t.same(
      diffSnapshots(byNaturalKey(quaySnap), byNaturalKey(oursSnap)).map((d) => ({ table: d.table, quay_only: d.deleted, ours_only: d.inserted, changed: d.updated })),
      [],
      'the databases are equal after both backfills',
    );
    const did2 = new Map(diffSnapshots(before, oursSnap).map((d) => [d.table, d]));
    t.ok((did2.get('quotanamespacesize')?.inserted.length ?? 0) > 1, 'namespace totals were added');
    t.ok((did2.get('quotanamespacesize')?.updated.length ?? 0) === 1, 'the one handed back was counted again');
    t.ok((did2.get('quotarepositorysize')?.inserted.length ?? 0) > 1, 'repository totals were added');
    const q = readers[1]!;
    const [dev] = await q.rows(`SELECT size_bytes, backfill_complete FROM quotanamespacesize WHERE namespace_user_id = ${q.p(1)}`, [made.devtable]);
    t.ok(Number(dev?.size_bytes) > 0, "devtable's total counts its blobs");
  });
}
