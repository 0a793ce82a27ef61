// The control API's move from /api/v1 (Quay's API family) to /control/v1
// (control/legacy-prefix.ts): the new paths answer; every old path, known or
// not, answers 308 to its new path with the query kept, Deprecation and Link;
// a client that follows a 308 re-sends a POST with its body; each distinct old
// path is logged once, and a bounded number of them. A real ControlPlane on a
// node:http server on port 0, dispatched as the admin listener does.

import t from 'tap';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../../../owner-maps/index.js';
import { FileSnapshotProvider } from '../../snapshots/provider.js';
import { DashboardAuth } from '../../control/auth.js';
import { ControlPlane } from '../../control/dashboard.js';
import { CONTROL_API_PREFIX, LEGACY_CONTROL_API_PREFIX, successorOf } from '../../control/legacy-prefix.js';
import { LiveStats } from '../../control/stats.js';
import { ProxyMetrics } from '../../proxy/metrics.js';
import { createLogger } from '../../../lib/log.js';

const TOKEN = 'legacy-prefix-admin-token-0123456789';
const root = mkdtempSync(join(tmpdir(), 'swb-legacy-prefix-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(join(root, 'admin.token'), `${TOKEN}\n`);
const file = join(root, 'config.yaml');
writeFileSync(file, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n');

const inv = loadInventory();
const provider = await FileSnapshotProvider.start({ file, inventory: inv, watch: false, pollSeconds: 15, stateDir: join(root, 'state') });
t.teardown(() => provider.close());
const metrics = new ProxyMetrics({
  snapshot: () => ({ version: 1, updated_at: new Date().toISOString(), hard_failure: false, kill_switch: false }),
  reloads: () => ({ reloads_total: 0, reload_failures_total: 0 }) as never,
  pins: async () => 0,
  inflight: () => 0,
});
const logs: Record<string, unknown>[] = [];
const control = new ControlPlane({
  provider,
  inventory: inv,
  file,
  env: {},
  stats: new LiveStats(metrics.registry, 300, 5000),
  stateDir: join(root, 'state'),
  log: createLogger(
    {},
    {
      write: (l) => {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      },
    },
  ),
  auth: new DashboardAuth({ tokenFile: join(root, 'admin.token'), usersFile: null, sessionHours: 1 }),
});
// As admin.ts dispatches: the control plane takes the paths it handles, the listener answers the rest 404.
const server: Server = createServer((req, res) => {
  if (control.handles((req.url ?? '/').split('?')[0]!)) void control.handle(req, res);
  else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const bearer = { authorization: `Bearer ${TOKEN}` };
const manual = (path: string, init: RequestInit = {}): Promise<Response> => fetch(base + path, { headers: bearer, ...init, redirect: 'manual' });
const deprecations = (): Record<string, unknown>[] => logs.filter((l) => l.level === 'warn' && String(l.msg).startsWith('deprecated control API path:'));

t.test('the prefixes, and the rewrite of an old path', async (t) => {
  t.equal(CONTROL_API_PREFIX, '/control/v1');
  t.equal(LEGACY_CONTROL_API_PREFIX, '/api/v1', "the old prefix, Quay's API family");
  const at = (p: string): string | null => successorOf(new URL(p, 'http://admin'));
  t.equal(at('/api/v1/state'), '/control/v1/state');
  t.equal(at('/api/v1/explain?method=GET&path=/v2/acme/app/tags/list'), '/control/v1/explain?method=GET&path=/v2/acme/app/tags/list', 'the query string kept');
  t.equal(at('/api/v1/a<b>?c=<d>'), '/control/v1/a%3Cb%3E?c=%3Cd%3E', "nothing that could close Link's angle brackets");
  for (const p of ['/api/v1', '/api/v1x/state', '/control/v1/state', '/dashboard']) t.equal(at(p), null, `${p}: not an old path`);
  for (const p of ['/control/v1/state', '/api/v1/state', '/api/v1/no-such-thing']) t.ok(control.handles(p), `${p}: the control plane's`);
  for (const p of ['/api/v1', '/control/v1', '/api/v1x/state', '/api/v2/state']) t.notOk(control.handles(p), `${p}: not the control plane's`);
});

t.test('the new paths answer', async (t) => {
  const state = await manual('/control/v1/state');
  t.equal(state.status, 200);
  t.equal(((await state.json()) as { you: { name: string } }).you.name, 'admin-token');
  t.equal((await manual('/control/v1/state', { headers: {} })).status, 401, 'behind the login, as before');
  const unknown = await manual('/control/v1/no-such-thing');
  t.equal(unknown.status, 404);
  t.match(await unknown.json(), { error: /GET state, stats, history, explain/ });
});

t.test('an old GET path: 308 to the new one, query kept, Deprecation and Link', async (t) => {
  const query = '?method=PUT&path=%2Fv2%2Facme%2Fapp%2Fmanifests%2Flatest&user=alice';
  // Anonymous: the redirect comes before the login (it says nothing the README does not).
  for (const headers of [bearer, {}]) {
    const r = await manual(`/api/v1/explain${query}`, { headers });
    t.equal(r.status, 308, 'Permanent Redirect: method and body kept');
    t.equal(r.headers.get('location'), `/control/v1/explain${query}`);
    t.equal(r.headers.get('deprecation'), 'true');
    t.equal(r.headers.get('link'), `</control/v1/explain${query}>; rel="successor-version"`);
    t.equal(r.headers.get('cache-control'), 'no-store');
    t.match(await r.text(), /moved to \/control\/v1\/explain.*Quay's API/);
  }
  const head = await manual('/api/v1/state', { method: 'HEAD' });
  t.equal(head.status, 308);
  t.equal(head.headers.get('location'), '/control/v1/state');
  const followed = await fetch(`${base}/api/v1/explain${query}`, { headers: bearer });
  t.equal(followed.status, 200, 'followed (same origin: the token goes along)');
  t.equal(new URL(followed.url).pathname, '/control/v1/explain');
  t.match(await followed.json(), { owner: 'python', snapshot_version: 1 });
});

t.test('an old POST path: 308, and following it re-sends the POST with its body', async (t) => {
  const body = JSON.stringify({ action: 'kill', on: true, reason: 'INC-9 through the old path' });
  const post = (path: string, redirect: 'manual' | 'follow'): Promise<Response> =>
    fetch(base + path, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body, redirect });
  const r = await post('/api/v1/apply', 'manual');
  t.equal(r.status, 308);
  t.equal(r.headers.get('location'), '/control/v1/apply');
  t.equal(r.headers.get('link'), '</control/v1/apply>; rel="successor-version"');
  t.equal(provider.current().owner_map.forcePython.value, false, 'the redirect itself changed nothing');
  const followed = await post('/api/v1/apply', 'follow');
  t.equal(followed.status, 200, 'applied at /control/v1/apply');
  t.equal(new URL(followed.url).pathname, '/control/v1/apply');
  const state = (await (await manual('/control/v1/state')).json()) as { snapshot: { kill_switch: boolean } };
  t.equal(state.snapshot.kill_switch, true, 'the body (action, reason) arrived');
  const history = (await (await manual('/control/v1/history')).json()) as { entries: { reason: string }[] };
  t.equal(history.entries[0]?.reason, 'INC-9 through the old path');
});

t.test('an unknown old path redirects too; the new path answers its 404', async (t) => {
  const r = await manual('/api/v1/no-such-thing?x=1');
  t.equal(r.status, 308, 'the whole old prefix is rewritten: one rule, never out of step with the endpoints');
  t.equal(r.headers.get('location'), '/control/v1/no-such-thing?x=1');
  t.equal((await fetch(`${base}/api/v1/no-such-thing`, { headers: bearer })).status, 404, "followed: the control API's own 404");
  t.equal((await fetch(`${base}/api/v1/no-such-thing`)).status, 401, 'and behind its login, as before the move');
});

t.test('each distinct old path is logged once, and only so many of them', async (t) => {
  const before = deprecations();
  t.equal(before.filter((l) => l.path === '/api/v1/state').length, 1, '/api/v1/state: one line however often it was called');
  t.equal(before.filter((l) => l.path === '/api/v1/explain').length, 1, 'its query string is not part of the path');
  t.match(
    before.find((l) => l.path === '/api/v1/apply'),
    { successor: '/control/v1/apply', method: 'POST', client_address: /127\.0\.0\.1/ },
  );
  for (let i = 0; i < 3; i++) await manual('/api/v1/state');
  t.equal(deprecations().length, before.length, 'called again: nothing more logged');
  const statuses = new Set<number>();
  for (let i = 0; i < 300; i++) statuses.add((await manual(`/api/v1/probe-${i}`)).status);
  t.same([...statuses], [308], '300 distinct old paths, all redirected');
  t.equal(deprecations().length, 256, 'at most 256 distinct old paths logged');
  t.equal(logs.filter((l) => String(l.msg).startsWith('deprecated control API paths: more distinct old paths')).length, 1, 'and one line saying the rest are not');
  t.equal((await manual('/api/v1/probe-999')).status, 308, 'past the bound: still redirected');
});
