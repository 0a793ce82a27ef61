/**
 * Who may reach the admin listener (proxy/admin-access.ts), on a real admin
 * server with the dashboard mounted: the Host allow-list against DNS
 * rebinding on every path, and the optional auth for /status and /metrics.
 */
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DashboardAuth } from '../../control/auth.js';
import { ControlPlane } from '../../control/dashboard.js';
import { LiveStats } from '../../control/stats.js';
import { RUNNING_FILE } from '../../config/kill-switch.js';
import { localNote } from '../../cli/live.js';
import { silentLogger } from '../../../lib/log.js';
import { createSwitchboardAdmin as createAdminServer } from '../../admin/admin.js';
import { allowedNames, exposureWarning, hostName, hostRefusal, isLoopback } from '../../admin/admin-access.js';
import { inv, rawRequest, request, startProxy, startUpstreams, tempDir, type ProxyHandle, type TLike } from './lib/harness.js';

const TOKEN = 'an-admin-token-long-enough-1234';

interface Admin {
  readonly port: number;
  readonly h: ProxyHandle;
  readonly auth: DashboardAuth | null;
  readonly tokenFile: string;
}

/** The proxy and its admin listener (dashboard included), as serve wires them, on port 0. */
async function startAdmin(t: TLike, settings: Record<string, unknown>, o: { dashboard?: boolean; listenHost?: string; env?: Record<string, string> } = {}): Promise<Admin> {
  const dir = tempDir(t, 'swb-admin-');
  const tokenFile = join(dir, 'admin.token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const dashboard = o.dashboard ?? true;
  const up = await startUpstreams(t);
  const h = await startProxy(
    t,
    {
      upstreams: up,
      settings: { LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', ...(dashboard ? { DASHBOARD: { ADMIN_TOKEN_FILE: tokenFile } } : {}), ...settings },
    },
    { metrics: true, env: o.env ?? {} },
  );
  const auth = dashboard ? new DashboardAuth({ tokenFile, usersFile: null, sessionHours: 1 }) : null;
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const control = new ControlPlane({ provider: h.provider, inventory: inv(), file: h.file, env: {}, auth, stats: new LiveStats(h.metrics!.registry), stateDir, log: silentLogger });
  const server = createAdminServer({
    provider: h.provider,
    proxy: h.proxy,
    pins: h.pins,
    metrics: h.metrics!,
    startedAt: new Date(),
    control,
    auth,
    listenHost: o.listenHost ?? '127.0.0.1',
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port, h, auth, tokenFile };
}

const get = (port: number, path: string, headers: http.OutgoingHttpHeaders = {}) => request(port, { path, headers });

t.test('Host header values: names, ports, IP literals', async (t) => {
  const cases: [string, string | null][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['127.0.0.1:9180', '127.0.0.1'],
    ['[::1]', '::1'],
    ['[::1]:9180', '::1'],
    ['LocalHost:9180', 'localhost'],
    ['localhost.', 'localhost'],
    ['Admin.Internal:80', 'admin.internal'],
    ['10.1.2.3:', '10.1.2.3'],
    ['::1', null],
    ['[::1', null],
    ['[nothex]:1', null],
    ['evil.example:port', null],
    ['user@evil.example', null],
    ['a b', null],
    ['', null],
  ];
  for (const [header, want] of cases) t.equal(hostName(header), want, JSON.stringify(header));
  const names = allowedNames('admin.internal', ['Scrape.Example.']);
  t.same([...names].sort(), ['admin.internal', 'localhost', 'scrape.example']);
  t.equal(hostRefusal(undefined, names), null, 'no Host (HTTP/1.0): let in');
  t.equal(hostRefusal('[2001:db8::1]:9180', names), null, 'any IP literal');
  t.equal(hostRefusal('scrape.example:9180', names), null, 'an allowed name, any port');
  t.equal(hostRefusal('evil.example', names)?.status, 421);
  for (const h of ['127.0.0.1', '127.8.9.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) t.ok(isLoopback(h), `${h} is loopback`);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'admin.internal', 'fe80::1']) t.notOk(isLoopback(h), `${h} is not loopback`);
  t.equal(exposureWarning({ host: '127.0.0.1', port: 9180 }, { ADMIN_STATUS_AUTH: false, ADMIN_METRICS_AUTH: false }, true), null, 'no warning on loopback');
  const w = exposureWarning({ host: '0.0.0.0', port: 9180 }, { ADMIN_STATUS_AUTH: true, ADMIN_METRICS_AUTH: false }, true)!;
  t.same(w.open_without_auth, ['/healthz', '/readyz', '/metrics'], 'what stays open with status auth on');
  t.match(w.msg, /0\.0\.0\.0:9180 is not on loopback.*bind SWITCHBOARD\.ADMIN_LISTEN to 127\.0\.0\.1, or set SWITCHBOARD\.ADMIN_METRICS_AUTH: true/);
  t.notMatch(w.msg, /set SWITCHBOARD\.ADMIN_STATUS_AUTH/, 'not told to set what is set');
});

t.test('a rebinding Host is refused on every admin path but /healthz', async (t) => {
  const a = await startAdmin(t, {});
  const bearer = { authorization: `Bearer ${TOKEN}` };
  for (const path of ['/status', '/metrics', '/readyz', '/dashboard', '/dashboard/login', '/control/v1/state', '/api/v1/state', '/nothing-here']) {
    const r = await get(a.port, path, { host: 'evil.example', ...bearer });
    t.equal(r.status, 421, `${path}: 421`);
    t.match(r.text(), /Host "evil\.example" is not a name of this admin listener.*SWITCHBOARD\.ADMIN_ALLOWED_HOSTS/, `${path}: names the setting`);
    t.match(r.headers['content-type'], /^text\/plain/);
  }
  const post = await request(a.port, {
    method: 'POST',
    path: '/control/v1/plan',
    headers: { host: 'evil.example:9180', 'content-type': 'application/json', ...bearer },
    body: '{}',
  });
  t.equal(post.status, 421, 'a POST to the control API too, before its own checks');
  t.equal((await get(a.port, '/healthz', { host: 'evil.example' })).status, 200, '/healthz says only "ok": open to any name');
  t.equal((await get(a.port, '/status', { host: 'fe80::1' })).status, 421, 'an IPv6 literal without brackets is malformed');
});

t.test('IP literals, localhost, the listen host and ADMIN_ALLOWED_HOSTS pass', async (t) => {
  const a = await startAdmin(t, { ADMIN_ALLOWED_HOSTS: ['Switchboard-Admin.internal'] }, { listenHost: 'admin.example' });
  const bearer = { authorization: `Bearer ${TOKEN}` };
  const hosts = [
    '127.0.0.1',
    `127.0.0.1:${a.port}`,
    '10.20.30.40:9180',
    '[::1]',
    `[::1]:${a.port}`,
    'localhost',
    `localhost:${a.port}`,
    'admin.example:9180',
    'switchboard-admin.internal',
    'SWITCHBOARD-ADMIN.INTERNAL:9180',
  ];
  for (const host of hosts) {
    t.equal((await get(a.port, '/status', { host })).status, 200, `/status with Host ${host}`);
    t.equal((await get(a.port, '/control/v1/state', { host, ...bearer })).status, 200, `/control/v1/state with Host ${host}`);
  }
  t.equal((await get(a.port, '/dashboard/login', { host: 'localhost' })).status, 200, 'the dashboard login page');
  t.equal((await get(a.port, '/metrics', { host: 'switchboard-admin.internal' })).status, 200, '/metrics');
  const old = await rawRequest(a.port, ['GET /status HTTP/1.0']);
  t.equal(old.status, 200, 'HTTP/1.0 without Host: no browser sends that, let in');

  // A reload applies to the next request: the name is refused once it leaves the list.
  await a.h.write({ settings: { LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', DASHBOARD: { ADMIN_TOKEN_FILE: a.tokenFile }, ADMIN_ALLOWED_HOSTS: ['other.internal'] } });
  t.equal((await get(a.port, '/status', { host: 'switchboard-admin.internal' })).status, 421, 'removed from the list: refused');
  t.equal((await get(a.port, '/status', { host: 'other.internal' })).status, 200, 'added: let in');
});

t.test('the control API under /control/v1; the old /api/v1 paths redirect, past the Host check', async (t) => {
  const a = await startAdmin(t, {});
  const bearer = { authorization: `Bearer ${TOKEN}` };
  t.equal((await get(a.port, '/control/v1/state', bearer)).status, 200, 'the new path');
  const old = await get(a.port, '/api/v1/explain?path=/v2/acme/app/tags/list', bearer);
  t.equal(old.status, 308, 'an old path: Permanent Redirect');
  t.equal(old.headers.location, '/control/v1/explain?path=/v2/acme/app/tags/list');
  t.equal(old.headers.deprecation, 'true');
  t.equal(old.headers.link, '</control/v1/explain?path=/v2/acme/app/tags/list>; rel="successor-version"');
  const post = await request(a.port, { method: 'POST', path: '/api/v1/plan', headers: { 'content-type': 'application/json', ...bearer }, body: '{}' });
  t.equal(post.status, 308);
  t.equal(post.headers.location, '/control/v1/plan');
  t.equal((await get(a.port, '/api/v1/state', { host: 'evil.example' })).status, 421, 'an old path is refused a rebinding Host like any other');
  const missing = await get(a.port, '/api/v1');
  t.equal(missing.status, 404, 'the bare old prefix is no control-API path');
  t.match(missing.text(), /try \/metrics, \/status, \/healthz, \/readyz, \/dashboard, \/control\/v1\/state\n$/, "the listener's 404 names the new path");
});

t.test('ADMIN_STATUS_AUTH: /status needs the admin token or a session; health stays open', async (t) => {
  const a = await startAdmin(t, { ADMIN_STATUS_AUTH: true });
  const none = await get(a.port, '/status');
  t.equal(none.status, 401, 'no credentials: 401');
  t.match(none.headers['www-authenticate'], /^Bearer /);
  t.match(none.text(), /SWITCHBOARD\.ADMIN_STATUS_AUTH is on: send Authorization: Bearer <admin token>/);
  t.equal((await get(a.port, '/status', { authorization: 'Bearer not-the-token-at-all-0000' })).status, 401, 'a wrong token: 401');
  const basic = await get(a.port, '/status', { authorization: `Basic ${Buffer.from(`admin-token:${TOKEN}`).toString('base64')}` });
  t.equal(basic.status, 401, 'Basic credentials are not taken on /status');
  t.match(basic.text(), /Basic credentials are not taken here/);
  const ok = await get(a.port, '/status', { authorization: `Bearer ${TOKEN}` });
  t.equal(ok.status, 200, 'the admin token: 200');
  t.equal(ok.json().snapshot.version, 1);
  const cookie = a.auth!.session({ name: 'admin-token', role: 'operator' });
  t.equal((await get(a.port, '/status', { cookie: `sb_session=${cookie}` })).status, 200, 'a dashboard session: 200');
  t.equal((await request(a.port, { method: 'HEAD', path: '/status' })).status, 401, 'HEAD too');
  t.equal((await get(a.port, '/healthz')).status, 200, '/healthz stays open');
  t.equal((await get(a.port, '/readyz')).status, 200, '/readyz stays open');
  t.equal((await get(a.port, '/metrics')).status, 200, '/metrics stays open without ADMIN_METRICS_AUTH');
  t.equal((await get(a.port, '/status', { host: 'evil.example', authorization: `Bearer ${TOKEN}` })).status, 421, 'the Host check comes first, token or not');
});

t.test('ADMIN_METRICS_AUTH: /metrics needs the admin token, on its own', async (t) => {
  const a = await startAdmin(t, { ADMIN_METRICS_AUTH: true });
  t.equal((await get(a.port, '/metrics')).status, 401);
  const ok = await get(a.port, '/metrics', { authorization: `Bearer ${TOKEN}` });
  t.equal(ok.status, 200);
  t.match(ok.text(), /switchboard_snapshot_version 1/);
  t.equal((await get(a.port, '/status')).status, 200, '/status stays open without ADMIN_STATUS_AUTH');
});

t.test('status auth turned on live without the dashboard loaded at start: 503, never open', async (t) => {
  const a = await startAdmin(t, {}, { dashboard: false });
  t.equal((await get(a.port, '/status')).status, 200);
  await a.h.write({ settings: { LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', DASHBOARD: { ADMIN_TOKEN_FILE: a.tokenFile }, ADMIN_STATUS_AUTH: true } });
  const r = await get(a.port, '/status', { authorization: `Bearer ${TOKEN}` });
  t.equal(r.status, 503);
  t.match(r.text(), /ADMIN_STATUS_AUTH is on but the dashboard's auth is not loaded: SWITCHBOARD\.DASHBOARD takes effect on restart/);
});

t.test("the CLI's note on a running serve reads /status with the config's admin token", async (t) => {
  // The running proxy holds the kill switch from its environment; the CLI's local snapshot does not.
  const a = await startAdmin(t, { ADMIN_STATUS_AUTH: true }, { env: { MIGRATION_FORCE_PYTHON: 'true' } });
  const local = (await startProxy(t, '', { file: a.h.file })).provider.current();
  t.equal(local.settings.ADMIN_STATUS_AUTH, true);
  const stateDir = tempDir(t, 'swb-admin-state-');
  writeFileSync(join(stateDir, RUNNING_FILE), JSON.stringify({ pid: process.pid, admin: `http://127.0.0.1:${a.port}` }) + '\n');
  t.match(await localNote(stateDir, local), /its kill switch is ON \(here: off\)/, 'compared through the authenticated /status');
  rmSync(a.tokenFile);
  t.match(
    await localNote(stateDir, local),
    /its \/status needs the admin token \(SWITCHBOARD\.ADMIN_STATUS_AUTH\), which cannot be read here — add --server http:\/\/127\.0\.0\.1:\d+ --token-file FILE/,
    'no readable token: said, not silently skipped',
  );
});
