/**
 * bench/proxy — switchboard's proxy against nginx's proxy_pass, same upstream, same run.
 *
 *   npm run bench:proxy            (needs nginx and wrk: apt-get install -y nginx-light wrk)
 *
 * Layout: an nginx "upstream" serves a small response for any path and a 1 GiB
 * file; in front of it, either switchboard (one process) or nginx (one worker,
 * proxy_pass with keepalive). With two or more cores the proxy under test is
 * pinned to its own core and the load generator and upstream share the rest.
 * Measured: small requests/s and p99 (wrk), blob MiB/s (1 GiB download), and
 * the proxy's peak RSS while streaming the 1 GiB blob. Prints ratios.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, openSync, writeSync, closeSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { children, columns, freePort, nginxBin, pinned, rssKiB, startBenchNginx, taskset, waitFor, wrk, wrkBin, type WrkResult } from './lib/procs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB ?? 1024);

if (!nginxBin || !wrkBin) {
  console.error('bench:proxy needs nginx and wrk: apt-get install -y nginx-light wrk');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'swb-bench-proxy-'));
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

async function startNginx(name: string, body: string, cpu: string | null): Promise<ChildProcess> {
  return startBenchNginx(dir, name, body, cpu);
}

function wrkOn(url: string, seconds: number, extra: string[] = []): WrkResult {
  return wrk(url, seconds, CONNECTIONS, extra);
}

/** Downloads the blob through `url`, returns MiB/s and the proxy's peak RSS growth (MiB) meanwhile. */
async function blob(url: string, pid: number): Promise<{ mibs: number; peakRssMiB: number; baseRssMiB: number }> {
  const base = rssKiB(pid);
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid));
  }, 50);
  const t0 = performance.now();
  const bytes = await new Promise<number>((resolve, reject) => {
    http
      .get(url, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  if (bytes !== BLOB_MIB * 1048576) throw new Error(`blob: got ${bytes} bytes`);
  return { mibs: BLOB_MIB / secs, peakRssMiB: peak / 1024, baseRssMiB: base / 1024 };
}

interface ProxyPair {
  swbPort: number;
  ngxPort: number;
  swbPid: number;
  ngxPid: number;
  stop(): void;
}

/** Starts switchboard and an nginx proxy_pass peer, both in front of `upstream` (host:port). */
async function startProxies(name: string, upstream: string): Promise<ProxyPair> {
  const ngxPort = await freePort();
  const swbPort = await freePort();
  const swbAdmin = await freePort();
  const ngx = await startNginx(
    `proxy-${name}`,
    `upstream quay { server ${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${ngxPort} backlog=4096;
    client_max_body_size 0;
    location / {
      proxy_pass http://quay; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host $http_host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme; proxy_buffering off; proxy_request_buffering off;
    }
  }`,
    taskset ? '1' : null,
  );
  await waitFor(`http://127.0.0.1:${ngxPort}/v2/`);
  const cfg = join(dir, `config-${name}.yaml`);
  writeFileSync(
    cfg,
    `MIGRATION:
  ROUTE_OWNER_DEFAULT: python
  ROUTE_OWNER_CAP_V2_PULL: canary
  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5
SWITCHBOARD:
  UPSTREAMS: {python: "http://${upstream}", go: "http://${upstream}"}
  LISTEN: "127.0.0.1:${swbPort}"
  ADMIN_LISTEN: "127.0.0.1:${swbAdmin}"
  ACCESS_LOG: "off"
`,
  );
  const [cmd, args] = pinned(taskset ? '1' : null, process.execPath, [join(root, 'bin', 'switchboard.js'), 'serve', '--config', cfg]);
  const swb = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'error' } });
  children.push(swb);
  await waitFor(`http://127.0.0.1:${swbAdmin}/readyz`);
  // taskset execs its command, so these pids are the proxies themselves.
  return {
    swbPort,
    ngxPort,
    swbPid: swb.pid!,
    ngxPid: ngx.pid!,
    stop: () => {
      swb.kill('SIGKILL');
      ngx.kill('SIGKILL');
    },
  };
}

