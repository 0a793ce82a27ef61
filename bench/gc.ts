/**
 * bench/gc — garbage collection throughput (manifests collected per second)
 * of the TS side's collector (workers/gc/engine.ts) against Quay's own
 * (data/model/gc.py's garbage_collect_repo, run from real Quay's source), on
 * copies of the same data, in one run.
 *
 *   npm run bench:gc      (needs real Quay: bash /work/shared/quay-python/install-deps.sh)
 *
 * Real Quay is laid down on SQLite (initdb's data, gunicorn not started).
 * Quay's own model code builds BENCH_REPOS (default 20) repositories under
 * devtable, each with BENCH_TAGS (default 25) tags on distinct manifests:
 * a config blob, a layer of its own and one of four layers shared by every
 * repository. Every tag is then ended 30 days ago (past devtable's
 * time-machine window) and every upload link expired. That database file and
 * storage directory are kept as the pristine copy. Each of BENCH_ROUNDS
 * (default 3) rounds lays two fresh copies down: one where Quay's config
 * points (Quay's GC runs in a Python process: garbage_collect_repo over the
 * repositories), one in a directory of its own (ours runs in a child node
 * process: the collector opened on that copy, garbageCollectRepo over the
 * same repositories). The order alternates from round to round. Each side
 * times its own loop (time.monotonic / performance.now; process start-up,
 * imports and opening the database excluded); both are pinned to cpu 1
 * when there are two cores. After each round the manifests, blob rows and
 * blob files left on both copies are counted: a round where the two sides
 * deleted different numbers fails the bench.
 *
 * This is a report, not a test: it exits 0 whether or not the TS side is faster.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { parse as parseYaml } from 'yaml';
import { startQuayPython, type QuayPython } from '../test/lib/quay-python.js';
import { openDal } from '../dal/index.js';
import { LocalStorage } from '../storage/local.js';
import { createLogger } from '../lib/log.js';
import { gcCollector } from '../workers/gc/programs.js';
import { zeroCounts, type GcCounts } from '../workers/gc/engine.js';
import { pinned, taskset } from './lib/procs.js';
import { atShutdown, onExit, shutdown } from './lib/peers.js';
import { versusQuayTable } from './lib/figures.js';

const REPOS = Math.max(1, Number(process.env.BENCH_REPOS ?? 20));
const TAGS = Math.max(1, Number(process.env.BENCH_TAGS ?? 25));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const CPU = taskset ? '1' : null;
const self = fileURLToPath(import.meta.url);

/** Quay's model code: the repositories, tags, manifests and blobs (run once; the pristine copy is taken after it). */
const PY_SETUP = `
import json, os, subprocess, time
subprocess.check_call(["bash", os.environ["QUAY_HOME_DIR"] + "/redis.sh"])
from app import app, storage
from data import model
from data.database import ImageStorageLocation, Tag, UploadedBlob
from data.model import oci
from digest.digest_tools import sha256_digest
from image.oci.manifest import OCIManifestBuilder
from image.oci.config import OCIConfig
from util.bytes import Bytes
from datetime import datetime, timedelta

loc = ImageStorageLocation.get(name="local_us")
OLD = int(time.time() * 1000) - 30 * 86400 * 1000  # past devtable's two-week window

def blob(repo, content):
    d = sha256_digest(content)
    storage.put_content(["local_us"], storage.blob_path(d), content)
    model.blob.store_blob_record_and_temp_link_in_repo(repo.id, d, loc, len(content), 3600)
    return d, len(content)

devtable = model.user.get_user("devtable")
SHARED = [("layer shared by every repository %d" % k).encode() for k in range(4)]
ids = []
for r in range(${REPOS}):
    repo = model.repository.create_repository("devtable", "gcbench%d" % r, devtable)
    ids.append(repo.id)
    for i in range(${TAGS}):
        name = "r%d-t%d" % (r, i)
        cfg = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": []}, "history": [], "config": {"Labels": {"name": name}}})
        blob(repo, cfg.encode())
        b = OCIManifestBuilder()
        b.set_config(OCIConfig(Bytes.for_string_or_unicode(cfg)))
        for content in (SHARED[(r + i) % len(SHARED)], ("layer of %s only" % name).encode()):
            d, n = blob(repo, content)
            b.add_layer(d, n)
        created = oci.manifest.get_or_create_manifest(repo.id, b.build(), storage, for_tagging=True, raise_on_error=True)
        oci.tag.retarget_tag("v%d" % i, created.manifest.id, raise_on_error=True)
    # every tag ends, long ago
    Tag.update(lifetime_end_ms=OLD).where(Tag.repository == repo.id).execute()
UploadedBlob.update(expires_at=datetime.utcnow() - timedelta(seconds=60)).where(UploadedBlob.repository << ids).execute()
print(json.dumps(ids))
`;

