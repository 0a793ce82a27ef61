/**
 * bench/registry — registryd against Debian's docker-registry (CNCF
 * Distribution 2.8), same disk, same run, same client.
 *
 *   npm run bench:registry        (needs docker-registry and wrk from Debian)
 *
 * Each registry runs alone on cpu 1 (the clients on cpu 0), with its data in
 * its own directory on the same filesystem. Measured, alternating between the
 * two registries so drift hits both:
 *   - blob push MiB/s: POST, one PATCH streaming the whole blob, PUT ?digest=
 *     (the way skopeo and containerd push), fresh content each time;
 *   - blob pull MiB/s: GET of that blob, with curl (a C client on cpu 0);
 *   - manifest GET requests/s (wrk, by tag, with an Accept header);
 *   - concurrent pushes: BENCH_PARALLEL pushes of 32 MiB at once, aggregate MiB/s.
 * Before timing, each registry gets the same untimed warm-up (a 64 MiB push
 * and six pulls of it): a production registry is a long-running, warm process.
 * Push and pull figures are the median of the rounds.
 * Targets (DESIGN §8, issue 4): ≥ 1.0× Distribution on each.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, createReadStream } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { children, columns, freePort, pinned, rssKiB, taskset, waitFor, wrk, wrkBin } from './lib/procs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB ?? 512);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 8);
const ROUNDS = 3;
const registryBin = ['/usr/bin/docker-registry'].find((p) => existsSync(p));
if (!registryBin || !wrkBin || !existsSync('/usr/bin/curl')) {
  console.error('bench:registry needs docker-registry, wrk and curl: apt-get install -y docker-registry wrk curl');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'swb-bench-registry-'));
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
process.on('SIGINT', () => process.exit(130));

interface Peer { name: string; base: string; pid: number }

async function startDistribution(): Promise<Peer> {
  const port = await freePort();
  const d = join(dir, 'distribution');
  spawnSync('mkdir', ['-p', d]);
  const conf = join(d, 'config.yml');
  writeFileSync(conf, `version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${d}/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:${port}, secret: bench}
health: {storagedriver: {enabled: false}}
`);
  const [cmd, args] = pinned('1', registryBin!, ['serve', conf]);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
  return { name: 'docker-registry', base, pid: c.pid! };
}

async function startRegistryd(): Promise<Peer> {
  const port = await freePort();
  const [cmd, args] = pinned('1', process.execPath, [join(root, 'bin', 'registryd.js'), 'serve', '--data-dir', join(dir, 'registryd'), '--listen', `127.0.0.1:${port}`]);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'error' } });
  children.push(c);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
  return { name: 'registryd', base, pid: c.pid! };
}

/** A file of `mib` MiB whose content depends on `seed`, and its digest. */
function makeBlob(name: string, mib: number, seed: number): { file: string; digest: string; size: number } {
  const file = join(dir, name);
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1048576);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE(((i + seed) * 2654435761) >>> 0, i);
  const h = createHash('sha256');
  for (let i = 0; i < mib; i++) { chunk.writeUInt32LE(i, 0); chunk.writeUInt32LE(seed, 4); writeSync(fd, chunk); h.update(chunk); }
  closeSync(fd);
  return { file, digest: `sha256:${h.digest('hex')}`, size: mib * 1048576 };
}

function send(url: URL, method: string, headers: http.OutgoingHttpHeaders, body?: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res)); });
    req.on('error', reject);
    if (body) createReadStream(body).pipe(req); else req.end();
  });
}

/** POST, one PATCH with the whole blob, PUT ?digest=; returns seconds. */
async function push(p: Peer, repo: string, blob: { file: string; digest: string; size: number }): Promise<number> {
  const t0 = performance.now();
  const start = await send(new URL(`${p.base}/v2/${repo}/blobs/uploads/`), 'POST', { 'content-length': 0 });
  if (start.statusCode !== 202) throw new Error(`${p.name} POST upload: ${start.statusCode}`);
  const loc = new URL(String(start.headers.location), p.base);
  const patch = await send(loc, 'PATCH', { 'content-type': 'application/octet-stream', 'content-length': blob.size }, blob.file);
  if (patch.statusCode !== 202) throw new Error(`${p.name} PATCH: ${patch.statusCode}`);
  const fin = new URL(String(patch.headers.location), p.base);
  fin.searchParams.set('digest', blob.digest);
  const put = await send(fin, 'PUT', { 'content-length': 0 });
  if (put.statusCode !== 201) throw new Error(`${p.name} PUT: ${put.statusCode}`);
  return (performance.now() - t0) / 1000;
}

