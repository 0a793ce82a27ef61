// Proves switchboard/core/murmur2.ts equal to a real nginx `split_clients`.
//
// Starts /usr/sbin/nginx (Debian `nginx-light`) on a free 127.0.0.1 port with a
// throw-away config, sends >10,000 distinct keys as `X-Key`, and compares
// nginx's bucket choice for several percents with inPercent(murmurHash2(key)).
// Exact hash values are also read back from nginx's own debug log
// ("http split: <hash> <boundary>") for a set of vectors.

import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { inPercent, murmurHash2, percentThreshold } from '../../core/murmur2.js';

// ---------------------------------------------------------------------------
// Pure unit tests (no nginx needed)
// ---------------------------------------------------------------------------

/** Percents compared against nginx (every one a valid nginx `P%`). */
const PERCENTS = [0.01, 0.5, 1, 5, 10, 12.34, 25, 33.33, 50, 66.67, 75, 99, 99.99] as const;

/**
 * Literal vectors (exact MurmurHash2 as printed by nginx's debug log, see the
 * "exact hashes from nginx debug log" test that re-derives them live).
 */
const FIXED_VECTORS: ReadonlyArray<readonly [string, number]> = [
  ['', 0],
  ['a', 0x92685f5e],
  ['ab', 0x1aa14063],
  ['abc', 0x13577c9b],
  ['abcd', 0x26873021],
  ['quay', 0xbcb3fcd9],
  ['acme/app', 0xcb6fe557],
  ['é', 0x3439c65d],
];

t.test('fixed vectors', async (t) => {
  for (const [key, hash] of FIXED_VECTORS) {
    t.equal(murmurHash2(key), hash, `murmurHash2(${JSON.stringify(key)})`);
    t.equal(murmurHash2(new TextEncoder().encode(key)), hash, `bytes of ${JSON.stringify(key)}`);
  }
});

t.test('strings hash as their UTF-8 bytes', async (t) => {
  const enc = new TextEncoder();
  t.equal(murmurHash2('é'), murmurHash2(enc.encode('é')));
  for (const s of ['é', 'café', 'abcé', 'abcdé', '日本語', 'org/ρεπο', '🚀', 'x🚀yz', 'müller+bot', 'ab\u00ff']) {
    t.equal(murmurHash2(s), murmurHash2(enc.encode(s)), JSON.stringify(s));
    t.equal(murmurHash2(s), murmurHash2(Buffer.from(s, 'utf8')), `${JSON.stringify(s)} (Buffer)`);
  }
  // lone surrogate → U+FFFD, same as Buffer/TextEncoder
  t.equal(murmurHash2('a\ud800b'), murmurHash2(Buffer.from('a\ud800b', 'utf8')));
  // Uint8Array views with an offset work
  const big = enc.encode('xxhello');
  t.equal(murmurHash2(big.subarray(2)), murmurHash2('hello'));
});

t.test('results are unsigned 32-bit integers and sticky', async (t) => {
  const keys = generateKeys(2000);
  for (const k of keys) {
    const h = murmurHash2(k);
    if (!(Number.isInteger(h) && h >= 0 && h <= 0xffffffff)) t.fail(`bad hash ${h} for ${k}`);
    if (murmurHash2(k) !== h) t.fail(`not sticky for ${k}`);
  }
  t.pass('2000 keys checked');
});

t.test('percentThreshold is exact for every hundredth', async (t) => {
  let bad = 0;
  for (let p = 0; p <= 10000; p++) {
    const expected = Number((BigInt(p) * 0xffffffffn) / 10000n);
    const got = percentThreshold(p / 100);
    if (got !== expected) {
      bad++;
      if (bad < 5) t.fail(`percentThreshold(${p / 100}) = ${got}, expected ${expected}`);
    }
  }
  t.equal(bad, 0, 'all 10001 hundredths match BigInt floor(p*0xffffffff/10000)');
  t.equal(percentThreshold(0), 0);
  t.equal(percentThreshold(100), 0xffffffff);
  t.equal(percentThreshold(0.5), 21474836, 'nginx docs: 0.5% covers hashes 0..21474835');
  t.equal(percentThreshold(2), 85899345);
  t.equal(percentThreshold(0.1 + 0.2), percentThreshold(0.3), 'float noise tolerated');
  t.throws(() => percentThreshold(12.345), RangeError);
  t.throws(() => percentThreshold(-1), RangeError);
  t.throws(() => percentThreshold(100.01), RangeError);
  t.throws(() => percentThreshold(Number.NaN), RangeError);
  t.throws(() => inPercent(1, Number.NaN), RangeError);
});

