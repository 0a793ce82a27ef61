/**
 * The real `switchboard serve` process: admin endpoints, metrics, the JSON
 * access log, a bad config edit, 1 GiB bodies both ways with flat memory,
 * clients that disconnect, and a graceful SIGTERM.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, configYaml, connectRefused, request, rssBytes, sleep, startServe, startUpstreams, tempDir, waitFor, writeAtomic } from './lib/harness.js';

t.before(async () => {
  await buildOnce();
});

const MiB = 1048576;

/** A deterministic byte stream of `total` bytes, produced on demand. */
function* chunks(total: number): Generator<Buffer> {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let sent = 0; sent < total; sent += block.length) {
    block.writeUInt32LE(sent / MiB, 0);
    yield sent + block.length <= total ? block : block.subarray(0, total - sent);
  }
}

t.test('admin endpoints, metrics, access log and a refused config edit', async (t) => {
  const up = await startUpstreams(t);
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  const log = join(dir, 'access.log');
  const spec = { migration: { ROUTE_OWNER_CAP_V2_TAGS: 'go' }, upstreams: up, settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: log } };
  writeAtomic(file, configYaml(spec));
  const sb = await startServe(t, file);
  t.equal((await request(sb.adminPort, { path: '/healthz' })).status, 200);
  t.equal((await request(sb.adminPort, { path: '/readyz' })).status, 200);
  t.equal((await request(sb.port, { path: '/v2/acme/app/tags/list' })).json().upstream, 'go');
  t.equal((await request(sb.port, { path: '/api/v1/repository/acme/app' })).json().upstream, 'python');
  const status = (await request(sb.adminPort, { path: '/status' })).json();
  t.equal(status.snapshot.version, 1);
  t.equal(status.reload.reload_failures_total, 0);
  t.equal(status.pins.store, 'memory');
  t.equal(status.upstreams.go.url, up.go.url);
  t.ok(status.upstreams.python.requests >= 1);
  const metrics = (await request(sb.adminPort, { path: '/metrics' })).text();
  t.match(metrics, /switchboard_decisions_total\{owner="go",capability="V2_TAGS",family="REGISTRY_V2",reason="capability_switch"\} 1/);
  for (const name of [
    'switchboard_upstream_request_duration_seconds_bucket',
    'switchboard_snapshot_version 1',
    'switchboard_snapshot_age_seconds',
    'switchboard_config_reload_failures_total 0',
    'switchboard_upload_pins_active 0',
    'switchboard_upstream_errors_total',
  ]) {
    t.ok(metrics.includes(name), `metrics have ${name}`);
  }

  // A bad edit: refused, counted, shown; traffic keeps the last good snapshot.
  writeAtomic(file, configYaml({ ...spec, migration: { ROUTE_OWNER_CAP_V2_TAGS: 'golang' } }));
  t.ok(await waitFor(async () => (await request(sb.adminPort, { path: '/status' })).json().reload.reload_failures_total === 1, 5000), 'failure counted');
  const bad = (await request(sb.adminPort, { path: '/status' })).json();
  t.equal(bad.reload.last_error.issues[0].code, 'SWB_CONFIG_BAD_OWNER');
  t.equal(bad.snapshot.version, 1, 'last-known-good still in force');
  t.match((await request(sb.adminPort, { path: '/metrics' })).text(), /switchboard_config_reload_failures_total 1/);
  t.equal((await request(sb.port, { path: '/v2/acme/app/tags/list' })).json().upstream, 'go');

  await waitFor(() => readFileSync(log, 'utf8').split('\n').filter(Boolean).length >= 3, 3000);
  const lines = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const tags = lines.find((l) => l.path === '/v2/acme/app/tags/list')!;
  t.match(tags, {
    method: 'GET',
    route_id: 'ROUTE_0019',
    capability: 'V2_TAGS',
    family: 'REGISTRY_V2',
    owner: 'go',
    reason: 'capability_switch',
    snapshot_version: 1,
    status: 200,
  });
  t.ok(typeof tags.bytes_sent === 'number' && (tags.bytes_sent as number) > 0, 'bytes');
  t.ok(typeof tags.duration_ms === 'number', 'duration');
});