/** Quay's GC on its copy, timed around the loop only. */
const pyCollect = (ids: readonly number[]): string => `
import json, os, subprocess, time
${CPU === null ? '' : `os.sched_setaffinity(0, {${CPU}})\n`}subprocess.check_call(["bash", os.environ["QUAY_HOME_DIR"] + "/redis.sh"])  # GlobalLock: files are removed only under it
from app import app
from data.database import Repository
from data.model import gc
ids = ${JSON.stringify(ids)}
Repository.select().count()  # connect before the clock starts
t0 = time.monotonic()
for i in ids:
    gc.garbage_collect_repo(Repository.get(id=i))
print(json.dumps({"seconds": time.monotonic() - t0}))
`;

interface Left {
  manifests: number;
  storages: number;
  files: number;
}

function countFiles(root: string): number {
  if (!existsSync(root)) return 0;
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[]).filter((e) => e.isFile()).length;
}

function left(dbFile: string, storageDir: string, ids: readonly number[]): Left {
  const db = new Database(dbFile, { readonly: true });
  try {
    const inIds = ids.join(',');
    const one = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    return {
      manifests: one(`SELECT COUNT(*) AS n FROM manifest WHERE repository_id IN (${inIds})`),
      storages: one('SELECT COUNT(*) AS n FROM imagestorage'),
      files: countFiles(storageDir),
    };
  } finally {
    db.close();
  }
}

function copyDb(from: string, to: string): void {
  for (const suffix of ['', '-wal', '-shm']) {
    rmSync(to + suffix, { force: true });
    if (existsSync(from + suffix)) cpSync(from + suffix, to + suffix);
  }
}

function copyStorage(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}

