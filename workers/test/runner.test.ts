/**
 * The worker runner runs a program only while the live snapshot gives it to go
 * (WORKER_OWNER_<PROGRAM>; the kill switch and an unusable config give
 * everything to python), and the go side's stale-upload clean-up goes through
 * it: before, it ran whatever WORKER_OWNER_BLOBUPLOADCLEANUPWORKER said.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadInventory } from '../../owner-maps/index.js';
import { parseConfig } from '../../switchboard/config/parse.js';
import { buildSnapshot, hardFailureSnapshot, type Snapshot } from '../../switchboard/core/snapshot.js';
import { createLogger } from '../../lib/log.js';
import { WorkerRunner, type SnapshotSource } from '../runner.js';
import { goSidePrograms, openGoSide } from '../../quay/runtime.js';
import { tempDir } from '../../test/lib/proc.js';

const inv = loadInventory();
let version = 0;
function snap(yaml: string): Snapshot {
  const r = parseConfig(yaml, 'config.yaml', inv, {});
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return buildSnapshot(inv, r.config, ++version, new Date());
}

/** A snapshot source the test changes by hand, as the file provider does on a reload. */
function liveSource(first: Snapshot): SnapshotSource & { set(s: Snapshot): void } {
  let cur = first;
  const fns = new Set<(s: Snapshot) => void>();
  return {
    current: () => cur,
    onChange: (fn) => {
      fns.add(fn);
      return () => fns.delete(fn);
    },
    set: (s) => {
      cur = s;
      for (const fn of fns) fn(s);
    },
  };
}

const quiet = createLogger({}, { write: () => {} });

t.test('a program runs only while the snapshot gives it to go', async (t) => {
  let runs = 0;
  const program = {
    program: 'blobuploadcleanupworker',
    everyMs: 3600_000,
    run: async () => {
      runs++;
      return null;
    },
  };
  const src = liveSource(snap('MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n'));
  const runner = new WorkerRunner(src, [program], quiet);
  t.teardown(() => runner.stop());
  runner.start();
  await new Promise((r) => setImmediate(r));
  t.equal(runs, 0, 'python by default: not run here');
  t.match(runner.states()[0], { owner: 'python', reason: 'default', running: false });

  src.set(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n'));
  await runner.runOnce('blobuploadcleanupworker'); // waits for the pass the switch started (runs never overlap)
  t.ok(runs >= 1, 'given to go: a pass at once');
  t.match(runner.states()[0], { owner: 'go', reason: 'worker_switch', running: true });

  src.set(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n  MIGRATION_FORCE_PYTHON: true\n'));
  t.match(runner.states()[0], { owner: 'python', reason: 'force_python', running: false }, 'the kill switch takes it back');

  src.set(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n'));
  t.match(runner.states()[0], { owner: 'go', running: true });
  src.set(hardFailureSnapshot(inv, 'config.yaml', ++version, new Date()));
  t.match(runner.states()[0], { owner: 'python', reason: 'hard_failure', running: false }, 'a config that cannot be used gives it to python');
});

t.test('a failing pass is counted and logged, and the program keeps its schedule', async (t) => {
  const lines: string[] = [];
  const src = liveSource(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n'));
  const runner = new WorkerRunner(
    src,
    [
      {
        program: 'blobuploadcleanupworker',
        everyMs: 3600_000,
        run: async () => {
          throw new Error('disk on fire');
        },
      },
    ],
    createLogger({}, { write: (l) => lines.push(l) }),
  );
  t.teardown(() => runner.stop());
  runner.start();
  await runner.runOnce('blobuploadcleanupworker');
  const st = runner.states()[0]!;
  t.ok(st.failures >= 1);
  t.equal(st.last_error, 'disk on fire');
  t.equal(st.running, true);
  t.ok(
    lines.some((l) => /"level":"error"/.test(l) && /disk on fire/.test(l)),
    'logged as an error',
  );
});

t.test('a long pass stops between batches once the kill switch takes the program back', async (t) => {
  const src = liveSource(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n'));
  let batches = 0;
  let release: () => void = () => undefined;
  const program = {
    program: 'blobuploadcleanupworker',
    everyMs: 3600_000,
    run: async (active: () => boolean) => {
      // A backlog of batches, the first held until the test flips the switch.
      while (active()) {
        batches++;
        if (batches === 1)
          await new Promise<void>((r) => {
            release = r;
          });
        if (batches > 1000) break;
      }
      return { batches };
    },
  };
  const runner = new WorkerRunner(src, [program], quiet);
  t.teardown(() => runner.stop());
  runner.start();
  await new Promise((r) => setImmediate(r));
  src.set(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n  MIGRATION_FORCE_PYTHON: true\n'));
  release();
  await runner.runOnce('blobuploadcleanupworker');
  t.equal(batches, 1, 'no batch after the kill switch');
});

t.test('python by default is a warning (nobody may be cleaning), python by choice is not', async (t) => {
  const lines: string[] = [];
  const log = createLogger({}, { write: (l) => lines.push(l) });
  const program = { program: 'blobuploadcleanupworker', everyMs: 3600_000, run: async () => null };
  const byDefault = new WorkerRunner(liveSource(snap('')), [program], log);
  byDefault.start();
  await byDefault.stop();
  t.ok(
    lines.some((l) => /"level":"warn"/.test(l) && /set WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go/.test(l)),
    'the warning names the key to set',
  );
  lines.length = 0;
  const chosen = new WorkerRunner(liveSource(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: python\n')), [program], log);
  chosen.start();
  await chosen.stop();
  t.notOk(
    lines.some((l) => /"level":"warn"/.test(l)),
    'an operator who chose python is not warned',
  );
});

t.test('a program the worker inventory does not know is refused', async (t) => {
  t.throws(() => new WorkerRunner(liveSource(snap('')), [{ program: 'nosuchworker', everyMs: 1000, run: async () => null }], quiet), /not in the worker inventory/);
});

t.test('the go side cleans stale uploads only when blobuploadcleanupworker is go', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const dataDir = tempDir(t, 'workers-cleanup-');
  const side = await openGoSide({ dataDir, log: quiet, now: () => now });
  t.teardown(() => side.close());
  const repo = await side.store.createRepository('acme', 'app', 'public', now);
  const old = await side.uploads.start(repo);
  await side.uploads.chunk(repo, old.uuid, { body: Readable.from([Buffer.from('old bytes')]), range: null });
  now += 3 * 24 * 3600 * 1000;
  const file = join(dataDir, 'storage', 'uploads', old.uuid);

  const src = liveSource(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: python\n'));
  const runner = new WorkerRunner(src, goSidePrograms(side, { staleUploadHours: 48, log: quiet, quayConfig: {}, metrics: null }), quiet);
  t.teardown(() => runner.stop());
  runner.start();
  await new Promise((r) => setImmediate(r));
  t.ok(existsSync(file), 'python owns it: the three-day-old upload stays for Python Quay to clean');
  t.not(await side.store.upload(old.uuid), null);

  src.set(snap('MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n'));
  await runner.runOnce('blobuploadcleanupworker');
  t.notOk(existsSync(file), 'go owns it: the stale upload object is gone');
  t.equal(await side.store.upload(old.uuid), null, 'and its blobupload row');
});
