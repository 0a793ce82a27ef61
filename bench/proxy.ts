/**
 * bench/proxy — what the switchboard's proxy costs, against nginx and against
 * the floor of any Node proxy, same upstream, same run.
 *
 *   npm run bench:proxy            (needs nginx, wrk, docker-registry: apt-get install -y nginx-light wrk docker-registry)
 *
 * Four proxies in front of one upstream, one at a time under load:
 *   nginx          proxy_pass to an upstream block with keepalive, one worker
 *   undici floor   node:http + undici Pool.stream and nothing else (bench/lib/floor-proxy.ts)
 *   switchboard    `switchboard serve` (decisions, per-capability metrics, gates, pins)
 *   + shadow 1%    the same with ROUTE_SHADOW_CAP_V2_PULL: 1
 * With two or more cores the proxy under test is pinned to cpu 1; wrk and the
 * upstream share cpu 0. Measured: requests/s and p99 (wrk), the proxy's CPU
 * time per request (from /proc, so a proxy that is not the bottleneck still
 * shows its cost), blob MiB/s (a BENCH_BLOB_MIB download) and the proxy's RSS
 * while streaming it. Two upstreams: a static one (nginx `return 200` and a
 * file: it costs next to nothing, so the proxy's cost is exposed) and a real
 * registry (docker-registry).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, openSync, writeSync, closeSync, existsSync, linkSync, createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { median } from './lib/figures.js';
import { children, columns, cpuSeconds, plainProxyPass, freePort, nginxBin, pinned, rssKiB, startBenchNginx, taskset, waitFor, wrk, wrkBin, type WrkResult } from './lib/procs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB ?? 1024);
/** `static`, `registry` or both (default): which upstreams to measure behind. */
const UPSTREAMS = (process.env.BENCH_UPSTREAMS ?? 'static,registry').split(',');
/**
 * Alternating rounds per proxy (each BENCH_SECONDS / rounds long). CPU per
 * request is shown with its range over them, and compared with the floor
 * round by round: the median of those paired ratios is the verdict, because
 * this machine's speed drifts by more than the difference being measured
 * (the floor alone has ranged 70–85 µs between runs).
 */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 10));
/** The proxy under test gets cpu 1; wrk and the upstreams cpu 0. */
const PROXY_CPU = taskset ? '1' : null;
const PEER_CPU = taskset ? '0' : null;

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

interface Proxy {
  name: string;
  port: number;
  pid: number;
  /** Shadow requests sent so far (the switchboard with shadowing on), else null. */
  shadowed?: () => Promise<number>;
  stop(): void;
}

async function nginxProxy(tag: string, upstream: string): Promise<Proxy> {
  const port = await freePort();
  const c = startBenchNginx(dir, `proxy-${tag}`, plainProxyPass(upstream, port), PROXY_CPU);
  await waitFor(`http://127.0.0.1:${port}/v2/`);
  return { name: 'nginx proxy_pass', port, pid: c.pid!, stop: () => c.kill('SIGKILL') };
}

async function floorProxy(upstream: string): Promise<Proxy> {
  const port = await freePort();
  const [cmd, args] = pinned(PROXY_CPU, process.execPath, [join(root, 'dist', 'bench', 'lib', 'floor-proxy.js'), String(port), `http://${upstream}`]);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  await waitFor(`http://127.0.0.1:${port}/v2/`);
  return { name: 'undici floor', port, pid: c.pid!, stop: () => c.kill('SIGKILL') };
}

