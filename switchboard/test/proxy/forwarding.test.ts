/**
 * Forwarding (DESIGN §5): every request is decided once against the snapshot
 * in force and forwarded to its owner; a capability switch moves only its
 * routes; an owner that is down, slow or resets never makes the proxy send the
 * request to the other owner — the client gets the family's error format.
 */
import t from 'tap';
import http from 'node:http';
import type { ProxyMetrics } from '../../proxy/metrics.js';
import { createLogger } from '../../../lib/log.js';
import { deadPort, request, startProxy, startUpstreams, within, type OwnerName, type Upstream } from './lib/harness.js';

async function decisionsTotal(m: ProxyMetrics | null): Promise<number> {
  const metric = m?.registry.getSingleMetric('switchboard_decisions_total');
  if (!metric) throw new Error('no switchboard_decisions_total');
  const v = await metric.get();
  return v.values.reduce((n, x) => n + x.value, 0);
}

const counts = (u: { python: Upstream; go: Upstream }): Record<OwnerName, number> => ({ python: u.python.requests.length, go: u.go.requests.length });

t.test('every request is decided once and forwarded to its owner; a capability switch moves only its routes', async (t) => {
  const up = await startUpstreams(t);
  const migration = { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_TAGS: 'go' };
  const px = await startProxy(t, { migration, upstreams: up, settings: { DEBUG_HEADERS: true } }, { metrics: true });

  const cases: { method: string; path: string; owner: OwnerName; body?: string }[] = [
    { method: 'GET', path: '/v2/acme/app/tags/list', owner: 'go' },
    { method: 'GET', path: '/v2/acme/app/manifests/latest', owner: 'python' },
    { method: 'GET', path: '/v2/acme/app/blobs/sha256:' + 'a'.repeat(64), owner: 'python' },
    { method: 'PUT', path: '/v2/acme/app/manifests/latest', owner: 'python', body: '{"schemaVersion":2}' },
    { method: 'GET', path: '/api/v1/repository/acme/app', owner: 'python' },
    { method: 'GET', path: '/v2/', owner: 'python' },
  ];
  const run = async (expect: (c: (typeof cases)[number]) => OwnerName, label: string): Promise<void> => {
    for (const c of cases) {
      const before = counts(up);
      const d0 = await decisionsTotal(px.metrics);
      const r = await request(px.port, { method: c.method, path: c.path, body: c.body, headers: c.body ? { 'content-type': 'application/json' } : {} });
      const owner = expect(c);
      const what = `${label}: ${c.method} ${c.path}`;
      t.equal(r.status, 200, `${what}: 200`);
      t.equal(r.headers['x-upstream'], owner, `${what}: answered by ${owner}`);
      t.equal(r.headers['x-switchboard-owner'], owner, `${what}: x-switchboard-owner names ${owner}`);
      t.equal(r.headers['x-switchboard-snapshot'], String(px.provider.current().version), `${what}: names the snapshot in force`);
      const after = counts(up);
      t.equal(after[owner] - before[owner], 1, `${what}: exactly one request reached ${owner}`);
      const other: OwnerName = owner === 'go' ? 'python' : 'go';
      t.equal(after[other], before[other], `${what}: nothing reached ${other}`);
      t.equal((await decisionsTotal(px.metrics)) - d0, 1, `${what}: decided exactly once`);
      if (c.body) t.equal(r.json().bytes, Buffer.byteLength(c.body), `${what}: body arrived`);
    }
  };
  await run((c) => c.owner, 'initial');

  // Move V2_PULL (manifests and blobs GET) to go: nothing else moves.
  await px.write({ migration: { ...migration, ROUTE_OWNER_CAP_V2_PULL: 'go' }, upstreams: up, settings: { DEBUG_HEADERS: true } });
  const pulls = new Set(['/v2/acme/app/manifests/latest', '/v2/acme/app/blobs/sha256:' + 'a'.repeat(64)]);
  await run((c) => (c.method === 'GET' && pulls.has(c.path) ? 'go' : c.owner), 'after V2_PULL → go');
  const r = await request(px.port, { path: '/v2/acme/app/manifests/latest' });
  t.equal(r.headers['x-switchboard-reason'], 'capability_switch', 'reason names the capability switch');
  t.equal(r.headers['x-switchboard-route'], 'ROUTE_0016', 'debug headers name the route');
});

t.test('an owner that is down: 502 in the family format, naming the owner, and never the other owner', async (t) => {
  const up = await startUpstreams(t);
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const px = await startProxy(t, {
    migration: { ROUTE_OWNER_DEFAULT: 'go' },
    upstreams: { python: up.python.url, go: dead },
    settings: { DEBUG_HEADERS: true },
  });

  const v2 = await request(px.port, { path: '/v2/acme/app/manifests/latest' });
  t.equal(v2.status, 502, '/v2: 502');
  t.equal(v2.headers['x-switchboard-owner'], 'go', '/v2: names the failed owner');
  t.equal(v2.headers['x-switchboard-error'], 'refused');
  t.match(v2.headers['content-type'], /^application\/json/);
  const oci = v2.json();
  t.equal(oci.errors?.length, 1, 'OCI error list');
  t.equal(oci.errors[0].code, 'UNAVAILABLE', 'OCI code UNAVAILABLE');
  t.type(oci.errors[0].message, 'string');
  t.match(oci.errors[0].message, /go/);

  const api = await request(px.port, { path: '/api/v1/repository/acme/app' });
  t.equal(api.status, 502, '/api/v1: 502');
  t.equal(api.headers['x-switchboard-owner'], 'go');
  const q = api.json();
  t.match(q, { error_message: String, error_type: String, status: 502, title: String, detail: String }, 'Quay API error shape');
  t.equal(q.errors, undefined, 'not the OCI shape');

  const other = await request(px.port, { path: '/keys/services/quay/keys' });
  t.equal(other.status, 502, 'elsewhere: 502');
  t.equal(other.headers['x-switchboard-owner'], 'go');
  t.match(other.headers['content-type'], /^text\/plain/, 'elsewhere: plain text');
  t.match(other.text(), /upstream go failed/);

  // A request with a body: still answered (body drained), still not sent to python.
  const put = await request(px.port, {
    method: 'PUT',
    path: '/v2/acme/app/manifests/v1',
    body: Buffer.alloc(256 * 1024, 7),
    headers: { 'content-type': 'application/octet-stream' },
  });
  t.equal(put.status, 502, 'PUT with a body: 502');

  const web = await request(px.port, { path: '/' });
  t.equal(web.status, 502, 'web root: 502');
  t.equal(up.python.requests.length, 0, 'python saw nothing while go was down');
});