t.test('0% is nobody, 100% is everybody', async (t) => {
  for (const h of [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
    t.equal(inPercent(h, 0), false, `hash ${h} at 0%`);
    t.equal(inPercent(h, -5), false, `hash ${h} at -5%`);
    t.equal(inPercent(h, 100), true, `hash ${h} at 100%`);
    t.equal(inPercent(h, 150), true, `hash ${h} at 150%`);
  }
  // the single hash nginx's `100%` would leave out:
  t.equal(0xffffffff < percentThreshold(100), false);
  t.equal(inPercent(0, 0.01), true, 'hash 0 is in at the smallest percent');
  for (const k of generateKeys(2000)) {
    const h = murmurHash2(k);
    if (inPercent(h, 0)) t.fail(`${k} in at 0%`);
    if (!inPercent(h, 100)) t.fail(`${k} out at 100%`);
  }
});

t.test('monotonic: in at p implies in at every larger percent', async (t) => {
  const ladder = [0, ...PERCENTS, 100];
  let violations = 0;
  for (const k of generateKeys(2000)) {
    const h = murmurHash2(k);
    let wasIn = false;
    for (const p of ladder) {
      const isIn = inPercent(h, p);
      if (wasIn && !isIn) {
        violations++;
        if (violations < 5) t.fail(`${JSON.stringify(k)} in below ${p}% but out at ${p}%`);
      }
      wasIn = isIn;
    }
  }
  // thresholds themselves are non-decreasing over all hundredths
  for (let p = 1; p <= 10000; p++) {
    if (percentThreshold(p / 100) < percentThreshold((p - 1) / 100)) violations++;
  }
  t.equal(violations, 0);
});

// ---------------------------------------------------------------------------
// Real nginx
// ---------------------------------------------------------------------------

const NGINX_CANDIDATES = [process.env.NGINX_BIN, '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'];
const NGINX = NGINX_CANDIDATES.find((p): p is string => !!p && existsSync(p));

t.test('real nginx split_clients agrees', async (t) => {
  if (!NGINX) {
    t.fail(
      'nginx binary not found (looked at $NGINX_BIN, /usr/sbin/nginx, /usr/local/sbin/nginx, /usr/bin/nginx). ' +
        'This test needs a real nginx to prove split_clients compatibility: run `apt-get install -y nginx-light`.',
    );
    return;
  }
  const started = Date.now();
  const server = await startNginx(t, NGINX);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());

  await t.test('exact hashes from nginx debug log', async (t) => {
    const keys = [
      ...FIXED_VECTORS.map(([k]) => k),
      // every length 1..40 → every 4-byte tail case (0, 1, 2, 3 extra bytes)
      ...Array.from({ length: 40 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'.slice(0, i + 1)),
      // UTF-8 byte lengths 2..9 with mixed tails
      'é',
      'aé',
      'abé',
      'abcé',
      '日',
      'a日',
      '🚀',
      'a🚀',
      'ab🚀',
      'abc🚀',
      'müller',
      'org/ρεπο',
      '中文/仓库',
      '10.0.0.1',
      '2001:db8::1',
      'acme+deploybot',
    ];
    const fixed = new Map(FIXED_VECTORS);
    for (const key of keys) {
      const fromNginx = await nginxHash(server, agent, key);
      t.equal(murmurHash2(key), fromNginx, `hash of ${JSON.stringify(key)} (${Buffer.byteLength(key)} bytes)`);
      const literal = fixed.get(key);
      if (literal !== undefined) t.equal(fromNginx, literal, `nginx agrees with literal vector ${JSON.stringify(key)}`);
    }
  });

  await t.test("nginx's own boundaries equal percentThreshold", async (t) => {
    // A key hashing above every boundary makes nginx walk (and log) every
    // bucket: `P% go` then `*` (boundary 0) for each $vN, in order.
    const high = percentThreshold(PERCENTS[PERCENTS.length - 1]!);
    let key = '';
    for (let i = 0; ; i++) {
      key = `probe-${i}`;
      const h = murmurHash2(key);
      if (h >= high && h < 0xffffffff) break;
    }
    const lines = await nginxDebugSplits(server, agent, '/bounds', key);
    const hash = murmurHash2(key);
    t.ok(
      lines.every(([h]) => h === hash),
      `nginx hashed ${JSON.stringify(key)} to ${hash}`,
    );
    const boundaries = lines.map(([, b]) => b).filter((b) => b !== 0);
    t.same(boundaries, [...PERCENTS.map((p) => percentThreshold(p)), percentThreshold(100)], 'boundaries for ' + [...PERCENTS, 100].map((p) => `${p}%`).join(', '));
    t.equal(boundaries[boundaries.length - 1], 0xffffffff, 'nginx `100%` boundary is 0xffffffff, not 2^32');
  });

  await t.test('bucket choice for >=10,000 keys', async (t) => {
    const keys = generateKeys(12000);
    t.ok(keys.length >= 10000, `${keys.length} distinct keys`);
    const lengths = new Set(keys.map((k) => Buffer.byteLength(k)));
    for (let n = 1; n <= 40; n++) t.ok(lengths.has(n), `has a key of ${n} bytes`);
    t.ok(
      keys.some((k) => /[^\x00-\x7f]/.test(k)),
      'has non-ASCII keys',
    );

    const mismatches: string[] = [];
    let compared = 0;
    const BATCH = 64;
    const t0 = Date.now();
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH);
      const answers = await Promise.all(batch.map((k) => nginxSplit(server, agent, k)));
      batch.forEach((key, j) => {
        const choices = answers[j]!;
        const h = murmurHash2(key);
        PERCENTS.forEach((p, idx) => {
          compared++;
          const ours = inPercent(h, p);
          const theirs = choices[idx] === 'go';
          if (ours !== theirs) {
            mismatches.push(`${JSON.stringify(key)} @ ${p}%: nginx=${choices[idx]} ours=${ours} (hash ${h})`);
          }
        });
        // nginx's literal `100%` bucket: boundary 0xffffffff (we deliberately
        // treat 100 as everyone in inPercent; compare the raw boundary here).
        compared++;
        const raw100 = h < percentThreshold(100);
        if (raw100 !== (choices[PERCENTS.length] === 'go')) {
          mismatches.push(`${JSON.stringify(key)} @ 100% (raw): nginx=${choices[PERCENTS.length]} ours=${raw100}`);
        }
      });
    }
    const elapsed = Date.now() - t0;
    t.comment(`compared ${keys.length} keys x ${PERCENTS.length + 1} percents = ${compared} decisions ` + `in ${elapsed} ms (percents: ${PERCENTS.join(', ')}, 100)`);
    if (mismatches.length) t.comment(`first mismatches:\n  ${mismatches.slice(0, 10).join('\n  ')}`);
    t.same(mismatches.slice(0, 10), [], `no mismatches (total ${mismatches.length})`);
    t.equal(mismatches.length, 0);
  });

  t.comment(`nginx test took ${Date.now() - started} ms`);
});

