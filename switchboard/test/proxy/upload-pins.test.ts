/**
 * Upload pinning (DESIGN §3 step 2, §5): the 202 answer to
 * POST /v2/<repo>/blobs/uploads/ pins the session's uuid to the owner that
 * created it; later PATCH/PUT/GET/DELETE on it follow the pin across a switch
 * flip (reason upload_pin), new uploads follow the switch, the kill switch
 * beats the pin, PIN_UPLOADS: false turns pinning off, pins expire after
 * PIN_TTL_SECONDS, and a Redis pin store is shared by several proxies.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisPinStore } from '../../proxy/pin-store.js';
import {
  echoHandler,
  request,
  sleep,
  startProxy,
  waitFor,
  startUpstreams,
  type ConfigSpec,
  type OwnerName,
  type ProxyHandle,
  type Upstream,
  type UpstreamHandler,
} from './lib/harness.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const REPO = '/v2/acme/app';

/** A registry-ish upstream: POST …/blobs/uploads/ answers 202 with a fresh uuid; the rest echoes. */
function registry(name: OwnerName, issued: string[], opts: { uuidHeader?: boolean } = {}): UpstreamHandler {
  const echo = echoHandler(name);
  return (req, res, rec) => {
    if (req.method === 'POST' && /\/blobs\/uploads\/$/.test(req.url?.split('?')[0] ?? '')) {
      req.resume();
      req.on('end', () => {
        const uuid = `${name}-${randomUUID()}`;
        issued.push(uuid);
        const location = `${req.url!.split('?')[0]}${uuid}`;
        res.writeHead(202, {
          'x-upstream': name,
          location,
          range: '0-0',
          'content-length': '0',
          ...(opts.uuidHeader === false ? {} : { 'docker-upload-uuid': uuid }),
        });
        res.end();
      });
      return;
    }
    echo(req, res, rec);
  };
}

interface Env {
  up: { python: Upstream; go: Upstream };
  issued: string[];
  spec(migration: Record<string, unknown>, settings?: Record<string, unknown>): ConfigSpec;
}

async function registries(t: Parameters<typeof startUpstreams>[0], opts: { uuidHeader?: boolean } = {}): Promise<Env> {
  const up = await startUpstreams(t);
  const issued: string[] = [];
  up.python.handler = registry('python', issued, opts);
  up.go.handler = registry('go', issued, opts);
  return {
    up,
    issued,
    spec: (migration, settings = {}) => ({ migration, upstreams: up, settings: { DEBUG_HEADERS: true, ...settings } }),
  };
}

async function startUpload(px: ProxyHandle, expectOwner: OwnerName, t: Tap): Promise<string> {
  const r = await request(px.port, { method: 'POST', path: `${REPO}/blobs/uploads/` });
  t.equal(r.status, 202, `upload start answered 202 by ${expectOwner}`);
  t.equal(r.headers['x-upstream'], expectOwner, `upload started on ${expectOwner}`);
  const uuid = String(r.headers['docker-upload-uuid'] ?? String(r.headers.location).split('/').pop());
  t.ok(uuid.startsWith(expectOwner), 'got the upload uuid');
  return uuid;
}

/** The subtest type (tap's last `t.test` overload takes just the callback). */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** PATCH, PUT, GET, DELETE on an upload session; checks owner and reason of each. */
async function session(px: ProxyHandle, uuid: string, owner: OwnerName, reason: string | RegExp, t: Tap, what: string): Promise<void> {
  const calls: { method: string; path: string; body?: Buffer }[] = [
    { method: 'PATCH', path: `${REPO}/blobs/uploads/${uuid}`, body: Buffer.alloc(70_000, 5) },
    { method: 'GET', path: `${REPO}/blobs/uploads/${uuid}` },
    { method: 'PUT', path: `${REPO}/blobs/uploads/${uuid}?digest=sha256:${'e'.repeat(64)}`, body: Buffer.from('last chunk') },
    { method: 'DELETE', path: `${REPO}/blobs/uploads/${uuid}` },
  ];
  for (const c of calls) {
    const r = await request(px.port, { method: c.method, path: c.path, body: c.body, headers: c.body ? { 'content-type': 'application/octet-stream' } : {} });
    t.equal(r.headers['x-upstream'], owner, `${what}: ${c.method} answered by ${owner}`);
    t.equal(r.headers['x-switchboard-owner'], owner, `${what}: ${c.method} decided ${owner}`);
    const got = String(r.headers['x-switchboard-reason']);
    if (typeof reason === 'string') t.equal(got, reason, `${what}: ${c.method} reason ${reason}`);
    else t.ok(reason.test(got), `${what}: ${c.method} reason ${got} matches ${String(reason)}`);
    if (c.body) t.equal(r.json().bytes, c.body.length, `${what}: ${c.method} body arrived whole`);
  }
}

