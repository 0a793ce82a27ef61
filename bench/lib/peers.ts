/**
 * The registries the registry and auth benchmarks compare, started as one
 * process each and pinned to cpu 1 (the clients get cpu 0):
 *
 *   docker-registry   Debian's CNCF Distribution 2.8, anonymous, its own data directory;
 *   quay-python       real Quay (../shared/quay-python, unmodified source): one gunicorn
 *                     process with one gevent worker, its own redis, Quay's initdb test
 *                     data on SQLite (or PostgreSQL), LocalStorage;
 *   quay serve        the TS side: `quay serve --mode standalone` reading that same Quay's
 *                     config.yaml, so the very same database and storage directory.
 *
 * Everything started here is stopped when the process exits (SIGINT and
 * SIGTERM included): children are killed, then real Quay is stopped by its
 * recorded pids and its state directory removed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QUAY_PYTHON, requireQuayPython, startQuayPython, type QuayPython } from '../../test/lib/quay-python.js';
import { blobKey } from '../../storage/paths.js';
import { children, freePort, pinned, taskset, waitFor } from './procs.js';

/** A registry under test, as the clients reach it. */
export interface Peer {
  readonly name: string;
  readonly base: string;
  /** The process serving requests (for RSS): for Quay, the gunicorn worker. */
  readonly pid: number;
  /** Sent with every request: `authorization: Bearer …` where the peer wants a token. */
  headers: Record<string, string>;
  /** Where the peer's storage keeps a blob's bytes (for the benchmark to free them between rounds). */
  readonly blobFile: (digest: string) => string;
}

/** Quay's LocalStorage layout, the TS side's too (registryd/storage/paths.ts). */
const quayBlobFile =
  (storageDir: string) =>
  (digest: string): string =>
    join(storageDir, ...blobKey(digest).split('/'));

/** The devtable user of Quay's initdb test data. */
export const QUAY_USER = { name: 'devtable', password: 'password' } as const;

const teardowns: (() => unknown)[] = [];

/** What a bench started that shutdown() (and onExit) must stop: the `t` startQuayPython takes. */
export const atShutdown = {
  teardown: (fn: () => unknown): void => {
    teardowns.push(fn);
  },
};

/**
 * Stops what was started: children first (the TS side has Quay's database
 * open), then real Quay and what startQuayPython set up (its PostgreSQL
 * database is dropped asynchronously, hence awaited here), last first.
 */
export async function shutdown(): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  for (const fn of teardowns.splice(0).reverse()) {
    try {
      await fn();
    } catch (e) {
      console.error(`teardown: ${String(e)}`);
    }
  }
}

/**
 * At exit, whatever shutdown() did not get to (a crash), as far as a sync
 * handler can, then `cleanup`; SIGINT and SIGTERM shut down first.
 */
export function onExit(cleanup: () => void): void {
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    for (const fn of teardowns.splice(0).reverse()) {
      try {
        fn();
      } catch (e) {
        console.error(`teardown: ${String(e)}`);
      }
    }
    cleanup();
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      void shutdown().finally(() => process.exit(code));
    });
  }
}

/** Fails loudly, with the install command, when real Quay cannot run here. */
export function requireQuay(bench: string): void {
  try {
    requireQuayPython();
  } catch (e) {
    console.error(`${bench} needs real Quay (Python) as a peer: ${(e as Error).message}\ninstall it with: bash ${join(QUAY_PYTHON, 'install-deps.sh')}`);
    process.exit(2);
  }
}

/** docker-registry (Distribution 2.8), anonymous, data under dir/distribution. */
export async function startDistribution(bin: string, dir: string): Promise<Peer> {
  const port = await freePort();
  const d = join(dir, 'distribution');
  mkdirSync(d, { recursive: true });
  const conf = join(d, 'config.yml');
  writeFileSync(
    conf,
    `version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${d}/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:${port}, secret: bench}
health: {storagedriver: {enabled: false}}
`,
  );
  const [cmd, args] = pinned('1', bin, ['serve', conf]);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
  const blobFile = (digest: string): string => {
    const hex = digest.slice('sha256:'.length);
    return join(d, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  };
  return { name: 'docker-registry', base, pid: c.pid!, headers: {}, blobFile };
}

/** `quay serve --mode standalone --tls off` (the TS side) on cpu 1, logging errors only. */
export async function startQuayServe(root: string, name: string, config: string, dataDir: string, storageDir: string): Promise<Peer> {
  const listen = await freePort();
  const [cmd, args] = pinned('1', process.execPath, [
    join(root, 'bin', 'quay.js'),
    'serve',
    '--mode',
    'standalone',
    '--tls',
    'off',
    '--config',
    config,
    '--data-dir',
    dataDir,
    '--listen',
    `127.0.0.1:${listen}`,
    '--admin-listen',
    `127.0.0.1:${await freePort()}`,
  ]);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'error' } });
  children.push(c);
  const base = `http://127.0.0.1:${listen}`;
  await waitFor(`${base}/v2/`);
  return { name, base, pid: c.pid!, headers: {}, blobFile: quayBlobFile(storageDir) };
}

