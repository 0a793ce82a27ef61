/**
 * Quay's work queue shared by both runtimes, on real Quay's own database
 * (PostgreSQL and SQLite laid down by Quay's initdb): items put by Quay's
 * WorkQueue (data/queue.py, unmodified, run in Quay's environment) are
 * claimed and completed by ours and the reverse; both claiming from one
 * queue at once never take an item twice; an item claimed by a Quay worker
 * that died is reclaimed by ours after its processing time; a retry Quay
 * gives back is seen by ours.
 */
import t from 'tap';
import { openDal, type Dal } from '../../dal/index.js';
import { WorkQueue } from '../../dal/portable/queue.js';
import { startQuayPython, type QuayPython } from '../lib/quay-python.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { join } from 'node:path';
import { ROOT, run, tempDir, waitFor, type TLike } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';

t.setTimeout(600_000);
await buildSwitchboard();

const PY_QUEUE = (queue: string): string => `
import json, sys
from app import app
from data.database import db
from data.queue import WorkQueue
q = WorkQueue(${JSON.stringify(queue)}, app.config["DB_TRANSACTION_FACTORY"], has_namespace=True)
`;

async function sides(t: TLike, database: 'postgres' | 'sqlite'): Promise<{ quay: QuayPython; dal: Dal }> {
  const quay = await startQuayPython(t, { database, start: false });
  const dal = await openDal({ databaseUri: database === 'postgres' ? quay.database : null, databaseFile: quay.database, storageLocation: 'local_us' });
  t.teardown(() => dal.close());
  return { quay, dal };
}