const curlBin = ['/usr/bin/curl'].find((x) => existsSync(x));

/** GET the blob with curl on cpu 0 (a C client, so the client is not what limits a fast server); server RSS sampled meanwhile. */
async function pull(p: Peer, repo: string, blob: { digest: string; size: number }): Promise<{ secs: number; peakRss: number }> {
  const base = rssKiB(p.pid);
  let peak = base;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKiB(p.pid)); }, 50);
  const [cmd, args] = pinned('0', curlBin!, ['-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `${p.base}/v2/${repo}/blobs/${blob.digest}`]);
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    c.stdout.on('data', (d: Buffer) => { s += d.toString(); });
    c.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`curl exited ${code}`))));
  });
  clearInterval(sampler);
  const [n, secs] = out.trim().split(' ').map(Number) as [number, number];
  if (n !== blob.size) throw new Error(`${p.name} pull: ${n} bytes of ${blob.size}`);
  return { secs, peakRss: (peak - base) / 1024 };
}

async function putManifest(p: Peer, repo: string, layer: { digest: string; size: number }): Promise<void> {
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const cfgDigest = `sha256:${createHash('sha256').update(cfg).digest('hex')}`;
  const cfgFile = join(dir, 'config.json');
  writeFileSync(cfgFile, cfg);
  // Distribution 2.8 ignores ?digest= on POST, so the config goes up in three steps too.
  await push(p, repo, { file: cfgFile, digest: cfgDigest, size: cfg.length });
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgDigest, size: cfg.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }] });
  const put = await fetch(`${p.base}/v2/${repo}/manifests/latest`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  if (put.status !== 201) throw new Error(`${p.name} manifest PUT: ${put.status} ${await put.text()}`);
}

