/**
 * Operations of the real `switchboard serve` process (DESIGN §4–§5): the admin
 * listener's /healthz, /readyz, /status and /metrics; a bad config edit keeps
 * the last good snapshot and says so; the JSON access log; SIGTERM drains an
 * in-flight request, refuses new connections and exits 0.
 */
import t from 'tap';
import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildOnce,
  configYaml,
  connectRefused,
  echoHandler,
  request,
  sleep,
  startServe,
  startUpstreams,
  tempDir,
  waitFor,
  within,
  writeAtomic,
  type ConfigSpec,
  type Upstream,
} from './lib/harness.js';

t.before(async () => {
  await buildOnce();
});

const admin = (port: number, path: string): ReturnType<typeof request> => request(port, { path });

async function statusOf(port: number): Promise<any> {
  const r = await admin(port, '/status');
  if (r.status !== 200) throw new Error(`/status answered ${r.status}: ${r.text()}`);
  return r.json();
}

/** python: 202 + uuid on upload start, a reset on …/reset/…, echo otherwise. */
function pythonRegistry(up: Upstream): void {
  const echo = echoHandler('python');
  up.handler = (req, res, rec) => {
    if (req.url?.includes('/reset/')) {
      req.socket.destroy();
      return;
    }
    if (req.method === 'POST' && req.url?.endsWith('/blobs/uploads/')) {
      req.resume();
      const uuid = randomUUID();
      res.writeHead(202, { 'docker-upload-uuid': uuid, location: `${req.url}${uuid}`, 'content-length': '0', 'x-upstream': 'python' });
      res.end();
      return;
    }
    echo(req, res, rec);
  };
}