async function switchboardProxy(tag: string, upstream: string, shadowPercent: number): Promise<Proxy> {
  const port = await freePort();
  const admin = await freePort();
  mkdirSync(join(dir, `switchboard-${tag}`));
  const cfg = join(dir, `switchboard-${tag}`, 'config.yaml');
  // V2_PULL is a 5% canary, so every pull takes a full decision (canary selectors, bucketing);
  // both owners are the same upstream, so the answers are equal whichever owner serves.
  writeFileSync(
    cfg,
    `MIGRATION:
  ROUTE_OWNER_DEFAULT: python
  ROUTE_OWNER_CAP_V2_PULL: canary
  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5
${shadowPercent > 0 ? `  ROUTE_SHADOW_CAP_V2_PULL: ${shadowPercent}\n` : ''}SWITCHBOARD:
  UPSTREAMS: {python: "http://${upstream}", go: "http://${upstream}"}
  LISTEN: "127.0.0.1:${port}"
  ADMIN_LISTEN: "127.0.0.1:${admin}"
  ACCESS_LOG: "off"
${shadowPercent > 0 ? '  SHADOW: {MAX_PER_SECOND: 100000, MAX_IN_FLIGHT: 256}\n' : ''}`,
  );
  const [cmd, args] = pinned(PROXY_CPU, process.execPath, [join(root, 'bin', 'switchboard.js'), 'serve', '--config', cfg]);
  // Its banner and logs are kept, and shown only if it does not come up or stops early.
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'error' } });
  children.push(c);
  let said = '';
  c.stderr!.on('data', (b: Buffer) => {
    said = (said + b.toString()).slice(-4000);
  });
  c.on('exit', (code, sig) => {
    if (!stopping) console.error(`switchboard (${tag}) stopped early (${code ?? sig}):\n${said}`);
  });
  let stopping = false;
  await waitFor(`http://127.0.0.1:${admin}/readyz`);
  const shadowed = async (): Promise<number> => {
    const text = await getText(`http://127.0.0.1:${admin}/metrics`);
    let n = 0;
    for (const m of text.matchAll(/^switchboard_shadow_requests_total\{[^}]*outcome="(compared|failed|cut)"[^}]*\} (\d+)/gm)) n += Number(m[2]);
    return n;
  };
  // taskset execs its command, so the pid is the proxy itself.
  return {
    name: shadowPercent > 0 ? `switchboard, shadow ${shadowPercent}%` : 'switchboard',
    port,
    pid: c.pid!,
    shadowed: shadowPercent > 0 ? shadowed : undefined,
    stop: () => {
      stopping = true;
      c.kill('SIGKILL');
    },
  };
}

/** A GET on a connection of its own (no keep-alive to go stale between runs). */
function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (t += c));
        res.on('end', () => resolve(t));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Downloads the blob through `url`: MiB/s and the proxy's peak RSS meanwhile. */
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

