/**
 * bench/workers — queue items per second of the TS side's notificationworker
 * against Quay's own (workers/notificationworker, run from real Quay's
 * source), on the same database and the same items, in one run.
 *
 *   npm run bench:workers      (needs real Quay: bash /work/shared/quay-python/install-deps.sh; PostgreSQL)
 *
 * Real Quay's database (initdb's data, PostgreSQL unless BENCH_DATABASE=sqlite)
 * gets a repository with one webhook notification to a local receiver (an
 * HTTP server in this process on 127.0.0.2, answering 200 at once: Quay
 * refuses webhooks to 127.0.0.1). Each round puts BENCH_ITEMS repo_push items
 * through Quay's own notification_queue (one batch insert), then one worker
 * drains the queue: Quay's NotificationWorker.poll_queue() in a Python
 * process, or `quay worker notificationworker --once`. Rounds alternate
 * between the two (BENCH_ROUNDS each). The time is the worker's own, taken
 * around its drain (process start-up excluded on both sides); both are
 * pinned to cpu 1 when there are two cores, the receiver and the database
 * share cpu 0. Every delivery is counted at the receiver; a round whose
 * deliveries do not match its items fails the bench.
 *
 * This is a report, not a test: it exits 0 whether or not the TS side is faster.
 */
import http from 'node:http';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startQuayPython, type QuayPython } from '../test/lib/quay-python.js';
import { run as runProcess } from '../test/lib/proc.js';
import { freePort, pinned, taskset } from './lib/procs.js';
import { atShutdown, onExit, shutdown } from './lib/peers.js';
import { versusQuayTable } from './lib/figures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ITEMS = Number(process.env.BENCH_ITEMS ?? 500);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const DATABASE = (process.env.BENCH_DATABASE ?? 'postgres') as 'postgres' | 'sqlite';
const CPU = taskset ? '1' : null;

const dir = mkdtempSync(join(tmpdir(), 'swb-bench-workers-'));
onExit(() => rmSync(dir, { recursive: true, force: true }));

async function main(): Promise<void> {
  let delivered = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      delivered++;
      res.writeHead(200).end('ok');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.2', r));
  atShutdown.teardown(() => server.close());

  process.stderr.write(`bench:workers: starting real Quay on ${DATABASE} …\n`);
  const quay: QuayPython = await startQuayPython(atShutdown, { database: DATABASE, start: false });
  await quay.python(`
from app import app
from data import model
user = model.user.get_user("devtable")
repo = model.repository.create_repository("devtable", "benched", user)
model.notification.create_repo_notification(repo, "repo_push", "webhook", {"url": "http://127.0.0.2:${port}/hook"}, {})`);

  const config = join(dir, 'config.yaml');
  copyFileSync(quay.configFile, config);
  writeFileSync(config, `${readFileSync(config, 'utf8')}\nMIGRATION:\n  WORKER_OWNER_NOTIFICATIONWORKER: go\n`);

  const PUT = `
from app import app, notification_queue
from notifications import notification_batch
from data.registry_model import registry_model
repo = registry_model.lookup_repository("devtable", "benched")
with notification_batch(${ITEMS}) as spawn:
    for i in range(${ITEMS}):
        spawn(repo, "repo_push", {"updated_tags": ["v%d" % i]}, performer_data={"entity_id": 1, "entity_name": "devtable"})
`;
  const pin = CPU === null ? '' : `os.sched_setaffinity(0, {${CPU}})\n`;

  const python = async (): Promise<number> => {
    const out = await quay.python(
      `import os, time
${pin}from app import app, notification_queue
from workers.notificationworker.notificationworker import NotificationWorker
w = NotificationWorker(notification_queue, poll_period_seconds=10, reservation_seconds=30, retry_after_seconds=30)
t0 = time.monotonic()
w.poll_queue()
print(time.monotonic() - t0)`,
      { timeoutMs: 600_000 },
    );
    return Number(out.trim().split('\n').pop());
  };
  const ts = async (): Promise<number> => {
    const [cmd, args] = pinned(CPU, process.execPath, [
      join(root, 'bin/quay.js'),
      'worker',
      'notificationworker',
      '--once',
      '--mode',
      'standalone',
      '--config',
      config,
      '--data-dir',
      join(dir, 'ts-data'),
    ]);
    // Not spawnSync: the receiver runs on this process's event loop.
    const r = await runProcess(cmd, args, { cwd: root, timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`quay worker exited ${String(r.code)}:\n${r.stderr.slice(-3000)}`);
    const pass = r.stderr
      .split('\n')
      .filter((l) => l.includes('"msg":"notificationworker pass"'))
      .map((l) => JSON.parse(l) as { duration_seconds: number; completed: number })
      .pop();
    if (!pass) throw new Error(`quay worker logged no pass:\n${r.stderr.slice(-3000)}`);
    return pass.duration_seconds;
  };

  const results: Record<'quay-python' | 'TS', number[]> = { 'quay-python': [], TS: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, drain] of [
      ['quay-python', python],
      ['TS', ts],
    ] as const) {
      await quay.python(PUT, { timeoutMs: 300_000 });
      const before = delivered;
      const seconds = await drain();
      const got = delivered - before;
      if (got !== ITEMS) throw new Error(`${name}: ${got} deliveries for ${ITEMS} items`);
      results[name].push(ITEMS / seconds);
      process.stderr.write(`round ${round + 1}/${ROUNDS} ${name}: ${ITEMS} items in ${seconds.toFixed(2)} s\n`);
    }
  }
  console.log('bench/workers — notificationworker items/s, TS vs real Quay, same database, same items, same run');
  console.log(
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${taskset ? 'workers pinned to cpu 1' : 'no pinning'}; ${DATABASE}; ${ITEMS} items per round, ${ROUNDS} rounds each (median)`,
  );
  console.log('');
  console.log(
    versusQuayTable(
      'worker',
      'items/s',
      { label: 'quay-python NotificationWorker', rounds: results['quay-python'] },
      { label: 'quay worker notificationworker (TS)', rounds: results.TS },
    ),
  );
}

main()
  .then(
    () => 0,
    (e: unknown) => {
      console.error(`bench:workers failed: ${(e as Error).stack ?? String(e)}`);
      return 1;
    },
  )
  .then(async (code) => {
    await shutdown();
    process.exit(code);
  });