t.test('in-memory pins: a session stays with its creator across a flip; new uploads follow the switch; the kill switch wins', async (t) => {
  const e = await registries(t);
  const px = await startProxy(t, e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }));
  const u1 = await startUpload(px, 'python', t);
  t.equal(px.pins.get(u1), 'python', 'pin recorded before the client saw the 202');

  const v = px.provider.current().version;
  const s = await px.write(e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }));
  t.ok(s.version > v, 'flip installed');
  await session(px, u1, 'python', 'upload_pin', t, 'python-started upload after flip to go');

  const u2 = await startUpload(px, 'go', t);
  t.equal(px.pins.get(u2), 'go');
  const fresh = `unknown-${randomUUID()}`;
  const r = await request(px.port, { method: 'PATCH', path: `${REPO}/blobs/uploads/${fresh}`, body: 'x' });
  t.equal(r.headers['x-upstream'], 'go', 'an unpinned uuid follows the switch');
  t.equal(r.headers['x-switchboard-reason'], 'capability_switch');

  // Flip back: the go session stays on go.
  await px.write(e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }));
  await session(px, u2, 'go', 'upload_pin', t, 'go-started upload after flip to python');

  // The kill switch beats the pin.
  await px.write(e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'go', MIGRATION_FORCE_PYTHON: true }));
  await session(px, u2, 'python', 'force_python', t, 'go-pinned upload under MIGRATION_FORCE_PYTHON');
  t.equal(await px.pins.count(), 2, 'two live pins');
});

t.test('the kill switch from the environment also beats the pin', async (t) => {
  const e = await registries(t);
  const px = await startProxy(t, e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }), { env: { MIGRATION_FORCE_PYTHON: 'true' } });
  px.pins.set('go-envpinned', 'go', 60);
  const r = await request(px.port, { method: 'PATCH', path: `${REPO}/blobs/uploads/go-envpinned`, body: 'abc' });
  t.equal(r.headers['x-upstream'], 'python');
  t.equal(r.headers['x-switchboard-reason'], 'force_python');
});

t.test('a uuid given only in Location is pinned too', async (t) => {
  const e = await registries(t, { uuidHeader: false });
  const px = await startProxy(t, e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }));
  const r = await request(px.port, { method: 'POST', path: `${REPO}/blobs/uploads/` });
  t.equal(r.status, 202);
  t.equal(r.headers['docker-upload-uuid'], undefined);
  const uuid = e.issued[0]!;
  t.equal(px.pins.get(uuid), 'go', 'pinned from the Location header');
  await px.write(e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }));
  await session(px, uuid, 'go', 'upload_pin', t, 'Location-pinned upload');
});

t.test('PIN_UPLOADS: false — sessions follow the switches', async (t) => {
  const e = await registries(t);
  const px = await startProxy(t, e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }, { PIN_UPLOADS: false }));
  const u = await startUpload(px, 'python', t);
  t.equal(px.pins.get(u), null, 'no pin recorded');
  await px.write(e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, { PIN_UPLOADS: false }));
  await session(px, u, 'go', 'capability_switch', t, 'unpinned upload after flip');
});

