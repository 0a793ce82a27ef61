/**
 * Hostile and broken clients (issue 14), each attack reproduced against the
 * in-process proxy: a slow request body is cut with a 408 and charges no
 * owner; slow bodies do not make other requests wait (no upstream queue);
 * MAX_CONNECTIONS closes connections over the cap; `Upgrade: h2c` is served
 * as HTTP/1.1; an owner's early answer to an upload it refuses reaches the
 * client; dot-segment paths are refused at the edge; the access log tells
 * never-answered requests apart; upload pins are removed when the upload ends
 * and bounded per client.
 */
import t from 'tap';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyMetrics } from '../../proxy/metrics.js';
import { classifyUpstreamError } from '../../proxy/error-response.js';
import { resolveMaxConnections } from '../../proxy/server.js';
import { hasDotSegment } from '../../proxy/edge-checks.js';
import { MemoryPinStore } from '../../proxy/pin-store.js';
import { rawRequest, request, sleep, startProxy, startUpstreams, tempDir, waitFor, within } from './lib/harness.js';

const REPO = '/v2/acme/app';

async function counter(m: ProxyMetrics | null, name: string, match: Record<string, string> = {}): Promise<number> {
  const metric = m!.registry.getSingleMetric(name);
  if (!metric) return 0;
  const v = await metric.get();
  return v.values.filter((x) => Object.entries(match).every(([k, want]) => (x.labels as Record<string, unknown>)[k] === want)).reduce((n, x) => n + x.value, 0);
}
const ownerErrors = (m: ProxyMetrics | null): Promise<number> => counter(m, 'switchboard_upstream_errors_total');

/** A socket that sent a request head and waits; resolves with what the server answered when it closes. */
function openRequest(port: number, head: string): { sock: net.Socket; answer: Promise<string> } {
  const sock = net.connect(port, '127.0.0.1');
  let got = '';
  sock.on('data', (c: Buffer) => {
    got += c.toString('latin1');
  });
  const answer = new Promise<string>((resolve) => {
    sock.on('error', () => resolve(got));
    sock.on('close', () => resolve(got));
  });
  sock.write(head);
  return { sock, answer };
}

t.test('a request body slower than the minimum rate gets 408; the owner is not charged', async (t) => {
  const up = await startUpstreams(t);
  const accessLog = join(tempDir(t), 'access.log');
  const px = await startProxy(
    t,
    {
      upstreams: up,
      settings: { REQUEST_BODY_TIMEOUT_SECONDS: 1, REQUEST_BODY_MIN_BYTES_PER_SECOND: 100 },
    },
    { metrics: true, accessLog },
  );
  const errors0 = await ownerErrors(px.metrics);
  const { sock, answer } = openRequest(px.port, `PATCH ${REPO}/blobs/uploads/slow-1 HTTP/1.1\r\nHost: registry.example.com\r\nContent-Length: 1048576\r\n\r\nx`);
  // One byte every 300 ms: alive, but far under 100 bytes a second.
  const drip = setInterval(() => {
    if (!sock.destroyed) sock.write('y');
  }, 300);
  t.teardown(() => {
    clearInterval(drip);
    sock.destroy();
  });
  const text = await within(answer, 10_000, 'the slow body is cut');
  clearInterval(drip);
  t.match(text, /^HTTP\/1\.1 408 /, '408 Request Timeout');
  t.match(text, /REQUEST_BODY_MIN_BYTES_PER_SECOND/, 'names the setting');
  t.ok(await waitFor(() => up.python.requests.length === 1 && up.python.requests[0]!.aborted), 'the upstream request was aborted');
  t.equal(await ownerErrors(px.metrics), errors0, 'no owner error counted');
  t.equal(await counter(px.metrics, 'switchboard_edge_refusals_total', { reason: 'body_timeout' }), 1, 'counted as an edge refusal');
  t.ok(await waitFor(() => existsSync(accessLog) && readFileSync(accessLog, 'utf8').includes('body_timeout')), 'access-logged');
  const line = JSON.parse(readFileSync(accessLog, 'utf8').trim().split('\n').pop()!);
  t.match(line, { status: 408, error: 'body_timeout', owner: 'python' });
});