for (const database of ['postgres', 'sqlite'] as const) {
  t.test(`${database}: both runtimes on one queue`, async (t) => {
    const { quay, dal } = await sides(t, database);
    const ours = (name: string): WorkQueue => new WorkQueue(dal.sql, name, { hasNamespace: true });

    t.test('items Quay puts are claimed and completed by ours', async (t) => {
      await quay.python(`${PY_QUEUE('fromquay')}
for i in range(3):
    q.put(["acme", "app", "repo_push"], json.dumps({"n": i}))
`);
      const q = ours('fromquay');
      const bodies: string[] = [];
      for (let item = await q.get(); item !== null; item = await q.get()) {
        t.equal(item.queueName, 'fromquay/acme/app/repo_push/', "Quay's canonical name");
        t.equal(item.retriesRemaining, 4, "Quay's five retries, one taken by our claim");
        bodies.push(item.body);
        t.equal(await q.complete(item), true);
      }
      t.same(bodies.map((b) => (JSON.parse(b) as { n: number }).n).sort(), [0, 1, 2]);
      const left = await quay.python(`${PY_QUEUE('fromquay')}
print(q.num_alive_jobs([]))`);
      t.equal(left.trim(), '0', 'Quay sees the queue empty');
    });

    t.test("items ours puts are claimed and completed by Quay's WorkQueue", async (t) => {
      const q = ours('fromts');
      for (let i = 0; i < 3; i++) await q.put(['acme', 'app'], JSON.stringify({ n: i }), { retries: 3 });
      await q.put(['acme', 'later'], JSON.stringify({ n: 99 }), { availableAfterSeconds: 3600 });
      const out = await quay.python(`${PY_QUEUE('fromts')}
got = []
while True:
    item = q.get()
    if item is None:
        break
    got.append([json.loads(item.body)["n"], item.retries_remaining])
    q.complete(item)
print(json.dumps(sorted(got)))`);
      t.same(
        JSON.parse(out.trim()),
        [
          [0, 2],
          [1, 2],
          [2, 2],
        ],
        "Quay claimed each once, with our retries less its claim's, and not the one held back by available_after",
      );
      t.same(await q.stats(), { available: 0, running: 0, spent: 0, oldestAvailableMs: null }, 'only the held-back item is left, neither available nor running');
      t.equal(await q.aliveCount([]), 1);
    });

    t.test('both claiming from one queue at once: every item once', async (t) => {
      const q = ours('shared');
      const go = join(tempDir(t, 'queue-race-'), 'go');
      const N = 200;
      for (let i = 0; i < N; i++) await q.put(['ns', String(i % 6)], String(i));
      // Quay's loop starts claiming when told to (its imports take seconds), and claims
      // until the queue has been empty for a while, as ours does below.
      const py = quay.spawnPython(`${PY_QUEUE('shared')}
import time
print("ready", flush=True)
while not __import__("os").path.exists(${JSON.stringify(go)}):
    time.sleep(0.01)
got = []
empty = 0
while empty < 20:
    item = q.get()
    if item is None:
        empty += 1
        time.sleep(0.02)
        continue
    empty = 0
    got.append(item.body)
    q.complete(item)
print(json.dumps(got), flush=True)`);
      const ready = await waitFor(() => py.stdout().includes('ready') || !py.running(), 60_000, 20);
      t.ok(ready && py.running(), `Quay's claimer is ready${py.running() ? '' : `: ${py.stderr()}`}`);
      writeFileSync(go, 'go');
      const mine: string[] = [];
      for (let empty = 0; empty < 40;) {
        const item = await q.get();
        if (item === null) {
          empty++;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        empty = 0;
        mine.push(item.body);
        await q.complete(item);
      }
      const exit = await py.exited;
      t.equal(exit.code, 0, `Quay's claimer ended cleanly${exit.code === 0 ? '' : `: ${py.stderr()}`}`);
      const theirs = JSON.parse(py.stdout().trim().split('\n').pop()!) as string[];
      const all = [...mine, ...theirs];
      t.equal(all.length, N, `${mine.length} by ours, ${theirs.length} by Quay: ${N} in all`);
      t.equal(new Set(all).size, N, 'none twice');
      t.ok(mine.length > 0 && theirs.length > 0, 'both runtimes took part');
    });

    t.test('an item held by a Quay worker that died is reclaimed by ours after its processing time', async (t) => {
      const q = ours('dead');
      await q.put(['ns'], 'orphan');
      const claimed = await quay.python(`${PY_QUEUE('dead')}
item = q.get(processing_time=1)
print(item.body)`);
      t.equal(claimed.trim(), 'orphan', 'Quay claimed it, then its process ended without completing');
      t.equal(await q.get(), null, 'held while its processing time runs');
      await new Promise((r) => setTimeout(r, 1500));
      const item = await q.get();
      t.equal(item?.body, 'orphan', 'reclaimed after expiry');
      t.equal(item?.retriesRemaining, 3, 'both claims took a retry');
      await q.complete(item!);
    });

    t.test('incomplete with the retry given back, by Quay, then claimed by ours', async (t) => {
      const q = ours('retry');
      await q.put(['ns'], 'flaky');
      await quay.python(`${PY_QUEUE('retry')}
item = q.get()
assert q.incomplete(item, retry_after=0, restore_retry=True)`);
      const item = await q.get();
      t.equal(item?.retriesRemaining, 4, 'the retry Quay gave back is there');
      // And ours gives one back the same way for Quay to see.
      t.equal(await q.incomplete(item!, { retryAfterSeconds: 0, restoreRetry: true }), true);
      const seen = await quay.python(`${PY_QUEUE('retry')}
item = q.get()
print(item.retries_remaining)
q.complete(item)`);
      t.equal(seen.trim(), '4');
    });

    t.test('quotaregistrysizeworker: a size Quay queued is computed by ours as Quay computes it', async (t) => {
      await quay.python(`from app import app
from data.model import quota
quota.queue_registry_size_calculation()`);
      const dir = tempDir(t, 'regsize-');
      const config = join(dir, 'config.yaml');
      // Quay's own keys, with quota management on and the program given to go.
      const keys = parse(readFileSync(quay.configFile, 'utf8')) as Record<string, unknown>;
      writeFileSync(config, stringify({ ...keys, FEATURE_QUOTA_MANAGEMENT: true, MIGRATION: { WORKER_OWNER_QUOTAREGISTRYSIZEWORKER: 'go' } }));
      const r = await run(
        process.execPath,
        [join(ROOT, 'bin/quay.js'), 'worker', 'quotaregistrysizeworker', '--once', '--mode', 'standalone', '--config', config, '--data-dir', join(dir, 'data')],
        {
          cwd: ROOT,
          timeoutMs: 120_000,
        },
      );
      t.equal(r.code, 0, r.stderr);
      const out = await quay.python(`from app import app
from data.model import quota
row = quota.get_registry_size()
print(row.size_bytes, quota.sum_registry_size(), row.running, row.queued, row.completed_ms is not None)`);
      const [ours, quays, running, queued, completed] = out.trim().split(' ');
      t.equal(ours, quays, "the size ours wrote is Quay's sum");
      t.same([running, queued, completed], ['False', 'False', 'True'], 'done, as Quay marks it');
    });

    t.test("purge by namespace: ours deletes what Quay's delete_namespaced_items deletes", async (t) => {
      await quay.python(`${PY_QUEUE('purge')}
q.put(["gone", "a"], "1")
q.put(["gone", "b"], "2")
q.put(["kept", "a"], "3")`);
      t.equal(await ours('purge').deleteNamespaced('gone'), 2);
      const left = await quay.python(`${PY_QUEUE('purge')}
print(q.num_alive_jobs(["kept"]), q.num_alive_jobs(["gone"]))`);
      t.equal(left.trim(), '1 0');
    });
  });
}