t.test('1 GiB up and 1 GiB down through the proxy with flat memory', async (t) => {
  const up = await startUpstreams(t);
  const GiB = 1024 * MiB;
  // The go upstream serves the 1 GiB blob on GET; PATCH bodies are counted and hashed by the harness.
  up.python.handler = (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(GiB) });
    const it = chunks(GiB);
    const pump = (): void => {
      for (;;) {
        const n = it.next();
        if (n.done) {
          res.end();
          return;
        }
        if (!res.write(n.value)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  writeAtomic(
    file,
    configYaml({ migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, upstreams: up, settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off' } }),
  );
  const sb = await startServe(t, file);
  await request(sb.port, { path: '/v2/' });
  const base = rssBytes(sb.pid);
  let peak = base;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(sb.pid));
    } catch {
      /* exited */
    }
  }, 100);
  t.teardown(() => clearInterval(sampler));

  // Upload: a chunked PATCH (no content-length) of 1 GiB.
  const sent = createHash('sha256');
  const upload = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: sb.port, method: 'PATCH', path: '/v2/acme/app/blobs/uploads/big-1', headers: { 'content-type': 'application/octet-stream' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    const it = chunks(GiB);
    const pump = (): void => {
      for (;;) {
        const n = it.next();
        if (n.done) {
          req.end();
          return;
        }
        sent.update(n.value);
        if (!req.write(n.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  t.equal(upload, 200);
  const rec = up.go.requests.find((r) => r.url === '/v2/acme/app/blobs/uploads/big-1')!;
  t.equal(rec.bytes, GiB, 'the upstream received 1 GiB');
  t.equal(rec.sha256, sent.digest('hex'), 'byte for byte');

  // Download: 1 GiB blob.
  const got = createHash('sha256');
  const want = createHash('sha256');
  for (const c of chunks(GiB)) want.update(c);
  const n = await new Promise<number>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: sb.port, path: `/v2/acme/app/blobs/sha256:${'c'.repeat(64)}` }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          got.update(c);
        });
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  clearInterval(sampler);
  t.equal(n, GiB, 'the client received 1 GiB');
  t.equal(got.digest('hex'), want.digest('hex'), 'byte for byte');
  const growth = (peak - base) / MiB;
  t.ok(growth < 150, `proxy RSS grew ${growth.toFixed(0)} MiB while moving 2 GiB (flat: < 150 MiB)`);
});

t.test('a client that disconnects aborts the upstream request', async (t) => {
  const up = await startUpstreams(t);
  // python never answers the download until told: it streams slowly forever.
  up.python.handler = (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const timer = setInterval(() => res.write(Buffer.alloc(1024)), 10);
    res.on('close', () => clearInterval(timer));
  };
  up.go.handler = () => {
    /* keeps the request open: never answers */
  };
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  writeAtomic(
    file,
    configYaml({ migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, upstreams: up, settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off' } }),
  );
  const sb = await startServe(t, file);

  // Mid-upload: send headers and part of a large body, then vanish.
  const sock = net.connect(sb.port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write('PATCH /v2/acme/app/blobs/uploads/gone-1 HTTP/1.1\r\nhost: x\r\ncontent-length: 104857600\r\n\r\n');
  sock.write(Buffer.alloc(256 * 1024));
  t.ok(await waitFor(() => up.go.requests.some((r) => r.url.endsWith('gone-1') && r.bytes > 0), 5000), 'upload reached the upstream');
  sock.destroy();
  t.ok(await waitFor(() => up.go.requests.find((r) => r.url.endsWith('gone-1'))!.aborted, 5000), 'the upstream upload was aborted');

  // Mid-download: read a little, then vanish.
  const dl = net.connect(sb.port, '127.0.0.1');
  await new Promise<void>((r) => dl.once('connect', () => r()));
  dl.write(`GET /v2/acme/app/blobs/sha256:${'d'.repeat(64)} HTTP/1.1\r\nhost: x\r\n\r\n`);
  await new Promise<void>((r) => dl.once('data', () => r()));
  dl.destroy();
  t.ok(await waitFor(() => up.python.requests.some((r) => r.url.includes('sha256:dddd') && r.responseClosedEarly), 5000), 'the upstream response was cut off');
  const st = (await request(sb.adminPort, { path: '/status' })).json();
  t.equal(st.inflight_requests, 0, 'nothing left in flight');
});

t.test('SIGTERM drains: the in-flight request completes, new connections are refused, exit 0', async (t) => {
  const up = await startUpstreams(t);
  up.python.handler = (req, res) => {
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'python' });
      res.end('slow but done');
    }, 1000);
  };
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  writeAtomic(file, configYaml({ upstreams: up, settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off' } }));
  const sb = await startServe(t, file);
  const slow = request(sb.port, { path: '/v2/acme/app/manifests/latest' });
  t.ok(await waitFor(() => up.python.requests.length === 1, 5000), 'request in flight');
  sb.child.kill('SIGTERM');
  await sleep(200);
  t.ok(await connectRefused(sb.port), 'new connections refused while draining');
  const r = await slow;
  t.equal(r.status, 200);
  t.equal(r.text(), 'slow but done');
  const exit = await sb.exited;
  t.same(exit, { code: 0, signal: null }, 'exit 0');
  t.ok(
    sb.logs().some((l) => l.msg === 'draining'),
    'logged draining',
  );
});