t.test('a fast client held back by a slow owner is not cut (the proxy stopped reading, not the client)', async (t) => {
  const up = await startUpstreams(t);
  const gate = { open: false };
  const inner = up.python.handler;
  up.python.handler = (req, res, rec) => {
    req.pause();
    const resume = (): void => {
      if (gate.open) {
        req.resume();
        inner(req, res, rec);
      } else setTimeout(resume, 50);
    };
    resume();
  };
  const px = await startProxy(
    t,
    {
      upstreams: up,
      settings: { REQUEST_BODY_TIMEOUT_SECONDS: 1, REQUEST_BODY_MIN_BYTES_PER_SECOND: 1024 },
    },
    { metrics: true },
  );
  const body = Buffer.alloc(16 * 1024 * 1024, 7);
  const pending = request(px.port, { method: 'PATCH', path: `${REPO}/blobs/uploads/held-1`, body });
  await sleep(3000); // three windows with the owner not reading
  gate.open = true;
  const r = await within(pending, 20_000, 'the upload completes');
  t.equal(r.status, 200, 'answered by the owner');
  t.equal(r.json().bytes, body.length, 'every byte arrived');
  t.equal(await counter(px.metrics, 'switchboard_edge_refusals_total', { reason: 'body_timeout' }), 0, 'not cut');
});

t.test('300 slow bodies hold no other request back (no upstream queue) and charge no owner', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { upstreams: up, settings: { REQUEST_BODY_TIMEOUT_SECONDS: 30 } }, { metrics: true });
  const slow: net.Socket[] = [];
  for (let i = 0; i < 300; i++) {
    slow.push(openRequest(px.port, `PATCH ${REPO}/blobs/uploads/slow-${i} HTTP/1.1\r\nHost: registry.example.com\r\nContent-Length: 1048576\r\n\r\nx`).sock);
  }
  t.teardown(() => {
    for (const s of slow) s.destroy();
  });
  t.ok(await waitFor(() => up.python.requests.length >= 300, 20_000), 'all 300 reached the owner and hold a connection each');
  const answers = await within(Promise.all(Array.from({ length: 20 }, () => request(px.port, { path: `${REPO}/tags/list` }))), 10_000, 'normal requests during the attack');
  t.same(
    answers.map((r) => r.status),
    Array(20).fill(200),
    'every normal request answered by its owner',
  );
  for (const s of slow) s.destroy();
  t.ok(await waitFor(() => px.proxy.inflight === 0, 10_000), 'the slow requests are gone');
  t.equal(
    (await counter(px.metrics, 'switchboard_upstream_errors_total', { kind: 'reset' })) + (await counter(px.metrics, 'switchboard_upstream_errors_total', { kind: 'timeout' })),
    0,
    'no owner failure counted',
  );
});

t.test('MAX_CONNECTIONS: connections over the cap are closed at once and counted', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { upstreams: up, settings: { MAX_CONNECTIONS: 3 } }, { metrics: true });
  t.equal(px.proxy.maxConnections, 3);
  const held: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect(px.port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    held.push(s);
  }
  t.teardown(() => {
    for (const s of held) s.destroy();
  });
  await waitFor(async () => (await new Promise<number>((r) => px.proxy.server.getConnections((_e, n) => r(n)))) === 3);
  const over = openRequest(px.port, `GET ${REPO}/tags/list HTTP/1.1\r\nHost: x\r\n\r\n`);
  t.equal(await within(over.answer, 5000, 'the fourth connection'), '', 'closed without an answer');
  t.equal(await counter(px.metrics, 'switchboard_edge_refusals_total', { reason: 'too_many_connections' }), 1);
  held.pop()!.destroy();
  t.ok(await waitFor(async () => (await new Promise<number>((r) => px.proxy.server.getConnections((_e, n) => r(n)))) === 2));
  const r = await request(px.port, { path: `${REPO}/tags/list` });
  t.equal(r.status, 200, 'a connection is taken again once one closed');
  t.equal(up.python.requests.length, 1, 'only that one reached the owner');
});

t.test('MAX_CONNECTIONS 0: half the open-file limit, less a reserve', async (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'limits');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(f, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                524288               files\n');
  t.equal(resolveMaxConnections(0, f), 9872);
  t.equal(resolveMaxConnections(500, f), 500, 'a number wins');
  t.equal(resolveMaxConnections(0, join(dir, 'none')), 1920, 'no limits file: from 4096');
  t.same(classifyUpstreamError(Object.assign(new Error('x'), { code: 'EMFILE' })).kind, 'overloaded', "out of descriptors is not the owner's failure");
});

