/**
 * The real Python Quay (../shared/quay-python: Quay's unmodified source on
 * Debian's packages, gunicorn + a private redis) as a test fixture: its own
 * state directory, ports, redis and SQLite database laid down by Quay's own
 * initdb.py (users devtable, public, reader, freshuser with password
 * `password`; org buynlarge; repositories devtable/simple, public/publicrepo…).
 * Started with the recipe's scripts, stopped by its own pids at teardown.
 *
 * `serverHostname` must be how clients reach it: behind the switchboard, the
 * switchboard's host:port (the /v2/auth realm and token audience are built
 * from it). A missing part fails loudly: scripts/test.sh installs Quay's
 * Debian packages (install-deps.sh).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freshPgDatabase } from '../../dal/test/lib/postgres.js';
import { ROOT, freePort, run as runProcess, startChild, tempDir, waitForLog, type Child, type TLike } from './proc.js';

/**
 * Where the recipe is: $QUAY_PYTHON_DIR, else `../shared/quay-python` beside
 * the checkout, else the workplace's /work/shared (a clone elsewhere, as CI's).
 */
export const QUAY_PYTHON =
  [process.env.QUAY_PYTHON_DIR, resolve(ROOT, '..', 'shared', 'quay-python'), '/work/shared/quay-python'].find(
    (d): d is string => typeof d === 'string' && d !== '' && existsSync(join(d, 'start.sh')),
  ) ?? resolve(ROOT, '..', 'shared', 'quay-python');

export interface QuayPythonOptions {
  /** How clients reach it (SERVER_HOSTNAME); default its own 127.0.0.1:port. */
  serverHostname?: string;
  /** `sqlite` (default): $QUAY_RUN/quay.db. `postgres`: a fresh database on the machine's PostgreSQL, dropped at teardown. */
  database?: 'sqlite' | 'postgres';
  /**
   * `initdb` (default): Quay's test data (initdb.py). `alembic`: Quay's own
   * migrations on an empty database (production shape). `none`: the database
   * already holds a schema (`existingDatabase`, e.g. one the TS side laid down).
   */
  schema?: 'initdb' | 'alembic' | 'none';
  /** With schema `none`: a PostgreSQL URL (postgres://…) Quay should use as it is. */
  existingDatabase?: string;
  /** Start gunicorn now (default true); otherwise call start() later. */
  start?: boolean;
}

export interface QuayPython {
  readonly port: number;
  readonly url: string;
  /** Its state directory (QUAY_RUN): config, database, storage, logs. */
  readonly run: string;
  /** Quay's config.yaml (conf/stack/config.yaml): the TS side reads the same file. */
  readonly configFile: string;
  /** DB_URI as Quay's config holds it. */
  readonly dbUri: string;
  /** The same database as a URI for the TS side (a file path for SQLite). */
  readonly database: string;
  /** LocalStorage root of the `local_us` location. */
  readonly storageDir: string;
  /** gunicorn's log so far. */
  log(): string;
  /** Starts gunicorn (and its redis) when it is not running. */
  start(): void;
  stop(): void;
  /**
   * Runs Python in Quay's environment (env.sh, its config, its database;
   * the working directory is Quay's source, so `from app import app` and
   * `from data.queue import WorkQueue` work). Resolves with its output;
   * rejects, with both streams, when it exits non-zero.
   */
  python(code: string, o?: { readonly timeoutMs?: number }): Promise<string>;
  /** The same, as a child process still running (a Quay worker, a long loop); stopped at teardown. */
  spawnPython(code: string): Child;
}

/** Throws, naming what is missing, unless real Quay can run here. */
export function requireQuayPython(): void {
  if (!existsSync(join(QUAY_PYTHON, 'start.sh')))
    throw new Error(`real Quay is not at ${QUAY_PYTHON} (../shared/quay-python beside the checkout, /work/shared/quay-python, or $QUAY_PYTHON_DIR)`);
  const py = spawnSync('/usr/bin/python3', ['-c', 'import peewee, flask, gunicorn, gevent, authlib, alembic'], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`Quay's Debian packages are missing (run ${join(QUAY_PYTHON, 'install-deps.sh')}, as scripts/test.sh does): ${py.stderr.trim()}`);
  for (const bin of ['redis-server', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) throw new Error(`${bin} is missing (scripts/test.sh installs it)`);
  }
}