/** A real docker-registry (CNCF Distribution) holding one image and one blob of BLOB_MIB MiB. */
async function startRegistry(blobFile: string, blobDigest: string): Promise<Upstream> {
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
  const [cmd, args] = pinned(PEER_CPU, bin, ['serve', conf]);
  children.push(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
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
  return {
    title: 'registry upstream (docker-registry): GET manifest, GET blob',
    addr: `127.0.0.1:${port}`,
    smallPath: '/v2/bench/app/manifests/latest',
    header: `Accept: ${accept}`,
    blobPath: `/v2/bench/app/blobs/${blobDigest}`,
  };
}

interface Upstream {
  title: string;
  addr: string;
  smallPath: string;
  header: string | null;
  blobPath: string;
}

/** nginx `return 200` for any path, and the blob as a registry blob path (so the switchboard takes its blob lane). */
async function startStatic(blobFile: string, blobDigest: string): Promise<Upstream> {
  const port = await freePort();
  const docroot = join(dir, 'static');
  mkdirSync(join(docroot, 'v2', 'bench', 'app', 'blobs'), { recursive: true });
  linkSync(blobFile, join(docroot, 'v2', 'bench', 'app', 'blobs', blobDigest));
  startBenchNginx(
    dir,
    'upstream',
    `server {
    listen 127.0.0.1:${port} backlog=4096;
    location /v2/bench/app/blobs/ { root ${docroot}; default_type application/octet-stream; }
    location / { default_type application/json; return 200 '${'x'.repeat(512)}'; }
  }`,
    PEER_CPU,
  );
  await waitFor(`http://127.0.0.1:${port}/v2/`);
  return {
    title: 'static upstream (nginx return 200, 512 B; a file for the blob): the proxy is the bottleneck',
    addr: `127.0.0.1:${port}`,
    smallPath: '/v2/acme/web/manifests/latest',
    header: null,
    blobPath: `/v2/bench/app/blobs/${blobDigest}`,
  };
}

interface Small {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The proxy's CPU time (user + system, all its threads) per request served, µs. */
  cpuUs: number;
  /** The lowest and highest of the rounds: how far this run's figure can be trusted. */
  cpuRange: [number, number];
  /** CPU µs per request of each round, in order (round i of every proxy ran back to back). */
  cpuRounds: number[];
  shadowed: number | null;
}

interface Row {
  proxy: Proxy;
  small: Small;
  blob: { mibs: number; peak: number; base: number } | null;
}

async function smallRun(p: Proxy, up: Upstream, secs: number): Promise<{ r: WrkResult; cpu: number; shadowed: number }> {
  const hdr = up.header ? ['-H', up.header] : [];
  const cpu0 = cpuSeconds(p.pid);
  const sh0 = (await p.shadowed?.()) ?? 0;
  const r = wrk(`http://127.0.0.1:${p.port}${up.smallPath}`, secs, CONNECTIONS, hdr);
  const cpu = cpuSeconds(p.pid) - cpu0;
  const shadowed = ((await p.shadowed?.()) ?? 0) - sh0;
  return { r, cpu, shadowed };
}

/** Small requests through each proxy in alternating rounds, then the blob through those that stream it. */
async function scenario(up: Upstream, proxies: Proxy[], blobOf: (p: Proxy) => boolean): Promise<Row[]> {
  for (const p of proxies) await smallRun(p, up, 2); // warm-up (JIT, connections)
  const runs = new Map<Proxy, { r: WrkResult; cpu: number; shadowed: number }[]>(proxies.map((p) => [p, []]));
  for (let i = 0; i < ROUNDS; i++) for (const p of proxies) runs.get(p)!.push(await smallRun(p, up, DURATION / ROUNDS));
  const rows: Row[] = [];
  for (const p of proxies) {
    const rs = runs.get(p)!;
    const avg = (f: (x: { r: WrkResult; cpu: number; shadowed: number }) => number): number => rs.reduce((a, x) => a + f(x), 0) / rs.length;
    const requests = rs.reduce((a, x) => a + x.r.requests, 0);
    rows.push({
      proxy: p,
      small: {
        rps: avg((x) => x.r.rps),
        p50: avg((x) => x.r.p50ms),
        p99: avg((x) => x.r.p99ms),
        errors: rs.reduce((a, x) => a + x.r.errors, 0),
        cpuUs: (rs.reduce((a, x) => a + x.cpu, 0) / requests) * 1e6,
        cpuRange: [Math.min(...rs.map((x) => (x.cpu / x.r.requests) * 1e6)), Math.max(...rs.map((x) => (x.cpu / x.r.requests) * 1e6))],
        cpuRounds: rs.map((x) => (x.cpu / x.r.requests) * 1e6),
        shadowed: p.shadowed ? rs.reduce((a, x) => a + x.shadowed, 0) / requests : null,
      },
      blob: null,
    });
  }
  const streamers = rows.filter((r) => blobOf(r.proxy));
  const got = new Map<Row, { mibs: number; peakRssMiB: number; baseRssMiB: number }[]>(streamers.map((r) => [r, []]));
  for (let i = 0; i < 2; i++) for (const r of streamers) got.get(r)!.push(await blob(`http://127.0.0.1:${r.proxy.port}${up.blobPath}`, r.proxy.pid));
  for (const r of streamers) {
    const g = got.get(r)!;
    r.blob = { mibs: g.reduce((a, x) => a + x.mibs, 0) / g.length, peak: Math.max(...g.map((x) => x.peakRssMiB)), base: g[0]!.baseRssMiB };
  }
  return rows;
}

const f = (n: number, d = 0): string => n.toFixed(d);

/** Round-by-round CPU ratios of `r` to the floor: their median, lowest and highest. */
function pairedRatio(r: Row, floor: Row): { median: number; lo: number; hi: number } {
  const ratios = r.small.cpuRounds.map((c, i) => c / floor.small.cpuRounds[i]!);
  return { median: median(ratios), lo: Math.min(...ratios), hi: Math.max(...ratios) };
}
const x = (n: number): string => `${n.toFixed(2)}×`;

function table(up: Upstream, rows: Row[]): string {
  const ngx = rows.find((r) => r.proxy.name.startsWith('nginx'))!;
  const floor = rows.find((r) => r.proxy.name === 'undici floor')!;
  const out = [['', 'req/s', '÷ nginx', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/req (rounds)', '÷ floor (paired: median, range)', 'blob MiB/s', '÷ nginx', 'RSS streaming MiB']];
  for (const r of rows) {
    const s = r.small;
    out.push([
      `  ${r.proxy.name}`,
      f(s.rps),
      x(s.rps / ngx.small.rps),
      f(s.p50, 3),
      f(s.p99, 3),
      String(s.errors),
      `${f(s.cpuUs, 1)} (${f(s.cpuRange[0], 0)}–${f(s.cpuRange[1], 0)})`,
      ((pr) => `${x(pr.median)} (${x(pr.lo)}–${x(pr.hi)})`)(pairedRatio(r, floor)),
      r.blob ? f(r.blob.mibs) : '',
      r.blob && ngx.blob ? x(r.blob.mibs / ngx.blob.mibs) : '',
      r.blob ? `${f(r.blob.base)} → ${f(r.blob.peak)}` : '',
    ]);
  }
  const notes = rows
    .filter((r) => r.small.shadowed !== null)
    .map((r) => `  (${r.proxy.name}: ${(r.small.shadowed! * 100).toFixed(2)}% of requests were shadowed to the other owner)`);
  return [up.title, columns(out), ...notes].join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'switchboard', 'cli', 'main.js'))) throw new Error('run npm run build first');
  const blobFile = join(dir, 'blob.bin');
  const fd = openSync(blobFile, 'w');
  const chunk = Buffer.alloc(1048576);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  const h = createHash('sha256');
  for (let i = 0; i < BLOB_MIB; i++) {
    chunk.writeUInt32LE(i, 0);
    writeSync(fd, chunk);
    h.update(chunk);
  }
  closeSync(fd);
  const blobDigest = `sha256:${h.digest('hex')}`;
  console.log('bench/proxy — the switchboard against nginx proxy_pass and a bare undici floor, same upstream, same run');
  console.log(
    `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${taskset ? 'proxy under test pinned to cpu 1; wrk and upstream on cpu 0' : 'no CPU pinning'}`,
  );
  console.log(`small: wrk -t1 -c${CONNECTIONS}, ${DURATION}s per proxy in ${ROUNDS} alternating rounds; V2_PULL is a 5% canary, so every request takes a full decision`);
  console.log("CPU µs/req: the proxy process's user + system time (all threads, from /proc) ÷ requests served");
  console.log(`blob: GET ${BLOB_MIB} MiB twice through each streaming proxy; proxy RSS sampled every 50 ms`);
  console.log('');

  const verdicts: string[] = [];
  const verdict = (what: string, value: string, target: string, ok: boolean): void => {
    verdicts.push(`${what}: ${value} (target ${target}) — ${ok ? 'PASS' : 'FAIL'}`);
  };
  const byName = (rows: Row[], name: string): Row => rows.find((r) => r.proxy.name === name)!;

  /** The four proxies behind `up`, measured; the table printed. */
  const measure = async (up: Upstream, tag: string): Promise<Row[]> => {
    const proxies = [await nginxProxy(tag, up.addr), await floorProxy(up.addr), await switchboardProxy(tag, up.addr, 0), await switchboardProxy(`${tag}-shadow`, up.addr, 1)];
    const rows = await scenario(up, proxies, (p) => !p.name.includes('shadow'));
    for (const p of proxies) p.stop();
    console.log(table(up, rows));
    console.log('');
    return rows;
  };
  const all: Row[] = [];
  const summary: string[] = [];

  // 1. Static upstream: the proxies' own cost, side by side.
  if (UPSTREAMS.includes('static')) {
    const rows = await measure(await startStatic(blobFile, blobDigest), 'static');
    all.push(...rows);
    const floor = byName(rows, 'undici floor');
    const swb = byName(rows, 'switchboard');
    const shadow = byName(rows, 'switchboard, shadow 1%');
    const ngx = byName(rows, 'nginx proxy_pass');
    const plain = pairedRatio(swb, floor);
    const shadowed = pairedRatio(shadow, floor);
    const overall = (r: Row): string => `${f(r.small.cpuUs, 1)} µs vs ${f(floor.small.cpuUs, 1)} µs overall`;
    verdict('CPU per request, shadow off (static)', `${x(plain.median)} the floor, median of ${ROUNDS} paired rounds (${overall(swb)})`, '≤ 1.15×', plain.median <= 1.15);
    verdict('CPU per request, shadow 1% (static)', `${x(shadowed.median)} the floor, median of ${ROUNDS} paired rounds (${overall(shadow)})`, '≤ 1.25×', shadowed.median <= 1.25);
    verdict('blob MiB/s (static)', `${x(swb.blob!.mibs / ngx.blob!.mibs)} nginx`, '≥ 1.00×', swb.blob!.mibs / ngx.blob!.mibs >= 1);
    summary.push(`CPU ${x(plain.median)} floor (shadow 1%: ${x(shadowed.median)}), static requests/s ${x(swb.small.rps / ngx.small.rps)} nginx`);
  }

  // 2. A real registry upstream.
  if (UPSTREAMS.includes('registry')) {
    const rows = await measure(await startRegistry(blobFile, blobDigest), 'registry');
    all.push(...rows);
    const ngx = byName(rows, 'nginx proxy_pass');
    const swb = byName(rows, 'switchboard');
    verdict('blob MiB/s (registry)', `${x(swb.blob!.mibs / ngx.blob!.mibs)} nginx`, '≥ 1.00×', swb.blob!.mibs / ngx.blob!.mibs >= 1);
    verdict('RSS while streaming (registry)', `+${f(swb.blob!.peak - swb.blob!.base)} MiB`, '< 64 MiB', swb.blob!.peak - swb.blob!.base < 64);
    summary.push(`registry requests/s ${x(swb.small.rps / ngx.small.rps)} nginx, blob ${x(swb.blob!.mibs / ngx.blob!.mibs)} nginx`);
  }
  if (all.length === 0) throw new Error(`BENCH_UPSTREAMS=${UPSTREAMS.join(',')}: name static, registry or both`);
  verdict(
    'errors',
    String(all.reduce((a, r) => a + r.small.errors, 0)),
    '0',
    all.every((r) => r.small.errors === 0),
  );
  console.log(verdicts.join('\n'));
  console.log(`proxy: ${summary.join('; ')}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench:proxy failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