// ---------------------------------------------------------------------------
// Key generation (deterministic)
// ---------------------------------------------------------------------------

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function generateKeys(target: number): string[] {
  const rnd = prng(0x5eed1234);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

  const orgWords = [
    'acme',
    'quay',
    'redhat',
    'coreos',
    'openshift',
    'fedora',
    'debian',
    'ubuntu',
    'alpine',
    'grafana',
    'prometheus',
    'jetstack',
    'bitnami',
    'library',
    'kube',
    'istio',
    'linkerd',
    'cilium',
    'argo',
    'flux',
    'tekton',
    'knative',
    'dex',
    'vault',
    'consul',
    'minio',
    'harbor',
    'zot',
    'nvidia',
    'intel',
  ];
  const orgSuffixes = ['', '-io', '-labs', '-dev', '-prod', '-ci', '_team', '.eu', '42', 'hq'];
  const repos = [
    'nginx',
    'postgres',
    'redis',
    'app',
    'api',
    'web',
    'worker',
    'base',
    'ubi8',
    'ubi9',
    'builder',
    'operator',
    'controller',
    'agent',
    'proxy',
    'cli',
    'node-exporter',
    'clair',
    'mirror',
    'sidecar',
  ];
  const people = [
    'alice',
    'bob',
    'carol',
    'dave',
    'erin',
    'frank',
    'grace',
    'heidi',
    'ivan',
    'judy',
    'mallory',
    'niaj',
    'olivia',
    'peggy',
    'rupert',
    'sybil',
    'trent',
    'victor',
    'walter',
    'yusuf',
    'zoe',
  ];
  const robots = ['deploy', 'ci', 'builder', 'pull', 'push', 'mirror', 'scanner', 'backup', 'renovate'];
  const unicode = ['é', 'ü', 'ß', 'ñ', 'ø', 'ç', 'ä', 'Ω', 'ж', '日本', '中文', 'русский', 'Ελληνικά', 'ㅎ', '😀', '🚀', '∑', '€'];
  const ascii = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:+@=~!*()';

  const out = new Set<string>();
  const add = (k: string): void => {
    if (k.length > 0 && k.trim() === k) out.add(k);
  };
  const org = (): string => pick(orgWords) + pick(orgSuffixes) + (rnd() < 0.4 ? String(int(1000)) : '');

  // Random ASCII keys of every length 1..40 (covers all 4-byte tail cases).
  for (let len = 1; len <= 40; len++) {
    for (let n = 0; n < 60; n++) {
      let s = '';
      for (let i = 0; i < len; i++) s += ascii[int(ascii.length)];
      add(s);
    }
  }

  let guard = 0;
  while (out.size < target && guard++ < target * 20) {
    const kind = int(8);
    switch (kind) {
      case 0:
        add(org());
        break;
      case 1:
      case 2:
        add(`${org()}/${pick(repos)}${rnd() < 0.5 ? '-' + int(100) : ''}`);
        break;
      case 3:
        add(`${pick(people)}${rnd() < 0.6 ? int(10000) : ''}`);
        break;
      case 4:
        add(`${org()}+${pick(robots)}${rnd() < 0.5 ? int(100) : ''}`);
        break;
      case 5:
        add(`${int(256)}.${int(256)}.${int(256)}.${int(256)}`);
        break;
      case 6: {
        const groups = Array.from({ length: 8 }, () => int(0x10000).toString(16));
        if (rnd() < 0.5) {
          add(groups.join(':'));
        } else {
          const keep = 1 + int(4);
          add(`2001:db8:${groups.slice(0, keep).join(':')}::${groups[7]}`);
        }
        break;
      }
      default: {
        // UTF-8 non-ASCII mixes: "org/ρεπο", "müller+bot", "日本/app-3", lone chars
        const parts = 1 + int(3);
        let s = rnd() < 0.5 ? pick(orgWords) : '';
        for (let i = 0; i < parts; i++) {
          s += pick(unicode);
          if (rnd() < 0.5) s += pick(['/', '+', '-', '.', '']) + pick(repos).slice(0, 1 + int(6));
        }
        add(s);
      }
    }
  }
  return [...out];
}