/**
 * A fresh database on the machine's PostgreSQL with pg_trgm (Quay's
 * repository search indexes need it), dropped at teardown.
 */
export async function quayPgDatabase(t: TLike): Promise<{ name: string; url: string }> {
  const db = await freshPgDatabase(t);
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  } finally {
    await c.end();
  }
  return db;
}

/**
 * Lays Quay's schema down on `dbUri` the way Quay does (`alembic upgrade
 * head`, or initdb.py's test data), with a config written from the recipe's
 * template into `run`. The recipe's setup.sh does the same for SQLite; for
 * PostgreSQL it recreates one fixed database name on its own cluster, so the
 * fixture runs these steps itself to get a database per test.
 */
function layDown(env: NodeJS.ProcessEnv, schema: 'initdb' | 'alembic' | 'none', postgres: boolean): void {
  const steps = `set -euo pipefail
. "$QUAY_HOME_DIR/env.sh"
mkdir -p "$QUAY_RUN/conf/stack" "$QUAY_RUN/storage"
"$QUAY_HOME/redis.sh"
sed -e "s#@HOSTNAME@#$QUAY_SERVER_HOSTNAME#g; s#@SCHEME@#$QUAY_URL_SCHEME#g; s#@PORT@#$QUAY_PORT#g; s#@RUN@#$QUAY_RUN#g; s#@REDISPORT@#$QUAY_REDIS_PORT#g; s#@DBURI@#$QUAY_DB_URI#g" \
  "$QUAY_HOME/config.yaml.tmpl" > "$QUAY_RUN/conf/stack/config.yaml"
cd "$QUAY_SRC"
${postgres ? 'export TEST_DATABASE_URI="$QUAY_DB_URI"  # initdb.py refuses other databases without it' : ''}
if [ "${schema}" = none ]; then :
elif [ "${schema}" = alembic ]; then $PY -m alembic upgrade head > "$QUAY_RUN/alembic.log" 2>&1 || { tail -30 "$QUAY_RUN/alembic.log"; exit 1; }
else LOGGING_LEVEL=WARNING $PY initdb.py > "$QUAY_RUN/initdb.log" 2>&1 || { tail -30 "$QUAY_RUN/initdb.log"; exit 1; }; fi
$PY boot.py > "$QUAY_RUN/boot.log" 2>&1 || { tail -30 "$QUAY_RUN/boot.log"; exit 1; }
`;
  const r = spawnSync('bash', ['-c', steps], { env: { ...env, QUAY_HOME_DIR: QUAY_PYTHON }, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0)
    throw new Error(
      `real Quay: laying down ${schema} on ${postgres ? 'PostgreSQL' : 'SQLite'} failed (status ${String(r.status)}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`,
    );
}

export async function startQuayPython(t: TLike, opts: QuayPythonOptions = {}): Promise<QuayPython> {
  requireQuayPython();
  const run = tempDir(t, 'quay-python-');
  const port = await freePort();
  const redisPort = await freePort();
  const schema = opts.schema ?? 'initdb';
  if ((schema === 'none') !== (opts.existingDatabase !== undefined)) throw new Error("startQuayPython: schema 'none' goes with existingDatabase, and only with it");
  const postgres = opts.database === 'postgres' || opts.existingDatabase !== undefined;
  const pgDb = opts.existingDatabase !== undefined ? { url: opts.existingDatabase } : postgres ? await quayPgDatabase(t) : undefined;
  const sqliteFile = join(run, 'quay.db');
  // Peewee and SQLAlchemy take postgresql:// (the pg driver takes it too).
  const dbUri = pgDb ? pgDb.url.replace(/^postgres:/, 'postgresql:') : `sqlite:///${sqliteFile}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    QUAY_RUN: run,
    QUAY_PORT: String(port),
    QUAY_REDIS_PORT: String(redisPort),
    QUAY_SERVER_HOSTNAME: opts.serverHostname ?? `127.0.0.1:${port}`,
    QUAY_URL_SCHEME: 'http',
    QUAY_DB_URI: dbUri,
  };
  delete env.TEST; // Quay switches to its test config when TEST is set
  const script = (name: string, timeoutMs: number): void => {
    const r = spawnSync('bash', [join(QUAY_PYTHON, name)], { env, encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0) {
      spawnSync('bash', [join(QUAY_PYTHON, 'stop.sh')], { env });
      throw new Error(`real Quay: ${name} failed (status ${String(r.status)}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`);
    }
  };
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    spawnSync('bash', [join(QUAY_PYTHON, 'stop.sh')], { env, timeout: 30_000 });
  };
  t.teardown(() => {
    if (!stopped) stop();
  });
  try {
    if (!postgres && schema === 'initdb') script('setup.sh', 180_000);
    else layDown(env, schema, postgres);
  } catch (err) {
    stop();
    throw err;
  }
  const start = (): void => {
    stopped = false;
    script('start.sh', 120_000);
  };
  if (opts.start ?? true) start();
  const logFile = join(run, 'quay.log');
  const pyEnv = { ...env, QUAY_HOME_DIR: QUAY_PYTHON, QUAY_PY_CODE: '' };
  const pyCommand = '. "$QUAY_HOME_DIR/env.sh" && cd "$QUAY_SRC" && exec $PY -c "$QUAY_PY_CODE"';
  const python = async (code: string, o: { readonly timeoutMs?: number } = {}): Promise<string> => {
    const r = await runProcess('bash', ['-c', pyCommand], { env: { ...pyEnv, QUAY_PY_CODE: code }, timeoutMs: o.timeoutMs ?? 120_000 });
    if (r.code !== 0) throw new Error(`real Quay's python exited ${String(r.code ?? r.signal)}:\n${r.stdout}\n${r.stderr.split('\n').slice(-40).join('\n')}`);
    return r.stdout;
  };
  return {
    python,
    spawnPython: (code) => startChild(t, 'bash', ['-c', pyCommand], { env: { ...pyEnv, QUAY_PY_CODE: code } }),
    port,
    url: `http://127.0.0.1:${port}`,
    run,
    stop,
    start,
    dbUri,
    configFile: join(run, 'conf', 'stack', 'config.yaml'),
    database: pgDb ? pgDb.url : sqliteFile,
    storageDir: join(run, 'storage'),
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
}

export interface QuayServe {
  /** The /v2 listener's port. */
  readonly port: number;
  readonly child: Child;
}

/**
 * The TS runtime on real Quay's own config.yaml (`quay serve --mode standalone
 * --config <Quay's> --tls off`): the same database, storage and hostname as
 * Quay. Resolves once it logs "quay serving"; `what` names it in the error.
 */
export async function startQuayServe(
  t: TLike,
  o: {
    readonly configFile: string;
    readonly dataDir: string;
    readonly what: string;
    readonly env?: NodeJS.ProcessEnv;
    /** The checkout holding bin/quay.js (default ROOT; code run from dist/ finds its own). */
    readonly root?: string;
  },
): Promise<QuayServe> {
  const root = o.root ?? ROOT;
  const port = await freePort();
  const args = ['serve', '--mode', 'standalone', '--config', o.configFile, '--data-dir', o.dataDir, '--listen', `127.0.0.1:${port}`];
  args.push('--admin-listen', `127.0.0.1:${await freePort()}`, '--tls', 'off');
  const child = startChild(t, process.execPath, [join(root, 'bin/quay.js'), ...args], { cwd: root, ...(o.env ? { env: o.env } : {}) });
  await waitForLog(child, /"msg":"quay serving"/, o.what);
  return { port, child };
}
