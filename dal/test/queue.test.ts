/**
 * Quay's work queue (dal/portable/queue.ts) on both dialects: put, claim by
 * compare-and-swap, expiry and reclaim, complete, incomplete with and
 * without the retry given back, retries running out, extend, ordered claims,
 * purge by namespace, stats and queuecleanupworker's delete. The clock is a
 * variable the test moves; nothing waits on real time.
 */
import t from 'tap';
import { openStoreSides } from './lib/store-sides.js';
import { WorkQueue, canonicalName, deleteExpiredItems } from '../portable/queue.js';

const { sides } = await openStoreSides(t);
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0, 0);

for (const s of sides) {
  const sql = s.dal.sql;
  let now = T0;
  const clock = (): number => now;
  const queue = (name: string, hasNamespace = true): WorkQueue => new WorkQueue(sql, `${name}${s.kind}`, { hasNamespace, now: clock });
  const rows = (name: string): Promise<Record<string, unknown>[]> =>
    s.raw('SELECT id, queue_name, body, available, retries_remaining, state_id FROM queueitem WHERE queue_name LIKE ? ORDER BY id', `${name}${s.kind}/%`);

  t.test(`${s.kind}: put writes Quay's row; get claims it once; complete deletes it`, async (t) => {
    now = T0;
    const q = queue('basic');
    const id = await q.put(['acme', 'app', 'repo_push'], '{"n":1}');
    const [row] = await rows('basic');
    t.equal(row!.queue_name, `basic${s.kind}/acme/app/repo_push/`, 'canonical name: parts joined by "/", a trailing "/"');
    t.equal(Number(row!.retries_remaining), 5, 'five retries by default');
    t.match(String(row!.state_id), /^[0-9a-f-]{36}$/, 'a uuid4 state_id');

    const item = await q.get();
    t.ok(item, 'claimed');
    t.equal(item!.id, id);
    t.equal(item!.body, '{"n":1}');
    t.equal(item!.retriesRemaining, 4, 'the claim took a retry');
    const [claimed] = await rows('basic');
    t.not(claimed!.state_id, row!.state_id, 'the claim rotated state_id');
    t.equal(await q.get(), null, 'a claimed item is not handed out again before it expires');
    t.equal(await q.complete(item!), true);
    t.same(await rows('basic'), [], 'complete deleted the row');
    t.equal(await q.complete(item!), false, 'completing twice finds nothing');
  });

  t.test(`${s.kind}: available_after holds an item back; a claim that expires is reclaimed by another worker`, async (t) => {
    now = T0;
    const q = queue('expiry');
    await q.put(['x'], 'later', { availableAfterSeconds: 60 });
    t.equal(await q.get(), null, 'not before available_after');
    now = T0 + 60_000;
    const first = await q.get({ processingSeconds: 30 });
    t.ok(first, 'available at available_after');
    now += 29_000;
    t.equal(await q.get(), null, 'still being processed');
    now += 1_000;
    const second = await q.get({ processingSeconds: 30 });
    t.ok(second, 'the expired claim is reclaimed (a worker that died)');
    t.equal(second!.retriesRemaining, 3, 'each claim took a retry');
    t.equal(await q.complete(second!), true);
  });

  t.test(`${s.kind}: a stale claim loses the compare-and-swap`, async (t) => {
    now = T0;
    const q = queue('cas');
    await q.put(['x'], 'one');
    const [row] = await rows('cas');
    // Another runtime claims between our select and our update: the row's state_id has moved on.
    await s.raw('UPDATE queueitem SET state_id = ? WHERE id = ?', 'someone-else', row!.id);
    const raced = await sql.run(`UPDATE queueitem SET available = @no WHERE id = @id AND state_id = @seen`, { no: false, id: Number(row!.id), seen: row!.state_id });
    t.equal(raced, 0, 'the update keyed on the old state_id changes nothing');
    const item = await q.get();
    t.ok(item, 'a fresh select sees the new state and claims');
  });

  t.test(`${s.kind}: many concurrent claimers: every item is claimed exactly once`, async (t) => {
    now = T0;
    const q = queue('race');
    for (let i = 0; i < 40; i++) await q.put(['ns', String(i)], String(i));
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let misses = 0; misses < 20;) {
          const item = await q.get();
          if (item === null) {
            misses++;
            continue;
          }
          seen.push(item.body);
          await q.complete(item);
        }
      }),
    );
    t.equal(seen.length, 40, 'forty claims');
    t.equal(new Set(seen).size, 40, 'no item twice');
  });

  t.test(`${s.kind}: incomplete, with and without the retry back; retries run out`, async (t) => {
    now = T0;
    const q = queue('retry');
    await q.put(['x'], 'flaky', { retries: 2 });
    let item = await q.get();
    t.equal(await q.incomplete(item!, { retryAfterSeconds: 10, restoreRetry: true }), true, 'retries left');
    t.equal(await q.get(), null, 'held back for retry_after');
    now += 10_000;
    item = await q.get();
    t.equal(item!.retriesRemaining, 1, 'the restored retry was given back before this claim');
    t.equal(await q.incomplete(item!, { retryAfterSeconds: 0 }), true, 'one retry left');
    item = await q.get();
    t.equal(item!.retriesRemaining, 0);
    t.equal(await q.incomplete(item!, { retryAfterSeconds: 0 }), false, 'no retries left');
    t.equal(await q.get(), null, 'an item without retries is never claimed');
    t.equal((await q.stats()).spent, 1, 'it is counted as spent');
  });

  t.test(`${s.kind}: fail spends an item at once`, async (t) => {
    now = T0;
    const q = queue('fail');
    await q.put(['x'], 'not json');
    const item = await q.get();
    t.equal(await q.fail(item!), true);
    now += 3600_000;
    t.equal(await q.get(), null, 'never claimed again');
    const st = await q.stats();
    t.same([st.available, st.running, st.spent], [0, 0, 1]);
  });

  t.test(`${s.kind}: extend moves the expiry only by more than 20 s, and may replace the body`, async (t) => {
    now = T0;
    const q = queue('extend');
    await q.put(['x'], 'v1');
    const item = await q.get({ processingSeconds: 60 });
    t.equal(await q.extend(item!, 70), false, 'moving it by 10 s is not worth a write');
    t.equal(await q.extend(item!, 120), true, 'by 60 s it is');
    t.equal(await q.extend(item!, 120, { body: 'v2' }), true, 'a new body is a change');
    t.equal(await q.extend(item!, 120, { body: 'v2' }), false, 'the same body is not');
    const [row] = await rows('extend');
    t.equal(row!.body, 'v2');
    now += 110_000;
    t.equal(await q.get(), null, 'the extended claim still holds at +110 s');
    now += 11_000;
    t.ok(await q.get(), 'and expires after +120 s');
  });

  t.test(`${s.kind}: ordered claims: lowest id first, one running item per exact name`, async (t) => {
    now = T0;
    const q = queue('ordered');
    await q.put(['ns', 'a'], 'a1');
    await q.put(['ns', 'a'], 'a2');
    await q.put(['ns', 'b'], 'b1');
    const first = await q.get({ ordered: true });
    t.equal(first!.body, 'a1', 'FIFO');
    const second = await q.get({ ordered: true });
    t.equal(second!.body, 'b1', 'a2 waits while a1 runs: the next claim is b1');
    t.equal(await q.get({ ordered: true }), null, 'both names have a running item');
    await q.complete(first!);
    t.equal((await q.get({ ordered: true }))!.body, 'a2', 'a2 after a1 completed');
  });

  t.test(`${s.kind}: purge by namespace escapes LIKE wildcards; queues without namespaces refuse`, async (t) => {
    now = T0;
    const q = queue('purge');
    await q.put(['my_org', 'app'], '1');
    await q.put(['my_org', 'other'], '2');
    await q.put(['myxorg', 'app'], '3');
    t.equal(await q.deleteNamespaced('my_org', 'app'), 1, 'one repository');
    t.equal(await q.deleteNamespaced('my_org'), 1, 'the rest of the namespace');
    t.same(
      (await rows('purge')).map((r) => r.body),
      ['3'],
      "myxorg's item stays (Quay's unescaped pattern would delete it)",
    );
    t.equal(await queue('nonns', false).deleteNamespaced('my_org'), null);
  });

  t.test(`${s.kind}: alive, aliveCount and stats`, async (t) => {
    now = T0;
    const q = queue('stats');
    t.same(await q.stats(), { available: 0, running: 0, spent: 0, oldestAvailableMs: null });
    await q.put(['ns', 'a'], '1');
    now += 5_000;
    await q.put(['ns', 'b'], '2');
    await q.put(['ns', 'c'], '3', { availableAfterSeconds: 600 });
    t.equal(await q.alive(['ns', 'a']), true);
    t.equal(await q.alive(['ns', 'c']), false, 'not yet available, not running');
    t.equal(await q.aliveCount(['ns']), 3, 'items with retries left under the prefix');
    const item = await q.get();
    const st = await q.stats();
    t.equal(st.available, 1);
    t.equal(st.running, 1);
    t.equal(await q.alive([...item!.queueName.split('/').slice(1, -1)]), true, 'a running item is alive');
    t.ok(st.oldestAvailableMs === T0 || st.oldestAvailableMs === T0 + 5_000, 'oldest available item');
  });

  t.test(`${s.kind}: deleteExpiredItems deletes a batch only past the threshold`, async (t) => {
    now = T0;
    // The cleanup is table-wide: start from an empty table.
    await s.raw('DELETE FROM queueitem');
    const q = queue('cleanup');
    for (let i = 0; i < 3; i++) await q.put(['x'], String(i));
    for (let i = 0; i < 3; i++) await q.get({ processingSeconds: 1 });
    const dayLater = T0 + 86_400_000 + 10_000;
    t.equal(await deleteExpiredItems(sql, dayLater, 5, 10), 0, 'fewer than the threshold: nothing deleted');
    const before = (await rows('cleanup')).length;
    t.equal(before, 3);
    t.equal(await deleteExpiredItems(sql, T0, 1, 10), 0, 'none had expired by then');
    t.equal(await deleteExpiredItems(sql, dayLater, 1, 2), 2, 'one batch of at most batchSize');
    t.equal(await deleteExpiredItems(sql, dayLater, 1, 10), 1, 'the rest');
    t.same(await rows('cleanup'), []);
  });
}

t.test('canonicalName', async (t) => {
  t.equal(canonicalName('notification', ['ns', 'repo', 'repo_push']), 'notification/ns/repo/repo_push/');
  t.equal(canonicalName('namespacegc', ['42']), 'namespacegc/42/');
});