/** A real docker-registry (CNCF Distribution) holding one image and one blob of BLOB_MIB MiB. */
async function startRegistry(blobFile: string): Promise<{ addr: string; manifestPath: string; blobPath: string; accept: string }> {
  const bin = ['/usr/bin/docker-registry'].find((p) => existsSync(p));
  if (!bin) throw new Error('needs docker-registry: apt-get install -y docker-registry');
  const port = await freePort();
  const d = join(dir, 'registry');
  spawnSync('mkdir', ['-p', d]);
  const conf = join(d, 'config.yml');
  writeFileSync(
    conf,
    `version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: ${d}/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:${port}, secret: bench}
health: {storagedriver: {enabled: false}}
`,
  );
  const [cmd, args] = pinned('0', bin, ['serve', conf]);
  children.push(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
  const { createHash } = await import('node:crypto');
  const { createReadStream } = await import('node:fs');
  const upload = async (body: Buffer | string, size: number, digest: string): Promise<void> => {
    const start = await fetch(`${base}/v2/bench/app/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location')!, base);
    loc.searchParams.set('digest', digest);
    await new Promise<void>((resolve, reject) => {
      const req = http.request(loc, { method: 'PUT', headers: { 'content-length': size, 'content-type': 'application/octet-stream' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`blob upload: ${res.statusCode}`))));
      });
      req.on('error', reject);
      if (typeof body === 'string') createReadStream(body).pipe(req);
      else req.end(body);
    });
  };
  // The big blob, streamed from the file; its digest computed first.
  const h = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    createReadStream(blobFile)
      .on('data', (c) => h.update(c))
      .on('end', resolve)
      .on('error', reject);
  });
  const blobDigest = `sha256:${h.digest('hex')}`;
  const size = BLOB_MIB * 1048576;
  await upload(blobFile, size, blobDigest);
  const cfgBlob = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const cfgDigest = `sha256:${createHash('sha256').update(cfgBlob).digest('hex')}`;
  await upload(cfgBlob, cfgBlob.length, cfgDigest);
  const accept = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: accept,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgDigest, size: cfgBlob.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blobDigest, size }],
  });
  const put = await fetch(`${base}/v2/bench/app/manifests/latest`, { method: 'PUT', headers: { 'content-type': accept }, body: manifest });
  if (put.status !== 201) throw new Error(`manifest PUT: ${put.status} ${await put.text()}`);
  return { addr: `127.0.0.1:${port}`, manifestPath: '/v2/bench/app/manifests/latest', blobPath: `/v2/bench/app/blobs/${blobDigest}`, accept };
}

interface ScenarioResult {
  sw: { rps: number; p50: number; p99: number; errors: number };
  ng: { rps: number; p50: number; p99: number; errors: number };
  sb: { mibs: number; peak: number; base: number };
  nb: { mibs: number; peak: number; base: number };
}

async function scenario(pair: ProxyPair, smallPath: string, header: string | null, blobPath: string): Promise<ScenarioResult> {
  const hdr = header ? ['-H', header] : [];
  const run = (port: number, secs: number): WrkResult => wrkOn(`http://127.0.0.1:${port}${smallPath}`, secs, hdr);
  run(pair.swbPort, 2);
  run(pair.ngxPort, 2);
  const runs: { swb: WrkResult; ngx: WrkResult }[] = [];
  for (let i = 0; i < 2; i++) runs.push({ ngx: run(pair.ngxPort, DURATION / 2), swb: run(pair.swbPort, DURATION / 2) });
  const avg = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
  const pick = (k: 'swb' | 'ngx') => ({
    rps: avg(runs.map((r) => r[k].rps)),
    p50: avg(runs.map((r) => r[k].p50ms)),
    p99: avg(runs.map((r) => r[k].p99ms)),
    errors: runs.reduce((x, r) => x + r[k].errors, 0),
  });
  const nb1 = await blob(`http://127.0.0.1:${pair.ngxPort}${blobPath}`, pair.ngxPid);
  const sb1 = await blob(`http://127.0.0.1:${pair.swbPort}${blobPath}`, pair.swbPid);
  const nb2 = await blob(`http://127.0.0.1:${pair.ngxPort}${blobPath}`, pair.ngxPid);
  const sb2 = await blob(`http://127.0.0.1:${pair.swbPort}${blobPath}`, pair.swbPid);
  return {
    sw: pick('swb'),
    ng: pick('ngx'),
    nb: { mibs: (nb1.mibs + nb2.mibs) / 2, peak: Math.max(nb1.peakRssMiB, nb2.peakRssMiB), base: nb1.baseRssMiB },
    sb: { mibs: (sb1.mibs + sb2.mibs) / 2, peak: Math.max(sb1.peakRssMiB, sb2.peakRssMiB), base: sb1.baseRssMiB },
  };
}

function report(title: string, r: ScenarioResult, headline: boolean): string {
  const f = (n: number, d = 0): string => n.toFixed(d);
  const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(3)} ms`;
  const { sw, ng, sb, nb } = r;
  const verdict = (ok: boolean): string => (headline ? (ok ? 'PASS' : 'FAIL') : '');
  const rows = [
    [title, 'switchboard', 'nginx', 'ratio', headline ? 'target' : '', ''],
    ['  small requests/s', f(sw.rps), f(ng.rps), `${(sw.rps / ng.rps).toFixed(2)}×`, headline ? '≥ 0.85×' : '', verdict(sw.rps / ng.rps >= 0.85)],
    ['  small p50 ms', f(sw.p50, 3), f(ng.p50, 3), signed(sw.p50 - ng.p50), '', ''],
    ['  small p99 ms', f(sw.p99, 3), f(ng.p99, 3), signed(sw.p99 - ng.p99), headline ? '≤ +1 ms' : '', verdict(sw.p99 - ng.p99 <= 1)],
    ['  errors', String(sw.errors), String(ng.errors), '', headline ? '0' : '', verdict(sw.errors === 0)],
    ['  blob MiB/s', f(sb.mibs), f(nb.mibs), `${(sb.mibs / nb.mibs).toFixed(2)}×`, headline ? '≥ 0.95×' : '', verdict(sb.mibs / nb.mibs >= 0.95)],
    [
      '  RSS while streaming MiB',
      `${f(sb.base)} → ${f(sb.peak)}`,
      `${f(nb.base)} → ${f(nb.peak)}`,
      `+${f(sb.peak - sb.base)} MiB`,
      headline ? 'flat' : '',
      verdict(sb.peak - sb.base < 64),
    ],
  ];
  return columns(rows);
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'switchboard', 'cli', 'main.js'))) throw new Error('run npm run build first');
  const blobFile = join(dir, 'blob.bin');
  const fd = openSync(blobFile, 'w');
  const chunk = Buffer.alloc(1048576);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let i = 0; i < BLOB_MIB; i++) {
    chunk.writeUInt32LE(i, 0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  console.log('bench/proxy — switchboard vs nginx proxy_pass (keepalive 64, buffering off), same upstream, same run');
  console.log(
    `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${taskset ? 'proxy under test pinned to cpu 1; wrk and upstream on cpu 0' : 'no CPU pinning'}`,
  );
  console.log(`small: wrk -t1 -c${CONNECTIONS}, ${DURATION}s per proxy in alternating halves; V2_PULL is a 5% canary, so every request takes a full decision`);
  console.log(`blob: GET ${BLOB_MIB} MiB twice through each proxy; proxy RSS sampled every 50 ms`);
  console.log('');

  // 1. The headline: a real registry upstream (docker-registry, the legacy stand-in).
  const reg = await startRegistry(blobFile);
  const regPair = await startProxies('registry', reg.addr);
  const regResult = await scenario(regPair, reg.manifestPath, `Accept: ${reg.accept}`, reg.blobPath);
  regPair.stop();
  console.log(report('registry upstream (docker-registry): GET manifest, GET blob', regResult, true));
  console.log('');

  // 2. Worst case for the proxy: an upstream that costs nothing (nginx `return 200`).
  const upPort = await freePort();
  await startNginx(
    'upstream',
    `server {
    listen 127.0.0.1:${upPort} backlog=4096;
    location /blob { alias ${blobFile}; default_type application/octet-stream; }
    location / { default_type application/json; return 200 '${'x'.repeat(512)}'; }
  }`,
    taskset ? '0' : null,
  );
  await waitFor(`http://127.0.0.1:${upPort}/v2/`);
  const staticPair = await startProxies('static', `127.0.0.1:${upPort}`);
  const st = await scenario(staticPair, '/v2/acme/web/manifests/latest', null, '/blob');
  staticPair.stop();
  console.log(report('static upstream (nginx return 200; proxy-bound worst case)', st, false));
  console.log('');
  const r = regResult;
  console.log(
    `proxy (registry upstream): requests/s ${(r.sw.rps / r.ng.rps).toFixed(2)}× nginx, p99 ${r.sw.p99 - r.ng.p99 >= 0 ? '+' : ''}${(r.sw.p99 - r.ng.p99).toFixed(3)} ms, blob ${(r.sb.mibs / r.nb.mibs).toFixed(2)}× nginx, RSS +${(r.sb.peak - r.sb.base).toFixed(0)} MiB streaming ${BLOB_MIB} MiB`,
  );
  console.log(
    `proxy (static upstream):   requests/s ${(st.sw.rps / st.ng.rps).toFixed(2)}× nginx, p99 ${st.sw.p99 - st.ng.p99 >= 0 ? '+' : ''}${(st.sw.p99 - st.ng.p99).toFixed(3)} ms, blob ${(st.sb.mibs / st.nb.mibs).toFixed(2)}× nginx`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench:proxy failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