// ---------------------------------------------------------------------------
// nginx harness
// ---------------------------------------------------------------------------

interface NginxServer {
  port: number;
  dir: string;
  debugLog: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

function nginxConfig(dir: string, port: number, debugLog: string): string {
  const splits = PERCENTS.map((p, i) => `  split_clients "$http_x_key" $v${i} { ${p}% go; * python; }`).join('\n');
  const vars = [...PERCENTS.map((_, i) => `$v${i}`), '$v100'].join(' ');
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  default_type text/plain;
${splits}
  split_clients "$http_x_key" $v100 { 100% go; * python; }
  split_clients "$http_x_key" $vhash { 50% go; * python; }
  server {
    listen 127.0.0.1:${port};
    location = /split { return 200 "${vars}\\n$http_x_key"; }
    location = /hash {
      error_log ${debugLog} debug;
      return 200 "$vhash";
    }
    location = /bounds {
      error_log ${debugLog} debug;
      return 200 "${vars}";
    }
  }
}
`;
}

async function startNginx(t: Test, bin: string): Promise<NginxServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sb-split-clients-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const debugLog = path.join(dir, 'debug.log');
  const failures: string[] = [];

  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    await writeFile(conf, nginxConfig(dir, port, debugLog));
    const child: ChildProcess = spawn(bin, ['-p', dir + '/', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    child.once('error', (err) => {
      output += String(err);
      exited = true;
    });

    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      if (await canConnect(port)) {
        t.teardown(async () => {
          if (exited) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exitPromise;
          clearTimeout(timer);
        });
        return { port, dir, debugLog };
      }
      await sleep(50);
    }
    if (!exited) {
      child.kill('SIGKILL');
      await exitPromise;
    }
    const errorLog = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
    failures.push(`attempt ${attempt} (port ${port}): ${output}${errorLog}`.trim());
  }
  throw new Error(`could not start nginx (${bin}):\n${failures.join('\n')}`);
}

function request(server: NginxServer, agent: http.Agent, urlPath: string, key: string): Promise<Buffer> {
  // Node writes header strings as latin1, so pass the UTF-8 bytes as a
  // "binary" string to put the exact UTF-8 bytes on the wire.
  const headerValue = Buffer.from(key, 'utf8').toString('latin1');
  const once = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: urlPath,
          agent,
          headers: key === '' ? {} : { 'X-Key': headerValue },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode} for ${JSON.stringify(key)}`));
            else resolve(Buffer.concat(chunks));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  return once().catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return once();
    throw err;
  });
}

