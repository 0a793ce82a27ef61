/**
 * The upstream pools follow the snapshots (issue 16, proxy/upstream-pools.ts):
 * a reload of UPSTREAM_TIMEOUT_SECONDS applies to the next request, and a pool
 * superseded by a reload (its timeout or its URL changed) closes its
 * connections once the requests in flight on it have finished.
 */
import t from 'tap';
import type { ServerResponse } from 'node:http';
import { MemoryPinStore, type PinStore } from '../../proxy/pin-store.js';
import { request, startProxy, startUpstream, startUpstreams, waitFor, within, type Upstream, type UpstreamHandler } from './lib/harness.js';

/** Open connections the upstream's server holds. */
function connections(up: Upstream): Promise<number> {
  return new Promise((resolve, reject) => up.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

function answer(res: ServerResponse, server: string): void {
  const body = JSON.stringify({ upstream: 'go', server });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': 'go', 'x-server': server });
  res.end(body);
}

/** A go upstream named `server`: paths with /slow/ are answered once `gate` resolves, the rest at once. */
function gatedGo(server: string, gate: Promise<void>): UpstreamHandler {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.includes('/slow/')) void gate.then(() => answer(res, server));
      else answer(res, server);
    });
  };
}

const TAGS = { ROUTE_OWNER_CAP_V2_TAGS: 'go' };

t.test('a lower UPSTREAM_TIMEOUT_SECONDS, reloaded, times out the next slow request on an upstream already in use', async (t) => {
  const up = await startUpstreams(t);
  // Answers /slow/ paths a second late: well inside 30 s, well beyond 0.2 s.
  up.go.handler = (req, res) => {
    req.resume();
    req.on('end', () => {
      if (!req.url?.includes('/slow/')) {
        answer(res, 'go');
        return;
      }
      const timer = setTimeout(() => answer(res, 'go'), 1000);
      res.on('close', () => clearTimeout(timer));
    });
  };
  const px = await startProxy(t, { migration: TAGS, upstreams: up, settings: { UPSTREAM_TIMEOUT_SECONDS: 30 } });

  const before = await within(request(px.port, { path: '/v2/acme/slow/tags/list' }), 20_000, 'slow request before the reload');
  t.equal(before.status, 200, 'before the reload the slow upstream is waited for');
  t.equal(before.headers['x-upstream'], 'go');
  t.equal(await connections(up.go), 1, 'the pool keeps its connection to go alive');

  await px.write({ migration: TAGS, upstreams: up, settings: { UPSTREAM_TIMEOUT_SECONDS: 0.2 } });
  t.ok(await waitFor(async () => (await connections(up.go)) === 0), 'the pool made with the old timeout closed its idle connection');

  const after = await within(request(px.port, { path: '/v2/acme/slow/tags/list' }), 20_000, 'slow request after the reload');
  t.equal(after.status, 504, 'after the reload the same slow upstream times out');
  t.equal(after.headers['x-switchboard-owner'], 'go');
  t.equal(after.headers['x-switchboard-error'], 'timeout');
  t.equal(after.json().errors?.[0]?.code, 'UNAVAILABLE', 'OCI error body');

  const fast = await within(request(px.port, { path: '/v2/acme/app/tags/list' }), 20_000, 'fast request after the reload');
  t.equal(fast.status, 200, 'a prompt answer still comes through');
  t.equal(up.go.requests.length, 3, 'go saw each request once');
});

t.test('a reload moving UPSTREAMS.go closes the old pool once its request in flight has finished', async (t) => {
  const up = await startUpstreams(t);
  let release!: () => void;
  up.go.handler = gatedGo(
    'A',
    new Promise<void>((r) => {
      release = r;
    }),
  );
  const b = await startUpstream(t, 'go', gatedGo('B', Promise.resolve()));
  const px = await startProxy(t, { migration: TAGS, upstreams: up });

  let settled = false;
  const slow = within(request(px.port, { path: '/v2/acme/slow/tags/list' }), 20_000, 'request in flight on the old pool');
  void slow.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  t.ok(await waitFor(() => up.go.requests.length === 1), 'the slow request reached A');
  const warm = await within(request(px.port, { path: '/v2/acme/app/tags/list' }), 20_000, 'request to A');
  t.equal(warm.headers['x-server'], 'A', 'go is A');
  t.equal(await connections(up.go), 2, 'A holds two connections: one busy, one idle');

  await px.write({ migration: TAGS, upstreams: { python: up.python, go: b } });
  t.ok(await waitFor(async () => (await connections(up.go)) === 1), 'the old pool closed its idle connection at the reload');
  t.notOk(settled, 'the request in flight on the old pool is still waiting for its answer');

  const moved = await within(request(px.port, { path: '/v2/acme/app/tags/list' }), 20_000, 'request after the reload');
  t.equal(moved.status, 200);
  t.equal(moved.headers['x-server'], 'B', 'new requests go to B');
  t.equal(up.go.requests.length, 2, 'A got no new request');

  release();
  const done = await slow;
  t.equal(done.status, 200, 'the request in flight on the old pool completed');
  t.same(done.json(), { upstream: 'go', server: 'A' }, "with A's whole answer");
  t.ok(await waitFor(async () => (await connections(up.go)) === 0), 'then the old pool closed its last connection');
  t.equal(b.requests.length, 1, 'B saw only the request after the reload');
});

t.test('a request decided before a reload moved its upstream goes where its snapshot says, on a pool closed after it', async (t) => {
  const up = await startUpstreams(t);
  up.go.handler = gatedGo('A', Promise.resolve());
  const b = await startUpstream(t, 'go', gatedGo('B', Promise.resolve()));
  // The pin lookup of upload `held` answers `go` once the test says so: the reload happens meanwhile.
  const memory = new MemoryPinStore();
  let asked = false;
  let answerPin!: () => void;
  const pinAnswer = new Promise<'go'>((r) => {
    answerPin = () => r('go');
  });
  const pins: PinStore = {
    kind: 'memory',
    get: (uuid) => {
      if (uuid !== 'held') return memory.get(uuid);
      asked = true;
      return pinAnswer;
    },
    set: (uuid, owner, ttl, client) => memory.set(uuid, owner, ttl, client),
    delete: (uuid) => memory.delete(uuid),
    heldBy: (client) => memory.heldBy(client),
    count: () => memory.count(),
    close: () => memory.close(),
  };
  const px = await startProxy(t, { upstreams: up, settings: { DEBUG_HEADERS: true } }, { pins });
  const version = px.provider.current().version;

  const patch = within(request(px.port, { method: 'PATCH', path: '/v2/acme/app/blobs/uploads/held', body: 'abc' }), 20_000, 'PATCH of the pinned upload');
  t.ok(await waitFor(() => asked), 'the proxy is waiting for the pin');
  await px.write({ upstreams: { python: up.python, go: b }, settings: { DEBUG_HEADERS: true } });
  answerPin();
  const r = await patch;
  t.equal(r.status, 200);
  t.equal(r.headers['x-server'], 'A', 'answered by the go upstream of the snapshot the request was decided on');
  t.equal(r.headers['x-switchboard-snapshot'], String(version), 'which the response names');
  t.equal(up.go.requests[0]?.bytes, 3, 'A got the whole body');
  t.ok(up.go.requests[0]?.complete, 'to its end');
  t.ok(await waitFor(async () => (await connections(up.go)) === 0), 'the pool made for it closed once it was answered');
  t.equal(b.requests.length, 0, 'B saw nothing of it');
});