t.test('Upgrade: h2c is served as plain HTTP/1.1 (curl --http2), body and keep-alive intact', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { upstreams: up }, { metrics: true });
  const url = `http://127.0.0.1:${px.port}${REPO}/manifests/latest`;
  const out = await new Promise<{ code: number; text: string }>((resolve) =>
    execFile('curl', ['-s', '-i', '--http2', url, url, '-X', 'PUT', '--data-binary', 'hello'], (e, so) =>
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, text: String(so) }),
    ),
  );
  t.equal(out.code, 0, 'curl succeeded');
  t.equal(out.text.match(/HTTP\/1\.1 200 /g)?.length, 2, 'both requests answered 200 over HTTP/1.1');
  t.notMatch(out.text, /101 Switching/, 'no protocol switch');
  t.equal(up.python.requests.length, 2);
  for (const r of up.python.requests) {
    t.equal(r.headers.upgrade, undefined, 'no Upgrade sent on');
    t.equal(r.headers['http2-settings'], undefined, 'no HTTP2-Settings sent on');
    t.equal(r.bytes, 5, 'the body arrived');
  }
  // Raw: the upgrade request with a pipelined follower on one connection.
  const sock = net.connect(px.port, '127.0.0.1');
  let got = '';
  sock.on('data', (c: Buffer) => {
    got += c.toString('latin1');
  });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(
    `GET ${REPO}/tags/list HTTP/1.1\r\nHost: registry.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`,
  );
  t.ok(await waitFor(() => /\r\n\r\n\{/.test(got)), 'first answer');
  sock.write(`GET ${REPO}/tags/list HTTP/1.1\r\nHost: registry.example.com\r\nConnection: close\r\n\r\n`);
  await new Promise<void>((r) => sock.once('close', () => r()));
  t.equal(got.match(/HTTP\/1\.1 200 /g)?.length, 2, 'the connection stays usable');
  t.equal(await ownerErrors(px.metrics), 0, 'no owner charged');
});

t.test("an owner's early answer to an upload it refuses reaches the client (an owner that reads the rest, as Go, nginx and registryd do)", async (t) => {
  const up = await startUpstreams(t);
  up.python.handler = (req, res) => {
    const body = JSON.stringify({ errors: [{ code: 'BLOB_UPLOAD_UNKNOWN', message: 'blob upload unknown to registry', detail: {} }] });
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    req.resume();
  };
  const px = await startProxy(t, { upstreams: up }, { metrics: true });
  const big = Buffer.alloc(24 * 1024 * 1024, 1);
  const r = await request(px.port, { method: 'PATCH', path: `${REPO}/blobs/uploads/gone-1`, body: big });
  t.equal(r.status, 404);
  t.equal(r.json().errors[0].code, 'BLOB_UPLOAD_UNKNOWN', "the owner's error, not a 502");
  const m = await request(px.port, { method: 'PUT', path: `${REPO}/manifests/latest`, body: big });
  t.equal(m.status, 404);
  t.equal(await ownerErrors(px.metrics), 0, 'no owner failure counted');
});

t.test('dot segments are refused at the edge: not forwarded, not decided, no owner charged', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { upstreams: up, migration: { ROUTE_OWNER_FAMILY_API_V1: 'go' } }, { metrics: true });
  for (const path of ['/api/v1/../../v2/acme/app/manifests/latest', `${REPO}/%2e%2e/%2E%2e/tags/list`, `${REPO}/./tags/list`, '/v2/acme/app/tags/..', '/api/v1/%2e/user/']) {
    const r = await rawRequest(px.port, [`GET ${path} HTTP/1.1`, 'Host: registry.example.com', 'Connection: close']);
    t.equal(r.status, 400, `${path}: 400`);
    t.match(r.body.toString(), /path segment/);
  }
  t.equal(up.python.requests.length + up.go.requests.length, 0, 'nothing reached an owner');
  t.equal(await counter(px.metrics, 'switchboard_decisions_total'), 0, 'no decision counted');
  t.equal(await counter(px.metrics, 'switchboard_edge_refusals_total', { reason: 'bad_request' }), 5);
  const absolute = await rawRequest(px.port, [
    `GET http://registry.example.com${REPO}/tags/list HTTP/1.1`,
    'Host: registry.example.com',
    'Host: evil.example.com',
    'Connection: close',
  ]);
  t.equal(absolute.status, 400, 'two Host headers are refused with an absolute-form target too (counted before the rewrite)');
  t.equal(up.python.requests.length + up.go.requests.length, 0);
  const ok = await request(px.port, { path: `${REPO}..x/tags/list?n=1&last=../a` });
  t.equal(ok.status, 200, 'dots inside a segment, or in the query, are not segments');
  t.equal(hasDotSegment('/v2/a/b.c/..d/tags/list'), false);
  t.equal(hasDotSegment('/v2/a/..'), true);
});

t.test('the access log: a request nobody answered is 499 when the client left, not 200', async (t) => {
  const up = await startUpstreams(t);
  up.python.handler = () => {
    /* never answers */
  };
  const accessLog = join(tempDir(t), 'access.log');
  const px = await startProxy(t, { upstreams: up }, { accessLog });
  const { sock } = openRequest(px.port, `GET ${REPO}/manifests/latest HTTP/1.1\r\nHost: registry.example.com\r\n\r\n`);
  t.ok(await waitFor(() => up.python.requests.length === 1));
  sock.destroy();
  t.ok(await waitFor(() => existsSync(accessLog) && readFileSync(accessLog, 'utf8').includes('client_abort')));
  t.match(JSON.parse(readFileSync(accessLog, 'utf8').trim()), { status: 499, error: 'client_abort', bytes_sent: 0 });
});

