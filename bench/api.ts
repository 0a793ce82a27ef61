/**
 * bench/api — Quay's /api/v1 reads on the TS side and on real Quay, in one
 * run, on one database (Quay's initdb test data; BENCH_DATABASE=sqlite for
 * its SQLite file, default PostgreSQL):
 *   - quay-python: real Quay, one gunicorn process with one gevent worker (cpu 1);
 *   - quay serve (TS): `--mode standalone` on that Quay's config.yaml (cpu 1).
 * wrk on cpu 0, -c BENCH_CONNECTIONS, BENCH_SECONDS per peer, alternating
 * after an untimed warm-up (bench/lib/load.ts).
 *
 * Rows: repository GET, the tag list, the organisation GET and the signed-in
 * user, each with a browser session (a Flask cookie made by Python's
 * sign-in) and with an OAuth bearer token (Quay checks its bcrypt hash on
 * every call; the TS side remembers a verified token for a minute, keyed by
 * the token and its stored hash, and re-reads the row on every call).
 * Target (issue 17): TS ≥ 10× Quay's requests/s with a lower p99.
 *
 *   npm run bench:api        (needs wrk and real Quay: bash /work/shared/quay-python/install-deps.sh)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { columns, wrkBin } from './lib/procs.js';
import { benchDatabase, onExit, quayLogTail, requireQuay, shutdown, startQuayPair, type Peer } from './lib/peers.js';
import { wrkAlternating } from './lib/load.js';
import { machineLine, ms, progress, rate, ratio } from './lib/figures.js';
import { insertOAuthToken, pythonSessionCookie } from '../test/lib/api-contract.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const DATABASE = benchDatabase();
const TARGET = 10;

if (!wrkBin) {
  console.error('bench:api needs wrk: apt-get install -y wrk');
  process.exit(2);
}
requireQuay('bench:api');
const dir = mkdtempSync(join(tmpdir(), 'swb-bench-api-'));
onExit(() => rmSync(dir, { recursive: true, force: true }));

const ROWS: readonly [string, string][] = [
  ['repository GET', '/api/v1/repository/devtable/simple'],
  ['tag list', '/api/v1/repository/devtable/simple/tag/'],
  ['organization GET', '/api/v1/organization/buynlarge'],
  ['user/', '/api/v1/user/'],
];

const withHeaders = (p: Peer, headers: Record<string, string>): Peer => ({ ...p, headers });

async function expectSame(peers: readonly Peer[], path: string): Promise<void> {
  const answers: string[] = [];
  for (const p of peers) {
    // gunicorn closes an idle kept-alive connection after 2 s: a failed fetch is retried once on a new one.
    const get = (): Promise<Response> => fetch(`${p.base}${path}`, { headers: { ...p.headers, 'user-agent': 'node' } });
    const r = await get().catch(get);
    const body = await r.text();
    if (r.status !== 200) throw new Error(`${p.name} GET ${path}: ${r.status} ${body.slice(0, 200)}`);
    answers.push(body);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log("bench/api — Quay's /api/v1 reads: the TS side (quay serve) vs real Quay (gunicorn, one gevent worker), one database");
  console.log(machineLine());
  console.log(`one database (${DATABASE}); wrk -t1 -c${CONNECTIONS} ${DURATION} s per peer per row, alternating; wrk on cpu 0, each server on cpu 1`);
  console.log('');
  progress('starting real Quay and the TS side on its database');
  const pair = await startQuayPair(root, dir, DATABASE);
  const cookie = `_csrf_token=${await pythonSessionCookie(pair.quay.base, 'devtable')}`;
  const token = await insertOAuthToken(pair.python.database, 'devtable', 'repo:admin user:read org:admin');
  const auths: readonly [string, Record<string, string>][] = [
    ['session', { cookie, 'user-agent': 'node' }],
    ['OAuth token', { authorization: `Bearer ${token}`, 'user-agent': 'node' }],
  ];
  const table = [['row', 'auth', 'quay-python req/s', 'TS req/s', 'TS/Quay', 'p99 Quay ms', 'p99 TS ms', 'errors Quay/TS', 'verdict']];
  let failed = 0;
  for (const [label, path] of ROWS) {
    for (const [auth, headers] of auths) {
      const peers = [withHeaders(pair.quay, headers), withHeaders(pair.ts, headers)];
      await expectSame(peers, path);
      progress(` ${label} (${auth})`);
      const figures = wrkAlternating(peers, path, DURATION, CONNECTIONS);
      const q = figures.get(pair.quay.name)!;
      const t = figures.get(pair.ts.name)!;
      const pass = t.rps >= TARGET * q.rps && t.p99ms < q.p99ms && t.errors === 0;
      if (!pass) failed++;
      table.push([label, auth, rate(q.rps), rate(t.rps), ratio(t.rps, q.rps), ms(q.p99ms), ms(t.p99ms), `${q.errors}/${t.errors}`, pass ? 'PASS' : 'FAIL']);
    }
  }
  progress('\n\n');
  console.log(columns(table));
  console.log('');
  console.log(machineLine());
  console.log(`took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(`api: ${table.length - 1 - failed} of ${table.length - 1} rows meet the target (TS ≥ ${TARGET}× Quay's requests/s with a lower p99)`);
}

main()
  .then(shutdown)
  .then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`bench:api failed: ${(e as Error).stack ?? String(e)}\nreal Quay's log ends:\n${quayLogTail(60)}`);
      void shutdown().finally(() => process.exit(1));
    },
  );
