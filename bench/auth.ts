/**
 * bench/auth — what Quay's auth costs on the hot path. Same run, same client:
 *   - docker-registry (Distribution 2.8), anonymous: the peer;
 *   - registryd, anonymous mode (`quay serve --mode mirror --tls off`);
 *   - registryd with database auth: a private repository, every request
 *     carrying the bearer token /v2/auth issued (RS256 verification, grants).
 * Measured: manifest GET requests/s and p99 with wrk (by tag, Accept header),
 * and /v2/auth tokens/s for a user login (bcrypt at Quay's cost 12) and for
 * anonymous pull tokens, sequential, with the registry alone on cpu 1.
 *
 *   npm run bench:auth          (needs docker-registry and wrk from Debian)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { children, columns, freePort, pinned, waitFor, wrk, wrkBin } from './lib/procs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const registryBin = ['/usr/bin/docker-registry'].find((p) => existsSync(p));
if (!registryBin || !wrkBin) {
  console.error('bench:auth needs docker-registry and wrk: apt-get install -y docker-registry wrk');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'swb-bench-auth-'));
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
process.on('SIGINT', () => process.exit(130));

interface Peer { name: string; base: string; headers: Record<string, string> }

async function distribution(): Promise<Peer> {
  const port = await freePort();
  const d = join(dir, 'distribution');
  spawnSync('mkdir', ['-p', d]);
  writeFileSync(join(d, 'config.yml'), `version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${d}/data}}
http: {addr: 127.0.0.1:${port}, secret: bench}
health: {storagedriver: {enabled: false}}
`);
  const [cmd, args] = pinned('1', registryBin!, ['serve', join(d, 'config.yml')]);
  children.push(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
  return { name: 'docker-registry', base, headers: {} };
}

function quay(args: string[], input?: string): string {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'quay.js'), ...args], { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`quay ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function registryd(name: string, database: boolean): Promise<{ peer: Peer; port: number; dataDir: string; config: string }> {
  const port = await freePort();
  const dataDir = join(dir, name);
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, database
    ? `SERVER_HOSTNAME: 127.0.0.1:${port}\nPREFERRED_URL_SCHEME: http\nAUTHENTICATION_TYPE: Database\nDATABASE_SECRET_KEY: ${randomUUID()}\n`
    : `SERVER_HOSTNAME: 127.0.0.1:${port}\n`);
  if (database) quay(['user', 'create', 'bench', '--email', 'bench@example.com', '--password-stdin', '--config', config, '--data-dir', dataDir], 'bench-password\n');
  const [cmd, args] = pinned('1', process.execPath, [join(root, 'bin', 'quay.js'), 'serve', '--mode', 'mirror', '--tls', 'off', '--config', config,
    '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${await freePort()}`]);
  children.push(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'error' } }));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
  return { peer: { name, base, headers: {} }, port, dataDir, config };
}

async function token(base: string, service: string, scope: string, basic?: string): Promise<string> {
  const r = await fetch(`${base}/v2/auth?service=${encodeURIComponent(service)}&scope=${encodeURIComponent(scope)}`, { headers: basic ? { authorization: `Basic ${Buffer.from(basic).toString('base64')}` } : {} });
  if (r.status !== 200) throw new Error(`/v2/auth: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

async function pushImage(p: Peer): Promise<void> {
  const blob = async (data: Buffer): Promise<string> => {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const s = await fetch(`${p.base}/v2/bench/app/blobs/uploads/`, { method: 'POST', headers: p.headers });
    if (s.status !== 202) throw new Error(`${p.name} POST: ${s.status}`);
    const loc = new URL(s.headers.get('location')!, p.base);
    loc.searchParams.set('digest', digest);
    const put = await fetch(loc, { method: 'PUT', headers: { ...p.headers, 'content-type': 'application/octet-stream' }, body: data });
    if (put.status !== 201) throw new Error(`${p.name} PUT blob: ${put.status}`);
    return digest;
  };
  const layer = Buffer.alloc(4096, 7);
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const m = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await blob(cfg), size: cfg.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await blob(layer), size: layer.length }] });
  const put = await fetch(`${p.base}/v2/bench/app/manifests/latest`, { method: 'PUT', headers: { ...p.headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: m });
  if (put.status !== 201) throw new Error(`${p.name} manifest PUT: ${put.status} ${await put.text()}`);
}

async function rate(n: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return n / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const dist = await distribution();
  const anon = (await registryd('registryd-anonymous', false)).peer;
  const authed = await registryd('registryd-database', true);
  const service = `127.0.0.1:${authed.port}`;
  const pushToken = await token(authed.peer.base, service, 'repository:bench/app:push,pull', 'bench:bench-password');
  authed.peer.headers = { authorization: `Bearer ${pushToken}` };
  for (const p of [dist, anon, authed.peer]) await pushImage(p);
  const pullToken = await token(authed.peer.base, service, 'repository:bench/app:pull', 'bench:bench-password');
  authed.peer.headers = { authorization: `Bearer ${pullToken}` };
  const unauth = await fetch(`${authed.peer.base}/v2/bench/app/manifests/latest`);
  if (unauth.status !== 401) throw new Error(`the private repository answered ${unauth.status} without a token`);

  const accept = ['-H', 'Accept: application/vnd.oci.image.manifest.v1+json'];
  const results = new Map<string, { rps: number[]; p99: number[]; errors: number }>();
  for (const p of [dist, anon, authed.peer]) {
    const h = Object.entries(p.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    wrk(`${p.base}/v2/bench/app/manifests/latest`, 2, CONNECTIONS, [...accept, ...h]);
    results.set(p.name, { rps: [], p99: [], errors: 0 });
  }
  for (let round = 0; round < 2; round++) {
    for (const p of [dist, anon, authed.peer]) {
      const h = Object.entries(p.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
      const w = wrk(`${p.base}/v2/bench/app/manifests/latest`, DURATION / 2, CONNECTIONS, [...accept, ...h]);
      const r = results.get(p.name)!;
      r.rps.push(w.rps); r.p99.push(w.p99ms); r.errors += w.errors;
    }
  }
  const loginRate = await rate(8, () => token(authed.peer.base, service, 'repository:bench/app:pull', 'bench:bench-password'));
  const anonRate = await rate(200, () => token(anon.base, service, 'repository:bench/app:pull'));

  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const d = results.get(dist.name)!;
  const rows = [['manifest GET', 'requests/s', 'p99 ms', 'errors', 'vs docker-registry']];
  for (const [name, r] of results) rows.push([name, avg(r.rps).toFixed(0), Math.max(...r.p99).toFixed(3), String(r.errors), `${(avg(r.rps) / avg(d.rps)).toFixed(2)}×`]);
  console.log(columns(rows));
  console.log(`\n/v2/auth tokens/s, sequential: user login (bcrypt cost 12) ${loginRate.toFixed(1)}, anonymous-mode token ${anonRate.toFixed(0)}`);
  const a = results.get('registryd-database')!;
  console.log(`auth: manifest GET with a bearer token ${(avg(a.rps) / avg(d.rps)).toFixed(2)}× docker-registry (anonymous), ${(avg(a.rps) / avg(results.get('registryd-anonymous')!.rps)).toFixed(2)}× registryd anonymous`);
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