t.test('an owner that goes down after serving (pooled connections) fails the same way', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { migration: { ROUTE_OWNER_CAP_V2_TAGS: 'go' }, upstreams: up });
  for (let i = 0; i < 3; i++) t.equal((await request(px.port, { path: '/v2/acme/app/tags/list' })).headers['x-upstream'], 'go');
  await up.go.close();
  const r = await request(px.port, { path: '/v2/acme/app/tags/list' });
  t.equal(r.status, 502, '502 once go is gone');
  t.equal(r.headers['x-switchboard-owner'], 'go');
  t.equal(r.json().errors?.[0]?.code, 'UNAVAILABLE');
  t.equal(up.python.requests.length, 0, 'python saw nothing');
});

t.test('an upstream that never answers: 504 after UPSTREAM_TIMEOUT_SECONDS, not a hang', async (t) => {
  const up = await startUpstreams(t);
  up.go.handler = () => {
    /* never answers */
  };
  const px = await startProxy(t, { migration: { ROUTE_OWNER_CAP_V2_TAGS: 'go' }, upstreams: up, settings: { UPSTREAM_TIMEOUT_SECONDS: 1 } });
  const r = await within(request(px.port, { path: '/v2/acme/app/tags/list' }), 20_000, 'the request should end with a 504');
  t.equal(r.status, 504, '504');
  t.equal(r.headers['x-switchboard-owner'], 'go');
  t.equal(r.headers['x-switchboard-error'], 'timeout');
  t.equal(r.json().errors?.[0]?.code, 'UNAVAILABLE', 'OCI error body');
  t.equal(up.go.requests.length, 1, 'go got the request once (no retry)');
  t.equal(up.python.requests.length, 0, 'python saw nothing');

  const api = await within(request(px.port, { path: '/api/v1/repository/acme/app' }), 20_000, 'api request');
  t.equal(api.status, 200, 'python routes unaffected');
});

t.test('an upstream that resets mid-response: the client sees a broken response; the proxy keeps serving', async (t) => {
  const up = await startUpstreams(t);
  const normal = up.python.handler;
  up.python.handler = (req, res, rec) => {
    if (!req.url?.includes('/broken/')) {
      normal(req, res, rec);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1_000_000, 'x-upstream': 'python' });
    res.write(Buffer.alloc(64 * 1024, 1), () => setTimeout(() => req.socket.destroy(), 50));
  };
  const px = await startProxy(t, { upstreams: up });

  const outcome = await within(
    new Promise<{ error?: Error; bytes: number; status: number }>((resolve) => {
      let bytes = 0;
      let status = 0;
      const r = http.request({ host: '127.0.0.1', port: px.port, path: '/v2/acme/broken/blobs/sha256:' + 'b'.repeat(64), agent: false }, (res) => {
        status = res.statusCode ?? 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        res.on('end', () => resolve({ bytes, status }));
        res.on('error', (error) => resolve({ error, bytes, status }));
        res.on('aborted', () => resolve({ error: new Error('aborted'), bytes, status }));
      });
      r.on('error', (error) => resolve({ error, bytes, status }));
      r.end();
    }),
    20_000,
    'the broken response should end',
  );
  t.equal(outcome.status, 200, 'headers had been forwarded');
  t.ok(outcome.error !== undefined || outcome.bytes < 1_000_000, `broken response seen (error: ${outcome.error?.message ?? 'none'}, ${outcome.bytes} of 1000000 bytes)`);
  t.ok(outcome.bytes < 1_000_000, 'truncated');

  for (let i = 0; i < 3; i++) {
    const r = await request(px.port, { path: '/v2/acme/app/manifests/latest' });
    t.equal(r.status, 200, `next request ${i + 1} served`);
    t.equal(r.headers['x-upstream'], 'python');
  }
  t.equal(up.go.requests.length, 0, 'go saw nothing');
});

t.test('a failed upstream is logged without the credentials of its URL (review)', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    {},
    {
      write: (l) => {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      },
    },
  );
  const dead = `http://robot:s3cret-pass@127.0.0.1:${await deadPort()}`;
  const px = await startProxy(t, { migration: { ROUTE_OWNER_DEFAULT: 'go' }, upstreams: { python: dead, go: dead } }, { log });
  t.equal((await request(px.port, { path: '/v2/acme/app/manifests/latest' })).status, 502);
  const failed = lines.find((l) => l.msg === 'upstream request failed');
  t.ok(failed, 'the failure is logged');
  t.match(failed?.upstream, /^http:\/\/\*\*\*@127\.0\.0\.1:\d+$/, 'with the upstream, redacted');
  t.notMatch(JSON.stringify(lines), /s3cret-pass/, 'the password is in no log line');
});
