/**
 * Upload pinning (DESIGN §3.2, §5): the 202 to POST /v2/<repo>/blobs/uploads/
 * pins the session to the owner that started it; later requests on the uuid
 * follow the pin whatever the switches say; the kill switch still wins; pins
 * expire; with Redis, several proxies agree.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisPinStore } from '../../proxy/pin-store.js';
import { echoHandler, request, sleep, startProxy, startUpstreams, type OwnerName, type Upstream, type UpstreamHandler } from './lib/harness.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** An upstream that starts upload sessions (202 + Docker-Upload-UUID) and echoes everything else. */
function registryLike(name: OwnerName): UpstreamHandler {
  const echo = echoHandler(name);
  return (req, res, rec) => {
    if (req.method === 'POST' && /\/blobs\/uploads\/$/.test(req.url ?? '')) {
      req.resume();
      req.on('end', () => {
        const uuid = randomUUID();
        res.writeHead(202, { 'docker-upload-uuid': uuid, location: `${req.url}${uuid}?_state=${name}`, 'content-length': '0', 'x-upstream': name });
        res.end();
      });
      return;
    }
    echo(req, res, rec);
  };
}

async function upstreams(t: Parameters<typeof startUpstreams>[0]): Promise<{ python: Upstream; go: Upstream }> {
  const up = await startUpstreams(t);
  up.python.handler = registryLike('python');
  up.go.handler = registryLike('go');
  return up;
}

const settings = { DEBUG_HEADERS: true };

t.test('an upload follows its pin across an owner flip; new uploads follow the switch', async (t) => {
  const up = await upstreams(t);
  const px = await startProxy(t, { migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }, upstreams: up, settings });
  const start = await request(px.port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/' });
  t.equal(start.status, 202);
  t.equal(start.headers['x-upstream'], 'python');
  const uuid = String(start.headers['docker-upload-uuid']);
  t.equal(await px.pins.get(uuid), 'python', 'pin recorded before the client saw the 202');

  await px.write({ migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, upstreams: up, settings });
  for (const method of ['PATCH', 'GET', 'PUT', 'DELETE']) {
    const r = await request(px.port, { method, path: `/v2/acme/app/blobs/uploads/${uuid}?_state=python`, body: method === 'PATCH' ? 'chunk' : undefined });
    t.equal(r.headers['x-upstream'], 'python', `${method} on the pinned uuid reaches python`);
    t.equal(r.headers['x-switchboard-reason'], 'upload_pin', `${method}: reason upload_pin`);
  }
  const fresh = await request(px.port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/' });
  t.equal(fresh.headers['x-upstream'], 'go', 'a new upload goes to the new owner');
  const unpinned = await request(px.port, { method: 'PATCH', path: `/v2/acme/app/blobs/uploads/${randomUUID()}`, body: 'x' });
  t.equal(unpinned.headers['x-upstream'], 'go', 'an unknown uuid follows the switches');
  t.equal(unpinned.headers['x-switchboard-reason'], 'capability_switch');
});

t.test('the kill switch beats the pin', async (t) => {
  const up = await upstreams(t);
  const px = await startProxy(t, { migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, upstreams: up, settings });
  const uuid = String((await request(px.port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/' })).headers['docker-upload-uuid']);
  t.equal(await px.pins.get(uuid), 'go');
  await px.write({ migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'go', MIGRATION_FORCE_PYTHON: true }, upstreams: up, settings });
  const r = await request(px.port, { method: 'PATCH', path: `/v2/acme/app/blobs/uploads/${uuid}`, body: 'x' });
  t.equal(r.headers['x-upstream'], 'python');
  t.equal(r.headers['x-switchboard-reason'], 'force_python');
});

t.test('PIN_UPLOADS: false — the session follows the switches (and would break)', async (t) => {
  const up = await upstreams(t);
  const off = { ...settings, PIN_UPLOADS: false };
  const px = await startProxy(t, { migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }, upstreams: up, settings: off });
  const uuid = String((await request(px.port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/' })).headers['docker-upload-uuid']);
  t.equal(await px.pins.get(uuid), null, 'nothing pinned');
  await px.write({ migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, upstreams: up, settings: off });
  const r = await request(px.port, { method: 'PATCH', path: `/v2/acme/app/blobs/uploads/${uuid}`, body: 'x' });
  t.equal(r.headers['x-upstream'], 'go', 'the chunk lands on the other owner');
});

t.test('pins expire after PIN_TTL_SECONDS', async (t) => {
  const up = await upstreams(t);
  const ttl = { ...settings, PIN_TTL_SECONDS: 1 };
  const px = await startProxy(t, { migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }, upstreams: up, settings: ttl });
  const uuid = String((await request(px.port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/' })).headers['docker-upload-uuid']);
  await px.write({ migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, upstreams: up, settings: ttl });
  t.equal((await request(px.port, { method: 'PATCH', path: `/v2/acme/app/blobs/uploads/${uuid}`, body: 'x' })).headers['x-upstream'], 'python', 'pinned while fresh');
  await sleep(1300);
  t.equal(await px.pins.get(uuid), null, 'expired');
  t.equal((await request(px.port, { method: 'PATCH', path: `/v2/acme/app/blobs/uploads/${uuid}`, body: 'x' })).headers['x-upstream'], 'go', 'then follows the switches');
});

t.test('Redis pin store: two switchboard nodes agree (real Redis on 127.0.0.1:6379)', async (t) => {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new Error(`Redis is required at ${REDIS_URL} for this test (scripts/test.sh starts it): ${String(e)}`);
  } finally {
    probe.disconnect();
  }
  const up = await upstreams(t);
  const a = new RedisPinStore(REDIS_URL);
  const b = new RedisPinStore(REDIS_URL);
  await a.ready();
  await b.ready();
  const nodeA = await startProxy(t, { migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, upstreams: up, settings }, { pins: a });
  const nodeB = await startProxy(t, { migration: { ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }, upstreams: up, settings }, { pins: b });
  const start = await request(nodeA.port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/' });
  t.equal(start.headers['x-upstream'], 'go');
  const uuid = String(start.headers['docker-upload-uuid']);
  const r = await request(nodeB.port, { method: 'PATCH', path: `/v2/acme/app/blobs/uploads/${uuid}`, body: 'chunk' });
  t.equal(r.headers['x-upstream'], 'go', 'node B (switches say python) follows the pin node A recorded');
  t.equal(r.headers['x-switchboard-reason'], 'upload_pin');
  t.ok((await a.count()) >= 1, 'the pin is counted');
  const raw = new Redis(REDIS_URL);
  t.teardown(() => {
    raw.disconnect();
  });
  const ttl = await raw.ttl(`switchboard:pin:${uuid}`);
  t.ok(ttl > 86000 && ttl <= 86400, `the Redis key expires with PIN_TTL_SECONDS (ttl ${ttl})`);
  await raw.del(`switchboard:pin:${uuid}`);
  await raw.zrem('switchboard:pins', uuid);
});
