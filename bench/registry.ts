/**
 * bench/registry — the TS side against real Quay and against Debian's
 * docker-registry (CNCF Distribution 2.8): same machine, same run, same
 * clients, one process each.
 *
 *   npm run bench:registry    (needs docker-registry, wrk, curl and real Quay:
 *                              bash /work/shared/quay-python/install-deps.sh)
 *
 * Peers (bench/lib/peers.ts), each pinned to cpu 1, the clients on cpu 0:
 *   - quay serve (TS): `quay serve --mode standalone` on real Quay's own
 *     config.yaml: the very same database (PostgreSQL, Quay's production
 *     database; one SQLite file with BENCH_DATABASE=sqlite) and storage
 *     directory as Quay;
 *   - quay-python: real Quay, one gunicorn process with one gevent worker;
 *   - docker-registry: anonymous, its own data directory.
 * The TS side and Quay get the same auth work: every call carries a bearer
 * token the peer issued itself at /v2/auth for devtable (initdb's user).
 * docker-registry has no auth at all, so TS ÷ docker-registry shows what
 * Quay's auth and schema cost on top of a registry that does neither.
 *
 * Measured, alternating between the peers so that drift hits all of them,
 * after the same untimed warm-up (a 64 MiB push and six pulls of it, and
 * 2 s of wrk per endpoint):
 *   - blob push MiB/s, streamed: POST, one PATCH with the whole blob, PUT ?digest=;
 *   - blob push MiB/s, chunked: PATCHes of BENCH_CHUNK_MIB with Content-Range;
 *   - blob pull MiB/s: GET with curl (a C client), and the server's RSS growth;
 *   - manifest GET, tag list (BENCH_TAGS tags) and 4 KiB blob GET: wrk requests/s, p50, p99;
 *   - BENCH_PARALLEL streamed pushes of 32 MiB at once, aggregate MiB/s.
 * Every push is new content. Push and pull figures are medians of the rounds.
 * Beside each figure, the CPU time the peer's process spent on it (a figure
 * that the machine's load disturbs less than the wall clock; the database
 * server's CPU is not in it).
 * Targets (DESIGN §8): ≥ 1.0× docker-registry on each, here with auth on.
 */
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { columns, cpuSeconds, wrkBin } from './lib/procs.js';
import { bearerTokens, benchDatabase, onExit, quayLogTail, requireQuay, shutdown, startDistribution, startQuayPair, type Peer } from './lib/peers.js';
import { wrkAlternating, type LoadFigures } from './lib/load.js';
import { OCI_MANIFEST, generatedBlob, type GeneratedBlob, pullBlob, pushBlob, pushSmallImage } from './lib/registry-client.js';
import { machineLine, median, ms, progress, rate, ratio } from './lib/figures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB ?? 512);
const CHUNK_MIB = Number(process.env.BENCH_CHUNK_MIB ?? 16);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 8);
const TAGS = Number(process.env.BENCH_TAGS ?? 50);
const DATABASE = benchDatabase();
const ROUNDS = 3;
const REPO = 'devtable/bench';

const registryBin = ['/usr/bin/docker-registry'].find((p) => existsSync(p));
if (!registryBin || !wrkBin || !existsSync('/usr/bin/curl')) {
  console.error('bench:registry needs docker-registry, wrk and curl: apt-get install -y docker-registry wrk curl');
  process.exit(2);
}
requireQuay('bench:registry');

const dir = mkdtempSync(join(tmpdir(), 'swb-bench-registry-'));
onExit(() => rmSync(dir, { recursive: true, force: true }));

/** One kind of transfer on one peer: MiB/s of each round, and the server's CPU time over all of them. */
class Transfer {
  readonly rates: number[] = [];
  private cpu = 0;
  private mib = 0;

  /** Runs `fn` (which moves `mib` MiB and returns the seconds it took) and records it. */
  async measure(p: Peer, mib: number, fn: () => Promise<number>): Promise<void> {
    const cpu0 = cpuSeconds(p.pid);
    const secs = await fn();
    this.cpu += cpuSeconds(p.pid) - cpu0;
    this.mib += mib;
    this.rates.push(mib / secs);
  }

  get mibPerSecond(): number {
    return median(this.rates);
  }
  get cpuPerGiB(): number {
    return this.cpu / (this.mib / 1024);
  }
}

interface Transfers {
  push: Transfer;
  chunked: Transfer;
  pull: Transfer;
  parallel: Transfer;
  parallelFailed: number;
  rssGrowth: number;
}

