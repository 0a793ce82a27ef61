/**
 * bench/auth — what Quay's auth costs on the hot path, on the TS side and on
 * real Quay, in one run with the same clients:
 *   - docker-registry (Distribution 2.8), anonymous: the peer with no auth at all;
 *   - quay-python: real Quay, one gunicorn process with one gevent worker, Quay's initdb
 *     test data on PostgreSQL (BENCH_DATABASE=sqlite: its SQLite file);
 *   - quay serve (TS): `--mode standalone` on that Quay's own config.yaml: the same
 *     database and storage;
 *   - quay serve (TS), anonymous: the same with AUTHENTICATION_TYPE Anonymous, so the
 *     difference from the row above is the auth alone.
 * Each registry is pinned to cpu 1, wrk to cpu 0 (bench/lib/peers.ts).
 *
 * Measured, alternating between the peers after an untimed warm-up:
 *   - manifest GET of the private devtable/bench:latest (by tag, Accept header), wrk
 *     -c BENCH_CONNECTIONS: Quay and the TS side with a bearer token each issued itself
 *     (RS256 verification and the grant check on every call; the TS side remembers a
 *     verified token for at most a minute, Quay verifies each time);
 *   - /v2/auth with Basic devtable:password, one connection (wrk -c1): both check the
 *     password with bcrypt (cost 12, initdb's hash) on every call. One at a time, because
 *     the TS side lets concurrent identical logins share one bcrypt run (login-queue.ts),
 *     which would flatter it;
 *   - /v2/auth without credentials for public/publicrepo (anonymous pull token: RS256
 *     signing and the repository lookup, no bcrypt), wrk -c BENCH_CONNECTIONS.
 *
 *   npm run bench:auth          (needs docker-registry, wrk and real Quay:
 *                                bash /work/shared/quay-python/install-deps.sh)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { columns, wrkBin } from './lib/procs.js';
import {
  QUAY_USER,
  bearerTokens,
  benchDatabase,
  onExit,
  quayLogTail,
  requireQuay,
  shutdown,
  startDistribution,
  startQuayPair,
  startQuayServe,
  type Peer,
  type QuayPair,
} from './lib/peers.js';
import { wrkAlternating, type LoadFigures } from './lib/load.js';
import { OCI_MANIFEST, pushSmallImage } from './lib/registry-client.js';
import { machineLine, ms, progress, rate, ratio } from './lib/figures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DATABASE = benchDatabase();
const REPO = 'devtable/bench';
const PUBLIC_REPO = 'public/publicrepo';

const registryBin = ['/usr/bin/docker-registry'].find((p) => existsSync(p));
if (!registryBin || !wrkBin) {
  console.error('bench:auth needs docker-registry and wrk: apt-get install -y docker-registry wrk');
  process.exit(2);
}
requireQuay('bench:auth');
const dir = mkdtempSync(join(tmpdir(), 'swb-bench-auth-'));
onExit(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The TS side on the same database and storage with AUTHENTICATION_TYPE
 * Anonymous (a Switchboard extension: no login, everyone pulls): what the
 * TS side costs without auth, the database work being equal.
 */
