/**
 * Bodies stream both ways with back-pressure (DESIGN §5, §8 "flat memory while
 * streaming a 1 GiB blob"): a 1 GiB upload and a 1 GiB download through the
 * real `switchboard serve` process, generated on the fly and hashed on both
 * sides, while the proxy's RSS is sampled from /proc/<pid>/status. Chunked
 * request bodies (no Content-Length) arrive intact.
 */
import t from 'tap';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buildOnce, configYaml, rssBytes, startServe, startUpstreams, tempDir, writeAtomic, within, type ServeProcess } from './lib/harness.js';

t.setTimeout(600_000);

const GiB = 1024 * 1024 * 1024;
const CHUNK = 256 * 1024;
const MiB = 1024 * 1024;

/** Deterministic bytes: a 256 KiB pattern with the chunk index stamped in; a fresh buffer per chunk. */
function* generate(total: number, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  const pattern = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) pattern[i] = (i * 31 + 7) & 0xff;
  let sent = 0;
  for (let i = 0; sent < total; i++) {
    const n = Math.min(CHUNK, total - sent);
    const b = Buffer.allocUnsafe(n);
    pattern.copy(b, 0, 0, n);
    if (n >= 8) b.writeDoubleBE(i, 0);
    hash.update(b);
    sent += n;
    yield b;
  }
}

/** Samples VmRSS every 100 ms until stopped. */
function sampler(pid: number): { stop(): { max: number; samples: number } } {
  let max = rssBytes(pid);
  let samples = 1;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssBytes(pid));
      samples++;
    } catch {
      /* process gone: reported by the test */
    }
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return { max, samples };
    },
  };
}

let serve: ServeProcess;
let up: Awaited<ReturnType<typeof startUpstreams>>;

t.before(async () => {
  await buildOnce();
  up = await startUpstreams(t);
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  writeAtomic(
    file,
    configYaml({
      migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_PULL: 'go' },
      upstreams: up,
      settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', DEBUG_HEADERS: true },
    }),
  );
  serve = await startServe(t, file);
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
t.teardown(() => agent.destroy());

async function warmBaseline(): Promise<number> {
  // Warm both paths (pools, JIT) with small bodies, then let the heap settle.
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) => {
      const r = http.request({ port: serve.port, host: '127.0.0.1', method: 'PATCH', path: '/v2/acme/app/blobs/uploads/warm', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      r.on('error', reject);
      r.end(Buffer.alloc(256 * 1024, 1));
    });
  }
  await new Promise((r) => setTimeout(r, 500));
  return rssBytes(serve.pid);
}

t.test('1 GiB upload through the proxy: byte count and sha256 match, proxy RSS stays flat', async (t) => {
  const base = await warmBaseline();
  const sent = createHash('sha256');
  const s = sampler(serve.pid);
  const reply = await within(
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          port: serve.port,
          host: '127.0.0.1',
          method: 'PATCH',
          path: '/v2/acme/big/blobs/uploads/0b5e6c1e-big-upload',
          agent,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(GiB) },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      pipeline(Readable.from(generate(GiB, sent)), req).catch(reject);
    }),
    480_000,
    '1 GiB upload',
  );
  const { max, samples } = s.stop();
  t.equal(reply.status, 200, 'upload answered 200');
  const got = JSON.parse(reply.body) as { upstream: string; bytes: number; sha256: string };
  t.equal(got.upstream, 'python', 'reached the V2_UPLOAD owner');
  t.equal(got.bytes, GiB, 'upstream received exactly 1 GiB');
  t.equal(got.sha256, sent.digest('hex'), 'upstream sha256 = client sha256');
  const growth = max - base;
  t.comment(`upload: proxy RSS baseline ${(base / MiB).toFixed(1)} MiB, max ${(max / MiB).toFixed(1)} MiB over ${samples} samples`);
  t.ok(samples > 5, 'RSS was sampled during the transfer');
  t.ok(growth < 150 * MiB, `proxy RSS growth ${(growth / MiB).toFixed(1)} MiB < 150 MiB`);
});

t.test('1 GiB download through the proxy: byte count and sha256 match, proxy RSS stays flat', async (t) => {
  let upstreamSha = '';
  up.go.handler = (req, res) => {
    req.resume();
    const h = createHash('sha256');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(GiB), 'x-upstream': 'go' });
    pipeline(Readable.from(generate(GiB, h)), res).then(
      () => {
        upstreamSha = h.digest('hex');
      },
      () => {
        /* client gone */
      },
    );
  };
  const base = await warmBaseline();
  const s = sampler(serve.pid);
  const got = createHash('sha256');
  let bytes = 0;
  const res = await within(
    new Promise<{ status: number; owner: string }>((resolve, reject) => {
      const req = http.request({ port: serve.port, host: '127.0.0.1', path: '/v2/acme/big/blobs/sha256:' + 'c'.repeat(64), agent }, (res) => {
        pipeline(
          res,
          new Writable({
            write(c: Buffer, _e, cb) {
              bytes += c.length;
              got.update(c);
              cb();
            },
          }),
        ).then(() => resolve({ status: res.statusCode ?? 0, owner: String(res.headers['x-upstream']) }), reject);
      });
      req.on('error', reject);
      req.end();
    }),
    480_000,
    '1 GiB download',
  );
  const { max, samples } = s.stop();
  t.equal(res.status, 200);
  t.equal(res.owner, 'go', 'served by the V2_PULL owner');
  t.equal(bytes, GiB, 'client received exactly 1 GiB');
  t.equal(got.digest('hex'), upstreamSha, 'client sha256 = upstream sha256');
  const growth = max - base;
  t.comment(`download: proxy RSS baseline ${(base / MiB).toFixed(1)} MiB, max ${(max / MiB).toFixed(1)} MiB over ${samples} samples`);
  t.ok(samples > 5, 'RSS was sampled during the transfer');
  t.ok(growth < 150 * MiB, `proxy RSS growth ${(growth / MiB).toFixed(1)} MiB < 150 MiB`);
});

t.test('chunked request bodies (no Content-Length) arrive intact', async (t) => {
  for (const size of [0, 1, 65_537, 8 * MiB + 3]) {
    const sent = createHash('sha256');
    const reply = await within(
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            port: serve.port,
            host: '127.0.0.1',
            method: 'PATCH',
            path: '/v2/acme/app/blobs/uploads/chunked-' + size,
            agent,
            headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              body += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        // Irregular chunk sizes, written with back-pressure.
        const chunks = (function* () {
          for (const b of generate(size, sent)) {
            for (let o = 0; o < b.length; o += 10_007) yield b.subarray(o, o + 10_007);
          }
        })();
        pipeline(Readable.from(chunks), req).catch(reject);
      }),
      60_000,
      `chunked upload of ${size} bytes`,
    );
    t.equal(reply.status, 200, `${size} bytes: 200`);
    const got = JSON.parse(reply.body) as { bytes: number; sha256: string };
    t.equal(got.bytes, size, `${size} bytes: byte count`);
    t.equal(got.sha256, sent.digest('hex'), `${size} bytes: sha256`);
    const seen = up.python.requests.find((r) => r.url === '/v2/acme/app/blobs/uploads/chunked-' + size);
    // undici may state the length of a body that had fully arrived before it forwarded it: fine, if true.
    const cl = seen?.headers['content-length'];
    t.ok(cl === undefined || cl === String(size), `${size} bytes: upstream framing chunked or the true length (${String(cl)})`);
    t.ok(seen?.complete, `${size} bytes: upstream saw the body end`);
  }
});