interface Figures { push: number; pull: number; pullRss: number; rps: number; p99: number; errors: number; parallel: number; pushes: number[]; pulls: number[] }

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'registryd', 'main.js'))) throw new Error('run npm run build first');
  console.log('bench/registry — registryd vs docker-registry (Distribution 2.8), same disk, same client, same run');
  console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${taskset ? 'registry under test pinned to cpu 1; clients on cpu 0' : 'no CPU pinning'}`);
  console.log(`push/pull: ${BLOB_MIB} MiB blob, median of ${ROUNDS} rounds alternating; manifest GET: wrk -t1 -c${CONNECTIONS} ${DURATION}s; parallel: ${PARALLEL} × 32 MiB pushes`);
  console.log('');
  const peers = [await startDistribution(), await startRegistryd()];
  const figures = new Map<string, Figures>(peers.map((p) => [p.name, { push: 0, pull: 0, pullRss: 0, rps: 0, p99: 0, errors: 0, parallel: 0, pushes: [], pulls: [] }]));
  const blobs = Array.from({ length: ROUNDS * peers.length }, (_, i) => makeBlob(`blob-${i}.bin`, BLOB_MIB, i + 1));
  // Warm-up, untimed: both servers see the same traffic before measuring (V8's JIT, Go's allocator, the page cache).
  process.stdout.write('warm-up');
  const warm = Array.from({ length: peers.length }, (_, i) => makeBlob(`warm-${i}.bin`, 64, 500 + i));
  for (const [i, p] of peers.entries()) {
    await push(p, 'bench/warm', warm[i]!);
    for (let k = 0; k < 6; k++) await pull(p, 'bench/warm', warm[i]!);
    process.stdout.write('.');
  }
  process.stdout.write(' blob push/pull');
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, p] of peers.entries()) {
      const blob = blobs[r * peers.length + i]!;
      const f = figures.get(p.name)!;
      f.pushes.push(BLOB_MIB / (await push(p, 'bench/app', blob)));
      const got = await pull(p, 'bench/app', blob);
      f.pulls.push(BLOB_MIB / got.secs);
      f.pullRss = Math.max(f.pullRss, got.peakRss);
      process.stdout.write('.');
    }
  }
  for (const f of figures.values()) { f.push = median(f.pushes); f.pull = median(f.pulls); }
  if (process.env.BENCH_VERBOSE) for (const [n, f] of figures) console.log(`\n${n}: pushes ${f.pushes.map((x) => x.toFixed(0)).join(' ')} pulls ${f.pulls.map((x) => x.toFixed(0)).join(' ')}`);
  for (const [i, p] of peers.entries()) await putManifest(p, 'bench/app', blobs[i]!);
  process.stdout.write(' manifest GET');
  for (const p of peers) wrk(`${p.base}/v2/bench/app/manifests/latest`, 2, CONNECTIONS, ['-H', 'Accept: application/vnd.oci.image.manifest.v1+json']);
  for (let r = 0; r < 2; r++) {
    for (const p of peers) {
      const w = wrk(`${p.base}/v2/bench/app/manifests/latest`, DURATION / 2, CONNECTIONS, ['-H', 'Accept: application/vnd.oci.image.manifest.v1+json']);
      const f = figures.get(p.name)!;
      f.rps += w.rps / 2;
      f.p99 += w.p99ms / 2;
      f.errors += w.errors;
      process.stdout.write('.');
    }
  }
  process.stdout.write(' parallel pushes');
  const small = Array.from({ length: PARALLEL * peers.length }, (_, i) => makeBlob(`small-${i}.bin`, 32, 1000 + i));
  for (const [i, p] of peers.entries()) {
    const mine = small.slice(i * PARALLEL, (i + 1) * PARALLEL);
    const t0 = performance.now();
    await Promise.all(mine.map((b, j) => push(p, `bench/par${j}`, b)));
    figures.get(p.name)!.parallel = (32 * PARALLEL) / ((performance.now() - t0) / 1000);
    process.stdout.write('.');
  }
  console.log('\n');
  const d = figures.get('docker-registry')!;
  const g = figures.get('registryd')!;
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
  console.log(columns([
    ['', 'registryd', 'docker-registry', 'ratio', 'target', ''],
    ['blob push MiB/s', g.push.toFixed(0), d.push.toFixed(0), ratio(g.push, d.push), '≥ 1.0×', verdict(g.push >= d.push)],
    ['blob pull MiB/s', g.pull.toFixed(0), d.pull.toFixed(0), ratio(g.pull, d.pull), '≥ 1.0×', verdict(g.pull >= d.pull)],
    ['manifest GET requests/s', g.rps.toFixed(0), d.rps.toFixed(0), ratio(g.rps, d.rps), '≥ 1.0×', verdict(g.rps >= d.rps)],
    ['manifest GET p99 ms', g.p99.toFixed(3), d.p99.toFixed(3), '', '', ''],
    ['manifest GET errors', String(g.errors), String(d.errors), '', '0', verdict(g.errors === 0)],
    [`${PARALLEL} parallel pushes MiB/s`, g.parallel.toFixed(0), d.parallel.toFixed(0), ratio(g.parallel, d.parallel), '≥ 1.0×', verdict(g.parallel >= d.parallel)],
    ['RSS growth while pulling MiB', `+${g.pullRss.toFixed(0)}`, `+${d.pullRss.toFixed(0)}`, '', '', ''],
  ]));
  console.log('');
  console.log(`registry: push ${ratio(g.push, d.push)}, pull ${ratio(g.pull, d.pull)}, manifest GET ${ratio(g.rps, d.rps)}, parallel push ${ratio(g.parallel, d.parallel)} docker-registry`);
}

main().then(() => process.exit(0), (e: unknown) => { console.error(`bench:registry failed: ${(e as Error).stack ?? String(e)}`); process.exit(1); });
