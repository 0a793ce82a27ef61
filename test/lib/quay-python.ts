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
import { ROOT, freePort, tempDir, type TLike } from './proc.js';

/**
 * Where the recipe is: $QUAY_PYTHON_DIR, else `../shared/quay-python` beside
 * the checkout, else the workplace's /work/shared (a clone elsewhere, as CI's).
 */
export const QUAY_PYTHON = [process.env.QUAY_PYTHON_DIR, resolve(ROOT, '..', 'shared', 'quay-python'), '/work/shared/quay-python']
  .find((d): d is string => typeof d === 'string' && d !== '' && existsSync(join(d, 'start.sh'))) ?? resolve(ROOT, '..', 'shared', 'quay-python');

export interface QuayPython {
  readonly port: number;
  readonly url: string;
  /** Its state directory (QUAY_RUN): config, database, storage, logs. */
  readonly run: string;
  /** gunicorn's log so far. */
  log(): string;
  stop(): void;
}

/** Throws, naming what is missing, unless real Quay can run here. */
export function requireQuayPython(): void {
  if (!existsSync(join(QUAY_PYTHON, 'start.sh'))) throw new Error(`real Quay is not at ${QUAY_PYTHON} (../shared/quay-python beside the checkout, /work/shared/quay-python, or $QUAY_PYTHON_DIR)`);
  const py = spawnSync('/usr/bin/python3', ['-c', 'import peewee, flask, gunicorn, gevent, authlib, alembic'], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`Quay's Debian packages are missing (run ${join(QUAY_PYTHON, 'install-deps.sh')}, as scripts/test.sh does): ${py.stderr.trim()}`);
  for (const bin of ['redis-server', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) throw new Error(`${bin} is missing (scripts/test.sh installs it)`);
  }
}

export async function startQuayPython(t: TLike, opts: { serverHostname?: string } = {}): Promise<QuayPython> {
  requireQuayPython();
  const run = tempDir(t, 'quay-python-');
  const port = await freePort();
  const redisPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env, QUAY_RUN: run, QUAY_PORT: String(port), QUAY_REDIS_PORT: String(redisPort),
    QUAY_SERVER_HOSTNAME: opts.serverHostname ?? `127.0.0.1:${port}`, QUAY_URL_SCHEME: 'http',
  };
  delete env.TEST; // Quay switches to its test config when TEST is set
  delete env.QUAY_DB_URI;
  const script = (name: string, timeoutMs: number): void => {
    const r = spawnSync('bash', [join(QUAY_PYTHON, name)], { env, encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0) {
      spawnSync('bash', [join(QUAY_PYTHON, 'stop.sh')], { env });
      throw new Error(`real Quay: ${name} failed (status ${String(r.status)}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`);
    }
  };
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    spawnSync('bash', [join(QUAY_PYTHON, 'stop.sh')], { env, timeout: 30_000 });
  };
  t.teardown(stop);
  script('setup.sh', 180_000);
  script('start.sh', 120_000);
  const logFile = join(run, 'quay.log');
  return {
    port, url: `http://127.0.0.1:${port}`, run, stop,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
}