t.test('admin endpoints, metrics, a refused config edit, and the access log', async (t) => {
  const up = await startUpstreams(t);
  pythonRegistry(up.python);
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  const accessLog = join(dir, 'access.log');
  const spec = (tags: string): ConfigSpec => ({
    migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_TAGS: tags },
    upstreams: up,
    settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: accessLog, DEBUG_HEADERS: true, POLL_INTERVAL_SECONDS: 1 },
  });
  writeAtomic(file, configYaml(spec('go')));
  const sb = await startServe(t, file);
  t.teardown(async () => {
    sb.child.kill('SIGTERM');
    await within(sb.exited, 20_000, 'serve exit').catch(() => sb.child.kill('SIGKILL'));
  });

  const hz = await admin(sb.adminPort, '/healthz');
  t.equal(hz.status, 200, '/healthz 200');
  const rz = await admin(sb.adminPort, '/readyz');
  t.equal(rz.status, 200, '/readyz 200');
  t.match(rz.text(), /^ready/);

  // Traffic: go (tags), python (manifests), a python reset (502), an upload start (pins).
  const tags = await request(sb.port, { path: '/v2/acme/app/tags/list' });
  t.equal(tags.headers['x-upstream'], 'go');
  const man = await request(sb.port, { path: '/v2/acme/app/manifests/latest' });
  t.equal(man.headers['x-upstream'], 'python');
  const broken = await request(sb.port, { path: '/v2/acme/reset/manifests/latest' });
  t.equal(broken.status, 502, 'an upstream reset is a 502');
  t.equal(broken.headers['x-switchboard-owner'], 'python');
  const upload = await request(sb.port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/' });
  t.equal(upload.status, 202, 'upload started');

  const st = await statusOf(sb.adminPort);
  t.equal(st.snapshot.version, 1, '/status snapshot.version');
  t.type(st.snapshot.age_seconds, 'number', '/status snapshot.age_seconds');
  t.equal(st.reload.reloads_total, 1, '/status reload.reloads_total');
  t.equal(st.reload.reload_failures_total, 0, '/status reload.reload_failures_total');
  t.equal(st.reload.last_error, null, 'no reload error yet');
  t.equal(st.pins.store, 'memory');
  t.equal(st.pins.active, 1, '/status pins.active');
  t.equal(st.upstreams.python.url, up.python.url, '/status upstreams.python.url');
  t.equal(st.upstreams.go.url, up.go.url, '/status upstreams.go.url');
  t.ok(st.upstreams.go.requests >= 1, 'go requests counted');
  t.ok(st.upstreams.python.errors >= 1, 'python errors counted');
  t.not(st.upstreams.python.last_error, null, 'python last_error set');
  t.equal(st.draining, false);

  const metrics = (await admin(sb.adminPort, '/metrics')).text();
  const has = (re: RegExp, what: string): void => {
    t.match(metrics, re, what);
  };
  has(/^switchboard_decisions_total\{owner="go",capability="V2_TAGS",family="REGISTRY_V2",reason="capability_switch"\} 1$/m, 'decisions by owner/capability/family/reason');
  has(/^switchboard_decisions_total\{owner="python",capability="V2_PULL",family="REGISTRY_V2",reason="global_default"\} [12]$/m, 'python decisions');
  has(
    /^switchboard_upstream_request_duration_seconds_bucket\{le="[^"]+",owner="go",capability="V2_TAGS",family="REGISTRY_V2"\} \d+$/m,
    'duration histogram by owner/capability/family',
  );
  has(/^switchboard_upstream_request_duration_seconds_count\{owner="python",capability="[A-Z0-9_]+",family="REGISTRY_V2"\} \d+$/m, 'duration count');
  has(
    /^switchboard_upstream_errors_total\{owner="python",capability="[A-Z0-9_]+",family="REGISTRY_V2",kind="(reset|unavailable)"\} 1$/m,
    'upstream errors by owner/capability/family/kind',
  );
  has(/^switchboard_snapshot_version 1$/m, 'snapshot version');
  has(/^switchboard_snapshot_age_seconds [\d.e+-]+$/m, 'snapshot age');
  has(/^switchboard_config_reload_failures_total 0$/m, 'reload failures');
  has(/^switchboard_upload_pins_active 1$/m, 'active pins');

  // A bad edit: counted, shown, and the last good snapshot keeps serving.
  const good = readFileSync(file, 'utf8');
  writeAtomic(file, good.replace('ROUTE_OWNER_CAP_V2_TAGS: go', 'ROUTE_OWNER_CAP_V2_TAGS: gopher'));
  t.ok(await waitFor(async () => (await statusOf(sb.adminPort)).reload.reload_failures_total === 1, 15_000, 100), 'the failure is counted');
  const bad = await statusOf(sb.adminPort);
  t.not(bad.reload.last_error, null, '/status shows last_error');
  t.match(JSON.stringify(bad.reload.last_error), /ROUTE_OWNER_CAP_V2_TAGS/, 'last_error names the key');
  t.equal(bad.snapshot.version, 1, 'the last good snapshot is still in force');
  t.match((await admin(sb.adminPort, '/metrics')).text(), /^switchboard_config_reload_failures_total 1$/m, 'metric counts the failure');
  for (let i = 0; i < 5; i++) {
    const r = await request(sb.port, { path: '/v2/acme/app/tags/list' });
    t.equal(r.status, 200, `request ${i + 1} after the bad edit: 200`);
    t.equal(r.headers['x-upstream'], 'go', `request ${i + 1}: still the last good owner`);
    t.equal(r.headers['x-switchboard-snapshot'], '1');
  }
  // A good edit again moves on.
  writeAtomic(file, configYaml(spec('python')));
  t.ok(await waitFor(async () => (await statusOf(sb.adminPort)).snapshot.version === 2, 15_000, 100), 'a good edit installs snapshot 2');
  t.equal((await request(sb.port, { path: '/v2/acme/app/tags/list' })).headers['x-upstream'], 'python', 'and is followed');

  // The access log: one JSON line per request with the decision's fields.
  const lines = async (): Promise<any[]> =>
    existsSync(accessLog)
      ? readFileSync(accessLog, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  t.ok(
    await waitFor(
      async () => {
        const l = await lines();
        return l.length >= 10 && l.some((x) => x.snapshot_version === 2);
      },
      10_000,
      50,
    ),
    'access log lines written (10 requests)',
  );
  const log = await lines();
  const first = log.find((l) => l.path === '/v2/acme/app/tags/list');
  t.match(
    first,
    {
      method: 'GET',
      path: '/v2/acme/app/tags/list',
      route_id: 'ROUTE_0019',
      capability: 'V2_TAGS',
      owner: 'go',
      reason: 'capability_switch',
      snapshot_version: 1,
      status: 200,
      bytes_sent: Number,
      duration_ms: Number,
    },
    'access log line has the decision fields',
  );
  t.ok(first.bytes_sent > 0, 'bytes_sent counted');
  t.ok(first.duration_ms >= 0, 'duration_ms');
  const failed = log.find((l) => l.path === '/v2/acme/reset/manifests/latest');
  t.match(failed, { status: 502, owner: 'python', error: String }, 'the failed request is logged with its error');
  const last = log.filter((l) => l.path === '/v2/acme/app/tags/list').pop();
  t.match(last, { owner: 'python', snapshot_version: 2 }, 'the last line names the new snapshot');
});

