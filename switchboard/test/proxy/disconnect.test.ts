/**
 * A client that disconnects aborts the upstream request (DESIGN §5): mid-upload
 * the upstream sees its request body cut off; mid-download the upstream's
 * response sees its connection close. The proxy forgets the request
 * (inflight back to 0) and counts a client_abort.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { Owner } from '../../config/schema.js';
import type { PinStore } from '../../proxy/pin-store.js';
import { request, sleep, startProxy, startUpstreams, waitFor } from './lib/harness.js';

async function clientAborts(m: import('../../proxy/metrics.js').ProxyMetrics | null): Promise<number> {
  const v = await m!.registry.getSingleMetric('switchboard_client_aborts_total')!.get();
  const errors = await m!.registry.getSingleMetric('switchboard_upstream_errors_total')!.get();
  if (errors.values.some((x) => x.value > 0)) throw new Error('a client abort was counted as an upstream error');
  return v.values.reduce((n, x) => n + x.value, 0);
}

t.test('a client that leaves mid-upload aborts the upstream request', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { upstreams: up }, { metrics: true });
  const sock = net.connect(px.port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(
    'PATCH /v2/acme/app/blobs/uploads/2f1c0a3e-leaving HTTP/1.1\r\nHost: registry.example.com\r\n' + 'Content-Type: application/octet-stream\r\nContent-Length: 104857600\r\n\r\n',
  );
  sock.write(Buffer.alloc(1024 * 1024, 3));
  t.ok(await waitFor(() => (up.python.requests[0]?.bytes ?? 0) > 0, 10_000), 'upstream started receiving the body');
  const rec = up.python.requests[0]!;
  sock.destroy();
  t.ok(await waitFor(() => rec.aborted, 10_000), 'upstream saw its request aborted');
  t.notOk(rec.complete, 'upstream never saw the body end');
  t.ok(rec.bytes < 104_857_600, `upstream got ${rec.bytes} of 104857600 bytes`);
  t.ok(await waitFor(() => px.proxy.inflight === 0, 10_000), 'proxy no longer counts it in flight');
  t.equal(await clientAborts(px.metrics), 1, 'counted as client_abort');
  t.equal(up.go.requests.length, 0, 'go saw nothing');
  t.equal((await request(px.port, { path: '/v2/acme/app/tags/list' })).status, 200, 'proxy keeps serving');
});

t.test('a client that leaves mid-download closes the upstream response', async (t) => {
  const up = await startUpstreams(t);
  up.go.handler = (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'go' }); // chunked, endless
    const chunk = Buffer.alloc(64 * 1024, 9);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) {
        /* fill until back-pressure */
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  };
  const px = await startProxy(t, { upstreams: up, migration: { ROUTE_OWNER_CAP_V2_PULL: 'go' } }, { metrics: true });
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: px.port, path: '/v2/acme/app/blobs/sha256:' + 'd'.repeat(64), agent: false }, (res) => {
      t.equal(res.headers['x-upstream'], 'go');
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= 4 * 1024 * 1024) {
          req.destroy();
          resolve();
        }
      });
      res.on('error', () => {
        /* we destroyed it */
      });
    });
    req.on('error', (e) => {
      if (got < 4 * 1024 * 1024) reject(e);
    });
  });
  const rec = up.go.requests[0]!;
  t.ok(await waitFor(() => rec.responseClosedEarly, 10_000), 'upstream response saw its connection close before it ended');
  t.ok(await waitFor(() => px.proxy.inflight === 0, 10_000), 'proxy no longer counts it in flight');
  t.equal(await clientAborts(px.metrics), 1, 'counted as client_abort');
  t.equal(up.python.requests.length, 0, 'python saw nothing');
});

/** A pin store that answers slowly (a Redis round trip under load). */
class SlowPins implements PinStore {
  readonly kind = 'redis' as const;
  lookups = 0;
  get(_uuid: string): Promise<Owner | null> {
    this.lookups++;
    return new Promise((r) => setTimeout(() => r(null), 300));
  }
  set(): void {}
  delete(): void {}
  heldBy(): null {
    return null;
  }
  async count(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}

// A client that leaves while the pin store answers: nothing is forwarded, nothing leaks.
t.test('a client that leaves while its upload pin is being looked up is forgotten, not counted in flight forever', async (t) => {
  const up = await startUpstreams(t);
  const pins = new SlowPins();
  const px = await startProxy(t, { upstreams: up }, { pins, metrics: true });
  const sock = net.connect(px.port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write('GET /v2/acme/app/blobs/uploads/5d0c7a52-slow-pin HTTP/1.1\r\nHost: registry.example.com\r\n\r\n');
  t.ok(await waitFor(() => pins.lookups === 1, 5_000), 'pin lookup started');
  sock.destroy();
  await sleep(800); // the lookup answers after 300 ms
  t.equal(px.proxy.inflight, 0, 'inflight back to 0 (otherwise a drain waits for a request that no longer exists)');
  t.equal(up.python.requests.length, 0, 'the abandoned request was not sent upstream');
  const { forced } = await px.proxy.drain(1000);
  t.equal(forced, 0, 'a drain finds nothing in flight');
});