/** `pid` and its descendants (from /proc). */
function processTree(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* gone */
  }
  return [pid, ...kids.flatMap(processTree)];
}

export type BenchDatabase = 'sqlite' | 'postgres';

/** BENCH_DATABASE: `postgres` (default: Quay's production database, on the machine's PostgreSQL) or `sqlite` (one file). */
export function benchDatabase(): BenchDatabase {
  const v = process.env.BENCH_DATABASE ?? 'postgres';
  if (v !== 'postgres' && v !== 'sqlite') {
    console.error(`BENCH_DATABASE=${v}: use postgres or sqlite`);
    process.exit(2);
  }
  return v;
}

export interface QuayPair {
  readonly quay: Peer;
  readonly ts: Peer;
  /** SERVER_HOSTNAME: the `service` of /v2/auth and the tokens' audience, the same for both. */
  readonly service: string;
  readonly python: QuayPython;
}

/**
 * Real Quay (gunicorn master and its one gevent worker pinned to cpu 1; its
 * redis, which none of the measured calls touch, left alone) and the TS side
 * on Quay's own config.yaml: the same database, storage directory, instance
 * key table and SERVER_HOSTNAME. Tokens either side issues work on both.
 */
export async function startQuayPair(root: string, dir: string, database: BenchDatabase): Promise<QuayPair> {
  // Quay's container runs its registry gunicorn with DB_CONNECTION_POOLING=true (quay-entrypoint.sh);
  // without it every request opens a new PostgreSQL connection (data/database.py).
  const pooling = process.env.DB_CONNECTION_POOLING;
  process.env.DB_CONNECTION_POOLING = 'true';
  let python: QuayPython;
  try {
    python = await startQuayPython(atShutdown, { database });
  } catch (e) {
    throw database === 'postgres' ? new Error(`${(e as Error).message}\n(BENCH_DATABASE=sqlite runs both on one SQLite file instead)`, { cause: e }) : e;
  } finally {
    if (pooling === undefined) delete process.env.DB_CONNECTION_POOLING;
    else process.env.DB_CONNECTION_POOLING = pooling;
  }
  quayLog = () => python.log();
  const master = Number(readFileSync(join(python.run, 'quay.pid'), 'utf8').trim());
  const tree = processTree(master);
  if (taskset) for (const pid of tree) spawnSync(taskset, ['-a', '-p', '-c', '1', String(pid)], { stdio: 'ignore' });
  if (tree.length !== 2) throw new Error(`real Quay: expected gunicorn and one worker, found processes ${tree.join(', ')}`);
  const worker = tree[1]!;
  const ts = await startQuayServe(root, 'quay serve (TS)', python.configFile, join(dir, 'ts-data'), python.storageDir);
  const quay: Peer = { name: 'quay-python', base: python.url, pid: worker, headers: {}, blobFile: quayBlobFile(python.storageDir) };
  return { quay, ts, service: `127.0.0.1:${python.port}`, python };
}

let quayLog: (() => string) | null = null;

/** The last `lines` lines of real Quay's log, when it was started: for a failure report. */
export function quayLogTail(lines = 30): string {
  return quayLog ? quayLog().trimEnd().split('\n').slice(-lines).join('\n') : '';
}

/** A token from `/v2/auth` (Basic `user:password` when given, else anonymous). */
export async function issueToken(base: string, service: string, scope: string, basic?: string): Promise<string> {
  const r = await fetch(`${base}/v2/auth?service=${encodeURIComponent(service)}&scope=${encodeURIComponent(scope)}`, {
    headers: basic ? { authorization: `Basic ${Buffer.from(basic).toString('base64')}` } : {},
  });
  if (r.status !== 200) throw new Error(`${base}/v2/auth: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

/** Gives each peer of the pair a bearer token it issued itself, for `scope`, by devtable's password. */
export async function bearerTokens(pair: QuayPair, scope: string): Promise<void> {
  for (const p of [pair.quay, pair.ts]) {
    p.headers = { authorization: `Bearer ${await issueToken(p.base, pair.service, scope, `${QUAY_USER.name}:${QUAY_USER.password}`)}` };
  }
}