t.test('SIGTERM: the in-flight slow request completes, new connections are refused, exit 0', async (t) => {
  const up = await startUpstreams(t);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let arrived = 0;
  up.python.handler = (req, res) => {
    arrived = Date.now();
    req.resume();
    // Delays at least 1 s, and until the test has seen the listener close.
    void Promise.all([gate, sleep(1000)]).then(() => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '9', 'x-upstream': 'python' });
      res.end('slow done');
    });
  };
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  writeAtomic(file, configYaml({ upstreams: up, settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', DRAIN_TIMEOUT_SECONDS: 20 } }));
  const sb = await startServe(t, file);

  const slow = request(sb.port, { path: '/v2/acme/app/manifests/slow' });
  t.ok(await waitFor(() => arrived > 0, 10_000), 'the slow request reached python');
  sb.child.kill('SIGTERM');
  t.ok(await waitFor(() => connectRefused(sb.port), 10_000, 20), 'new connections are refused after SIGTERM');
  const ready = await admin(sb.adminPort, '/readyz');
  t.equal(ready.status, 503, '/readyz says draining while the slow request is in flight');
  t.equal((await statusOf(sb.adminPort)).inflight_requests, 1, '/status: one request in flight');
  release();
  const r = await within(slow, 20_000, 'slow request');
  t.equal(r.status, 200, 'the in-flight request completed with 200');
  t.equal(r.text(), 'slow done', 'with its whole body');
  const exit = await within(sb.exited, 30_000, 'serve exit after SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'exit 0');
  const stopped = sb.logs().find((l) => l.msg === 'stopped');
  t.match(stopped, { cut_requests: 0 }, 'nothing was forced');
});

// KNOWN BUG (reported): with a WebSocket open on the realtime route, drain()
// never returns (server.close waits for the upgraded socket; neither
// closeAllConnections nor DRAIN_TIMEOUT_SECONDS reaches it): SIGTERM never exits.
t.test('SIGTERM with an open WebSocket still exits within DRAIN_TIMEOUT_SECONDS', async (t) => {
  const up = await startUpstreams(t);
  up.go.upgrade = (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  };
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  writeAtomic(
    file,
    configYaml({
      migration: { ROUTE_OWNER_FAMILY_REALTIME: 'go' },
      upstreams: up,
      settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', DRAIN_TIMEOUT_SECONDS: 1 },
    }),
  );
  const sb = await startServe(t, file);
  const sock = await new Promise<import('node:stream').Duplex>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: sb.port,
      path: '/realtime/user/subscribe',
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Version': '13' },
    });
    req.on('upgrade', (_res, s) => resolve(s));
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  t.teardown(() => sock.destroy());
  sock.on('error', () => {});
  sb.child.kill('SIGTERM');
  const exited = await Promise.race([sb.exited.then(() => true), sleep(10_000).then(() => false)]);
  t.ok(exited, 'serve exited within 10 s of SIGTERM (DRAIN_TIMEOUT_SECONDS: 1) with a WebSocket open');
  sock.destroy();
});