t.test('upload pins: removed when the upload is committed or cancelled; bounded per client', async (t) => {
  const up = await startUpstreams(t);
  let n = 0;
  up.python.handler = (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') {
        const uuid = `u-${++n}`;
        res.writeHead(202, { location: `${REPO}/blobs/uploads/${uuid}`, 'docker-upload-uuid': uuid, 'content-length': 0 });
      } else if (req.method === 'PUT') res.writeHead(201, { 'content-length': 0 });
      else if (req.method === 'DELETE') res.writeHead(204);
      else res.writeHead(202, { 'content-length': 0 });
      res.end();
    });
  };
  const pins = new MemoryPinStore();
  const px = await startProxy(t, { upstreams: up, settings: { PIN_MAX_PER_CLIENT: 3 } }, { pins, metrics: true });
  const start = (): ReturnType<typeof request> => request(px.port, { method: 'POST', path: `${REPO}/blobs/uploads/` });
  for (let i = 0; i < 3; i++) t.equal((await start()).status, 202);
  t.equal(await pins.count(), 3);
  t.equal(pins.heldBy('127.0.0.1'), 3);
  const refused = await start();
  t.equal(refused.status, 429, 'a fourth upload in progress is refused');
  t.equal(refused.json().errors[0].code, 'TOOMANYREQUESTS');
  t.match(refused.json().errors[0].detail, { limit_setting: 'SWITCHBOARD.PIN_MAX_PER_CLIENT' });
  t.equal(up.python.requests.filter((r) => r.method === 'POST').length, 3, 'not forwarded');
  t.equal((await request(px.port, { method: 'PUT', path: `${REPO}/blobs/uploads/u-1?digest=sha256:${'a'.repeat(64)}` })).status, 201);
  t.equal((await request(px.port, { method: 'DELETE', path: `${REPO}/blobs/uploads/u-2` })).status, 204);
  t.ok(await waitFor(async () => (await pins.count()) === 1), 'committed and cancelled uploads unpinned');
  t.equal((await start()).status, 202, 'room again');
  t.equal(await counter(px.metrics, 'switchboard_edge_refusals_total', { reason: 'too_many_uploads' }), 1);
});

t.test('the memory pin store stays under its limit, oldest first', async (t) => {
  const store = new MemoryPinStore(Date.now, 3);
  t.teardown(() => store.close());
  for (const u of ['a', 'b', 'c', 'd']) store.set(u, 'go', 60, '10.0.0.1');
  t.equal(await store.count(), 3);
  t.equal(store.get('a'), null, 'the oldest went');
  t.equal(store.get('d'), 'go');
  t.equal(store.evicted, 1);
  t.equal(store.heldBy('10.0.0.1'), 3, 'per-client count follows');
  t.equal(store.heldBy('::ffff:10.0.0.1'), 3, 'an IPv4-mapped address is the same client');
  store.delete('b');
  t.equal(store.heldBy('10.0.0.1'), 2);
});

t.test('unknown expectations and hang-ups: counted right', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { upstreams: up }, { metrics: true });
  const r = await rawRequest(
    px.port,
    [`PUT ${REPO}/manifests/latest HTTP/1.1`, 'Host: registry.example.com', 'Content-Length: 3', 'Expect: something-else', 'Connection: close'],
    'abc',
  );
  t.equal(r.status, 417);
  t.equal(await counter(px.metrics, 'switchboard_edge_refusals_total', { reason: 'bad_expectation' }), 1);
  // A client that sends half a request head and hangs up is not a malformed request.
  const s = net.connect(px.port, '127.0.0.1');
  await new Promise<void>((res) => s.once('connect', () => res()));
  s.write(`GET ${REPO}/tags/list HTTP/1.1\r\nHost: x`);
  await sleep(50);
  s.resetAndDestroy();
  await sleep(100);
  t.equal(await counter(px.metrics, 'switchboard_edge_refusals_total', { reason: 'malformed' }), 0, 'a reset is not counted');
  const bad = await rawRequest(px.port, [`GET ${REPO}/tags/list HTTP/1.1`, 'Host: registry.example.com', 'Bad Header: x', 'Connection: close']);
  t.equal(bad.status, 400);
  t.equal(await counter(px.metrics, 'switchboard_edge_refusals_total', { reason: 'malformed' }), 1, 'a malformed head is');
  t.equal(up.python.requests.length, 0);
});