async function anonymousTs(pair: QuayPair): Promise<Peer> {
  const config = join(dir, 'ts-anonymous.yaml');
  const quayConfig = YAML.parse(readFileSync(pair.python.configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(config, YAML.stringify({ ...quayConfig, AUTHENTICATION_TYPE: 'Anonymous' }));
  return startQuayServe(root, 'quay serve (TS), anonymous', config, join(dir, 'ts-anonymous'), pair.python.storageDir);
}

/** The peer with other headers (same process). */
const withHeaders = (p: Peer, headers: Record<string, string>): Peer => ({ ...p, headers });

async function expectStatus(p: Peer, path: string, status: number): Promise<void> {
  const r = await fetch(`${p.base}${path}`, { headers: { ...p.headers, accept: OCI_MANIFEST } });
  await r.arrayBuffer();
  if (r.status !== status) throw new Error(`${p.name} GET ${path}: ${r.status}, expected ${status}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log("bench/auth — the cost of Quay's auth: the TS side (quay serve) vs real Quay (gunicorn), docker-registry without auth as the floor");
  console.log(machineLine());
  console.log(
    `TS and Quay: one database (${DATABASE}); manifest GET wrk -t1 -c${CONNECTIONS} ${DURATION} s per peer; /v2/auth password logins one at a time (bcrypt cost 12 each), anonymous tokens -c${CONNECTIONS}`,
  );
  console.log('');
  progress('starting real Quay, the TS side on its database, the TS side in anonymous mode, docker-registry');
  const pair = await startQuayPair(root, dir, DATABASE);
  const dist = await startDistribution(registryBin!, dir);
  const anon = await anonymousTs(pair);
  await bearerTokens(pair, `repository:${REPO}:pull,push`);
  progress(', images');
  // One image for the three on Quay's database, pushed through Quay; the same one to docker-registry.
  for (const p of [pair.quay, dist]) await pushSmallImage(p, REPO, ['latest']);
  await bearerTokens(pair, `repository:${REPO}:pull`);
  const manifest = `/v2/${REPO}/manifests/latest`;
  for (const p of [pair.quay, pair.ts]) {
    await expectStatus(withHeaders(p, {}), manifest, 401); // private: nothing without the token
    await expectStatus(p, manifest, 200);
  }
  await expectStatus(anon, manifest, 200);
  const login = `/v2/auth?service=${encodeURIComponent(pair.service)}&scope=${encodeURIComponent(`repository:${REPO}:pull`)}`;
  const anonToken = `/v2/auth?service=${encodeURIComponent(pair.service)}&scope=${encodeURIComponent(`repository:${PUBLIC_REPO}:pull`)}`;
  const basic = { authorization: `Basic ${Buffer.from(`${QUAY_USER.name}:${QUAY_USER.password}`).toString('base64')}` };
  for (const p of [pair.quay, pair.ts]) {
    await expectStatus(withHeaders(p, basic), login, 200);
    await expectStatus(withHeaders(p, {}), anonToken, 200);
  }
  progress('\nmanifest GET');
  const manifests = wrkAlternating([dist, anon, pair.quay, pair.ts], manifest, DURATION, CONNECTIONS, ['-H', `Accept: ${OCI_MANIFEST}`]);
  progress(' /v2/auth password');
  const logins = wrkAlternating(
    [pair.quay, pair.ts].map((p) => withHeaders(p, basic)),
    login,
    DURATION,
    1,
    [],
    1,
  );
  progress(' /v2/auth anonymous');
  const anonymous = wrkAlternating(
    [pair.quay, pair.ts].map((p) => withHeaders(p, {})),
    anonToken,
    DURATION,
    CONNECTIONS,
  );
  progress('\n\n');

  const d = manifests.get(dist.name)!;
  const q = manifests.get(pair.quay.name)!;
  const rows = [['manifest GET', 'auth', 'requests/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU µs/request', 'vs docker-registry', 'vs quay-python']];
  const auth = new Map([
    [dist.name, 'none'],
    [anon.name, 'none'],
    [pair.quay.name, 'bearer'],
    [pair.ts.name, 'bearer'],
  ]);
  for (const [name, f] of manifests) {
    rows.push([name, auth.get(name)!, rate(f.rps), ms(f.p50ms), ms(f.p99ms), String(f.errors), f.cpuUsPerRequest.toFixed(0), ratio(f.rps, d.rps), ratio(f.rps, q.rps)]);
  }
  console.log(columns(rows));
  console.log('');
  const authRows = [['/v2/auth', 'quay serve (TS)', 'quay-python', 'TS/Quay']];
  const pairRows = (label: string, m: Map<string, LoadFigures>): void => {
    const t = m.get(pair.ts.name)!;
    const p = m.get(pair.quay.name)!;
    authRows.push([`${label} tokens/s`, rate(t.rps), rate(p.rps), ratio(t.rps, p.rps)]);
    authRows.push([`${label} p50 / p99 ms`, `${ms(t.p50ms)} / ${ms(t.p99ms)}`, `${ms(p.p50ms)} / ${ms(p.p99ms)}`, '']);
    authRows.push([`${label} server CPU ms/token`, ms(t.cpuUsPerRequest / 1000), ms(p.cpuUsPerRequest / 1000), ratio(t.cpuUsPerRequest, p.cpuUsPerRequest)]);
    authRows.push([`${label} errors`, String(t.errors), String(p.errors), '']);
  };
  pairRows('password (bcrypt 12), 1 connection:', logins);
  pairRows(`anonymous, public repo, ${CONNECTIONS} connections:`, anonymous);
  console.log(columns(authRows));
  console.log('');
  console.log(machineLine());
  console.log(`took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const t = manifests.get(pair.ts.name)!;
  const a = manifests.get(anon.name)!;
  const verdict = t.rps >= d.rps && t.errors === 0 ? 'PASS' : 'FAIL';
  console.log(
    `auth: manifest GET with a bearer token TS/Quay ${ratio(t.rps, q.rps)}, TS/docker-registry (anonymous) ${ratio(t.rps, d.rps)} (target ≥ 1.0×: ${verdict}), ` +
      `TS bearer/TS anonymous ${ratio(t.rps, a.rps)}; /v2/auth TS/Quay: password ${ratio(logins.get(pair.ts.name)!.rps, logins.get(pair.quay.name)!.rps)}, ` +
      `anonymous ${ratio(anonymous.get(pair.ts.name)!.rps, anonymous.get(pair.quay.name)!.rps)}`,
  );
}

main()
  .then(shutdown)
  .then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`bench:auth failed: ${(e as Error).stack ?? String(e)}\nreal Quay's log ends:\n${quayLogTail(60)}`);
      void shutdown().finally(() => process.exit(1));
    },
  );