t.test('PIN_UPLOADS turned off at runtime: existing pins are no longer followed', async (t) => {
  const e = await registries(t);
  const px = await startProxy(t, e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }));
  const u = await startUpload(px, 'python', t);
  t.equal(px.pins.get(u), 'python');
  await px.write(e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, { PIN_UPLOADS: false }));
  await session(px, u, 'go', 'capability_switch', t, 'pinned upload once pinning is off');
});

t.test('pins expire after PIN_TTL_SECONDS', async (t) => {
  const e = await registries(t);
  const px = await startProxy(t, e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }, { PIN_TTL_SECONDS: 1 }));
  const started = Date.now();
  const u = await startUpload(px, 'python', t);
  t.equal(px.pins.get(u), 'python', 'pinned');
  await px.write(e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: 'go' }, { PIN_TTL_SECONDS: 1 }));
  await sleep(Math.max(0, 1500 - (Date.now() - started)));
  t.equal(px.pins.get(u), null, 'pin gone after ~1.5 s');
  t.equal(await px.pins.count(), 0, 'no live pins');
  await session(px, u, 'go', 'capability_switch', t, 'expired pin');
});

t.test('Redis pin store: two proxies sharing REDIS_URL agree on pins', async (t) => {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    probe.disconnect();
    throw new Error(`these tests need a real Redis at ${REDIS_URL} (see DEVELOPERS.md to restart it): ${(err as Error).message}`);
  }
  const e = await registries(t);
  const extra: string[] = [];
  t.teardown(async () => {
    // The store's keys are fixed (switchboard:pin:<uuid>): remove exactly what this test created.
    const ids = [...e.issued, ...extra];
    if (ids.length) {
      await probe.del(...ids.map((u) => `switchboard:pin:${u}`));
      await probe.zrem('switchboard:pins', ...ids);
    }
    await probe.quit();
  });
  const spec = (owner: OwnerName): ConfigSpec => e.spec({ ROUTE_OWNER_CAP_V2_UPLOAD: owner }, { REDIS_URL });
  const pinsA = new RedisPinStore(REDIS_URL);
  await pinsA.ready();
  const a = await startProxy(t, spec('python'), { pins: pinsA });
  const pinsB = new RedisPinStore(REDIS_URL);
  await pinsB.ready();
  const b = await startProxy(t, '', { pins: pinsB, file: a.file });
  t.equal(b.provider.current().settings.REDIS_URL, REDIS_URL, 'both proxies read the same config');

  const u1 = await startUpload(a, 'python', t);
  t.equal(await probe.get(`switchboard:pin:${u1}`), 'python', 'pin stored in Redis');
  const ttl = await probe.ttl(`switchboard:pin:${u1}`);
  t.ok(ttl > 86_000 && ttl <= 86_400, `pin expires (ttl ${ttl} s, default 24 h)`);

  // One write of the shared file flips both proxies.
  await a.write(spec('go'));
  const sameVersion = (): boolean => b.provider.current().version === a.provider.current().version;
  t.ok(await waitFor(sameVersion, 10_000), 'proxy B installed the flip too');

  await session(b, u1, 'python', 'upload_pin', t, 'proxy B follows the pin proxy A recorded');
  await session(a, u1, 'python', 'upload_pin', t, 'proxy A follows its own pin');

  const u2 = await startUpload(b, 'go', t);
  await a.write(spec('python'));
  t.ok(await waitFor(sameVersion, 10_000), 'proxy B flipped back too');
  await session(a, u2, 'go', 'upload_pin', t, 'proxy A follows the pin proxy B recorded');

  const fresh = `unpinned-${randomUUID()}`;
  extra.push(fresh);
  const r = await request(b.port, { method: 'PATCH', path: `${REPO}/blobs/uploads/${fresh}`, body: Buffer.alloc(100_000, 1) });
  t.equal(r.headers['x-upstream'], 'python', 'an unpinned uuid follows the switch');
  t.equal(r.json().bytes, 100_000, 'body intact after the async pin lookup');
  t.ok((await pinsA.count()) >= 2, 'count() sees the live pins');
});