/** The child: our collector opened on a copy, timed around the loop only. Prints {seconds, counts}. */
async function collectChild(dbFile: string, storageDir: string, configFile: string, ids: readonly number[]): Promise<void> {
  const quiet = createLogger({ bench: 'gc' }, { level: 'warn' });
  const dal = await openDal({ databaseUri: null, databaseFile: dbFile, storageLocation: 'local_us' });
  const quayConfig = parseYaml(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  const { gc, data } = gcCollector({ dal, sql: dal.sql, storage: new LocalStorage(storageDir), log: quiet, quayConfig, metrics: null }, quiet);
  const counts: GcCounts = zeroCounts();
  const t0 = performance.now();
  for (const id of ids) {
    const repo = await data.repository(id);
    if (!repo) throw new Error(`repository ${id} not found`);
    const c = await gc.garbageCollectRepo(repo);
    for (const k of Object.keys(counts) as (keyof GcCounts)[]) counts[k] += c[k];
  }
  const seconds = (performance.now() - t0) / 1000;
  await dal.close();
  process.stdout.write(`${JSON.stringify({ seconds, counts })}\n`);
}

let dir = '';

async function main(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'swb-bench-gc-'));
  onExit(() => rmSync(dir, { recursive: true, force: true }));
  process.stderr.write(`bench:gc: laying real Quay down on SQLite, building ${REPOS} × ${TAGS} manifests with Quay's model code …\n`);
  const quay: QuayPython = await startQuayPython(atShutdown, { database: 'sqlite', start: false });
  const ids = JSON.parse((await quay.python(PY_SETUP, { timeoutMs: 1_800_000 })).trim().split('\n').pop()!) as number[];
  if (ids.length !== REPOS) throw new Error(`setup made ${ids.length} repositories, not ${REPOS}`);

  const pristine = { db: join(dir, 'pristine', 'quay.db'), storage: join(dir, 'pristine', 'storage') };
  mkdirSync(join(dir, 'pristine'), { recursive: true });
  copyDb(quay.database, pristine.db);
  copyStorage(quay.storageDir, pristine.storage);
  const before = left(pristine.db, pristine.storage, ids);
  if (before.manifests !== REPOS * TAGS) throw new Error(`setup left ${before.manifests} manifests, not ${REPOS * TAGS}`);
  process.stderr.write(`bench:gc: ${before.manifests} manifests, ${before.storages} blob rows, ${before.files} files in storage\n`);
  const ours = { db: join(dir, 'ours', 'quay.db'), storage: join(dir, 'ours', 'storage') };
  mkdirSync(join(dir, 'ours'), { recursive: true });

  const python = async (): Promise<number> => {
    copyDb(pristine.db, quay.database);
    copyStorage(pristine.storage, quay.storageDir);
    const out = await quay.python(pyCollect(ids), { timeoutMs: 1_800_000 });
    return (JSON.parse(out.trim().split('\n').pop()!) as { seconds: number }).seconds;
  };
  const ts = async (): Promise<number> => {
    copyDb(pristine.db, ours.db);
    copyStorage(pristine.storage, ours.storage);
    const [cmd, args] = pinned(CPU, process.execPath, [self, '--collect', ours.db, ours.storage, quay.configFile, JSON.stringify(ids)]);
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 1_800_000, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`our collector exited ${String(r.status ?? r.signal)}:\n${r.stderr.slice(-3000)}`);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; counts: GcCounts };
    const after = left(ours.db, ours.storage, ids);
    if (got.counts.manifests !== before.manifests - after.manifests)
      throw new Error(`our collector counted ${got.counts.manifests} manifests, the database lost ${before.manifests - after.manifests}`);
    return got.seconds;
  };

  const results: Record<'quay-python' | 'TS', number[]> = { 'quay-python': [], TS: [] };
  let deleted = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const sides = [
      ['quay-python', python],
      ['TS', ts],
    ] as const;
    const seconds: Record<string, number> = {};
    for (const [name, collect] of round % 2 === 0 ? sides : [...sides].reverse()) seconds[name] = await collect();
    const q = left(quay.database, quay.storageDir, ids);
    const o = left(ours.db, ours.storage, ids);
    const d = { q: before.manifests - q.manifests, o: before.manifests - o.manifests };
    if (d.q !== d.o || q.storages !== o.storages || q.files !== o.files)
      throw new Error(
        `round ${round + 1}: the two sides differ: manifests deleted Quay ${d.q}, TS ${d.o}; blob rows left Quay ${q.storages}, TS ${o.storages}; files left Quay ${q.files}, TS ${o.files}`,
      );
    if (d.q === 0) throw new Error(`round ${round + 1}: nothing was collected`);
    deleted = d.q;
    for (const name of ['quay-python', 'TS'] as const) {
      results[name].push(deleted / seconds[name]!);
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} ${name}: ${deleted} manifests in ${seconds[name]!.toFixed(2)} s (blob rows ${before.storages} → ${q.storages}, files ${before.files} → ${q.files})\n`,
      );
    }
  }
  console.log("bench/gc — garbage collection, manifests collected per second, TS vs real Quay's, copies of the same data, same run");
  console.log(
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${taskset ? 'collectors pinned to cpu 1' : 'no pinning'}; SQLite; ${REPOS} repositories × ${TAGS} expired tags = ${deleted} manifests per round, ${ROUNDS} rounds each (median)`,
  );
  console.log('');
  console.log(
    versusQuayTable(
      'collector',
      'manifests/s',
      { label: 'quay-python gc.garbage_collect_repo', rounds: results['quay-python'] },
      { label: 'GarbageCollector.garbageCollectRepo (TS)', rounds: results.TS },
    ),
  );
}

if (process.argv[2] === '--collect') {
  const [dbFile, storageDir, configFile, ids] = process.argv.slice(3);
  collectChild(dbFile!, storageDir!, configFile!, JSON.parse(ids!) as number[]).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error((e as Error).stack ?? String(e));
      process.exit(1);
    },
  );
} else {
  main()
    .then(
      () => 0,
      (e: unknown) => {
        console.error(`bench:gc failed: ${(e as Error).stack ?? String(e)}`);
        return 1;
      },
    )
    .then(async (code) => {
      await shutdown();
      process.exit(code);
    });
}