/**
 * Frees the page cache a blob took, by deleting its file behind the
 * registry's back (the benchmark never reads it again). This VM backs memory
 * the kernel has not used lately at 170–320 MB/s (DAMON pages cold memory
 * out to the host), and at 1–2.7 GB/s when it was just freed: without this,
 * every push would write into new memory and every registry would show the
 * same VM-bound figure.
 */
function free(p: Peer, ...blobs: GeneratedBlob[]): void {
  for (const b of blobs) rmSync(p.blobFile(b.digest), { force: true });
}

/** Writes and deletes `mib` MiB, so that the first push finds memory the kernel just freed, as the later ones do. */
function primeMemory(mib: number): void {
  const f = join(dir, 'prime.bin');
  const block = Buffer.alloc(1048576, 1);
  const fd = openSync(f, 'w');
  for (let i = 0; i < mib; i++) writeSync(fd, block);
  closeSync(fd);
  rmSync(f);
}

async function transfers(peers: readonly Peer[]): Promise<Map<string, Transfers>> {
  const got = new Map(
    peers.map((p) => [
      p.name,
      {
        push: new Transfer(),
        chunked: new Transfer(),
        pull: new Transfer(),
        parallel: new Transfer(),
        parallelFailed: 0,
        rssGrowth: 0,
      } satisfies Transfers,
    ]),
  );
  let seed = 1;
  progress('warm-up');
  primeMemory(2 * BLOB_MIB);
  for (const p of peers) {
    const warm = generatedBlob(64, seed++);
    await pushBlob(p, REPO, warm);
    for (let k = 0; k < 6; k++) await pullBlob(p, REPO, warm);
    free(p, warm);
    progress('.');
  }
  progress(' blob push/pull');
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of peers) {
      const f = got.get(p.name)!;
      const blob = generatedBlob(BLOB_MIB, seed++);
      const chunked = generatedBlob(BLOB_MIB, seed++);
      await f.push.measure(p, BLOB_MIB, () => pushBlob(p, REPO, blob));
      await f.pull.measure(p, BLOB_MIB, async () => {
        const pulled = await pullBlob(p, REPO, blob);
        f.rssGrowth = Math.max(f.rssGrowth, pulled.rssGrowthMiB);
        return pulled.secs;
      });
      free(p, blob);
      await f.chunked.measure(p, BLOB_MIB, () => pushBlob(p, REPO, chunked, CHUNK_MIB));
      free(p, chunked);
      progress('.');
    }
  }
  progress(' parallel pushes');
  for (const p of peers) {
    const f = got.get(p.name)!;
    const blobs = Array.from({ length: PARALLEL }, () => generatedBlob(32, seed++));
    await f.parallel.measure(p, 32 * PARALLEL, async () => {
      const t0 = performance.now();
      const done = await Promise.allSettled(blobs.map((b) => pushBlob(p, REPO, b)));
      f.parallelFailed = done.filter((x) => x.status === 'rejected').length;
      // MiB/s of the pushes that succeeded.
      return ((performance.now() - t0) / 1000) * (PARALLEL / Math.max(1, PARALLEL - f.parallelFailed));
    });
    free(p, ...blobs);
    progress('.');
  }
  return got;
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'quay', 'main.js'))) throw new Error('run npm run build first');
  const started = performance.now();
  console.log('bench/registry — the TS side (quay serve) vs real Quay (gunicorn) vs docker-registry (Distribution 2.8), same machine, same run');
  console.log(machineLine());
  console.log(`TS and Quay: one database (${DATABASE}) and one storage directory, bearer tokens from /v2/auth (devtable); docker-registry: anonymous`);
  console.log(
    `push/pull: ${BLOB_MIB} MiB blobs, median of ${ROUNDS} rounds; chunked push: ${CHUNK_MIB} MiB PATCHes; wrk -t1 -c${CONNECTIONS} ${DURATION} s per peer and endpoint; parallel: ${PARALLEL} × 32 MiB`,
  );
  console.log('');
  progress('starting real Quay, the TS side on its database, docker-registry');
  const pair = await startQuayPair(root, dir, DATABASE);
  const dist = await startDistribution(registryBin!, dir);
  await bearerTokens(pair, `repository:${REPO}:pull,push`);
  const peers: Peer[] = [pair.ts, pair.quay, dist];
  progress(', image and tags');
  // The TS side and Quay share the database: the image and its tags are written once, by Quay.
  const tags = ['latest', ...Array.from({ length: TAGS - 1 }, (_, i) => `t${String(i + 1).padStart(3, '0')}`)];
  const layer = await pushSmallImage(pair.quay, REPO, tags);
  if ((await pushSmallImage(dist, REPO, tags)) !== layer) throw new Error('the two images differ');
  progress('\n');

  const moved = await transfers(peers);
  const load = new Map<string, Map<string, LoadFigures>>();
  for (const [what, path, extra] of [
    ['manifest GET', `/v2/${REPO}/manifests/latest`, ['-H', `Accept: ${OCI_MANIFEST}`]],
    ['tag list', `/v2/${REPO}/tags/list`, []],
    ['4 KiB blob GET', `/v2/${REPO}/blobs/${layer}`, []],
  ] as const) {
    progress(` ${what}`);
    load.set(what, wrkAlternating(peers, path, DURATION, CONNECTIONS, extra));
  }
  progress('\n\n');

  const names = peers.map((p) => p.name) as [string, string, string];
  const rows: string[][] = [['', 'quay serve (TS)', 'quay-python', 'docker-registry', 'TS/Quay', 'TS/docker-registry', 'target']];
  const verdict = (a: number, b: number): string => (a >= b ? '≥ 1.0× PASS' : '≥ 1.0× FAIL');
  /** A row of one figure per peer: the ratios, and the target (≥ docker-registry) when `judged`. */
  const row = (label: string, xs: number[], format: (x: number) => string, judged: boolean): void => {
    const [a, b, c] = xs as [number, number, number];
    rows.push([label, ...xs.map(format), ratio(a, b), ratio(a, c), judged ? verdict(a, c) : '']);
  };
  const cpu = (x: number): string => x.toFixed(2);
  for (const [label, pick] of [
    ['blob push, one PATCH', (f: Transfers) => f.push],
    [`blob push, ${CHUNK_MIB} MiB chunks`, (f: Transfers) => f.chunked],
    ['blob pull', (f: Transfers) => f.pull],
    [`${PARALLEL} parallel pushes`, (f: Transfers) => f.parallel],
  ] as const) {
    const all = names.map((n) => pick(moved.get(n)!));
    row(
      `${label} MiB/s`,
      all.map((x) => x.mibPerSecond),
      rate,
      true,
    );
    row(
      '  server CPU s/GiB',
      all.map((x) => x.cpuPerGiB),
      cpu,
      false,
    );
  }
  rows.push([
    `${PARALLEL} parallel pushes failed`,
    ...names.map((n) => String(moved.get(n)!.parallelFailed)),
    '',
    '',
    moved.get(names[0])!.parallelFailed === 0 ? '0 PASS' : '0 FAIL',
  ]);
  rows.push(['RSS growth while pulling MiB', ...names.map((n) => `+${moved.get(n)!.rssGrowth.toFixed(0)}`), '', '', '']);
  for (const [what, figures] of load) {
    const all = names.map((n) => figures.get(n)!);
    row(
      `${what} requests/s`,
      all.map((f) => f.rps),
      rate,
      true,
    );
    rows.push([`  p50 / p99 ms`, ...all.map((f) => `${ms(f.p50ms)} / ${ms(f.p99ms)}`), '', '', '']);
    row(
      '  server CPU µs/request',
      all.map((f) => f.cpuUsPerRequest),
      (x) => x.toFixed(0),
      false,
    );
    rows.push(['  errors', ...all.map((f) => String(f.errors)), '', '', all[0]!.errors === 0 ? '0 PASS' : '0 FAIL']);
  }
  console.log(columns(rows));
  console.log('');
  console.log(machineLine());
  console.log(`took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const summary = (i: number): string =>
    [
      ...(['push', 'chunked', 'pull'] as const).map((k) => `${k} ${ratio(moved.get(names[0])![k].mibPerSecond, moved.get(names[i]!)![k].mibPerSecond)}`),
      ...[...load].map(([what, f]) => `${what} ${ratio(f.get(names[0])!.rps, f.get(names[i]!)!.rps)}`),
    ].join(', ');
  console.log(`registry: TS/Quay ${summary(1)}; TS/docker-registry ${summary(2)}`);
}

main()
  .then(shutdown)
  .then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`bench:registry failed: ${(e as Error).stack ?? String(e)}\nreal Quay's log ends:\n${quayLogTail(150)}`);
      void shutdown().finally(() => process.exit(1));
    },
  );