/** nginx's choice ('go' | 'python') for each of PERCENTS, then for 100%. */
async function nginxSplit(server: NginxServer, agent: http.Agent, key: string): Promise<string[]> {
  const body = await request(server, agent, '/split', key);
  const nl = body.indexOf(0x0a);
  const echoed = body.subarray(nl + 1);
  if (nl < 0 || !echoed.equals(Buffer.from(key, 'utf8'))) {
    throw new Error(`nginx saw a different key: sent ${JSON.stringify(key)}, got ${JSON.stringify(echoed.toString())}`);
  }
  const choices = body.subarray(0, nl).toString('latin1').split(' ');
  if (choices.length !== PERCENTS.length + 1 || choices.some((c) => c !== 'go' && c !== 'python')) {
    throw new Error(`unexpected nginx answer for ${JSON.stringify(key)}: ${body.toString()}`);
  }
  return choices;
}

/**
 * The `http split: <hash> <boundary>` lines nginx's debug log printed while
 * serving one request (one line per bucket it looked at, `*` has boundary 0).
 */
async function nginxDebugSplits(server: NginxServer, agent: http.Agent, urlPath: string, key: string): Promise<Array<[hash: number, boundary: number]>> {
  const before = await readFile(server.debugLog).catch(() => Buffer.alloc(0));
  await request(server, agent, urlPath, key);
  const after = await readFile(server.debugLog);
  const fresh = after.subarray(before.length).toString('latin1');
  return [...fresh.matchAll(/http split: (\d+) (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

/** The exact murmur hash nginx computed for `key`, read from its debug log. */
async function nginxHash(server: NginxServer, agent: http.Agent, key: string): Promise<number> {
  const lines = await nginxDebugSplits(server, agent, '/hash', key);
  const hashes = new Set(lines.map(([h]) => h));
  // $vhash is `50% go; * python;`: one line when in, two when out.
  if (lines.length < 1 || hashes.size !== 1 || lines[0]![1] !== percentThreshold(50)) {
    throw new Error(`unexpected "http split" debug lines for ${JSON.stringify(key)}: ${JSON.stringify(lines)}`);
  }
  return lines[0]![0];
}
