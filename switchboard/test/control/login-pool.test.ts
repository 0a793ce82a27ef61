// Dashboard and control API logins under a flood (issue 14): bcrypt runs on
// the process's worker pool, never on the event loop, so the admin listener
// keeps answering while wrong passwords are checked; right passwords sent at
// once all log in; a saturated pool is answered 429 at once. A real
// ControlPlane on a node:http server on port 0. Nothing is timed: loop turns
// and worker thread ids are counted.

import t from 'tap';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import { loadInventory } from '../../../owner-maps/index.js';
import { FileSnapshotProvider } from '../../snapshots/provider.js';
import { DashboardAuth } from '../../control/auth.js';
import { ControlPlane } from '../../control/dashboard.js';
import { LoginLimiter } from '../../control/login-limiter.js';
import { LiveStats } from '../../control/stats.js';
import { ProxyMetrics } from '../../proxy/metrics.js';
import { createLogger } from '../../../lib/log.js';
import { sharedBcryptPool } from '../../../lib/passwords/bcrypt-pool.js';

const TOKEN = 'login-pool-admin-token-0123456789';
const root = mkdtempSync(join(tmpdir(), 'swb-login-pool-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const usersFile = join(root, 'users.yaml');
// Cost 10: each check takes the pool a noticeable while, as real (cost 12) ones do.
const users = Array.from({ length: 8 }, (_, i) => `user${i}`);
writeFileSync(usersFile, users.map((u) => `- {name: ${u}, role: operator, password_bcrypt: "${bcrypt.hashSync(`${u}-pw`, 10)}"}\n`).join(''));
writeFileSync(join(root, 'admin.token'), `${TOKEN}\n`);

const inv = loadInventory();
const logs: Record<string, unknown>[] = [];
const file = join(root, 'config.yaml');
writeFileSync(file, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n');
const provider = await FileSnapshotProvider.start({ file, inventory: inv, watch: false, pollSeconds: 15, stateDir: join(root, 'state') });
t.teardown(() => provider.close());
const metrics = new ProxyMetrics({
  snapshot: () => ({ version: 1, updated_at: new Date().toISOString(), hard_failure: false, kill_switch: false }),
  reloads: () => ({ reloads_total: 0, reload_failures_total: 0 }) as never,
  pins: async () => 0,
  inflight: () => 0,
});
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
  auth: new DashboardAuth({ tokenFile: join(root, 'admin.token'), usersFile, sessionHours: 1 }),
});
const server: Server = createServer((req, res) => {
  void control.handle(req, res);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

const basic = (name: string, pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${name}:${pw}`).toString('base64')}` });
const state = (headers: Record<string, string>): Promise<Response> => fetch(`${base}/control/v1/state`, { headers });
const done = (): number => Object.values(sharedBcryptPool().stats().completedByThread).reduce((a, n) => a + n, 0);

t.test('wrong passwords are checked on worker threads: the loop keeps turning, the listener keeps answering', async (t) => {
  const before = done();
  let turns = 0;
  let burstOver = false;
  const spin = (): void => {
    if (!burstOver) {
      turns++;
      setImmediate(spin);
    }
  };
  setImmediate(spin);
  // One wrong password per user (under every limit): 8 bcrypt checks at cost 10.
  const burst = Promise.all(users.map((u) => state(basic(u, `wr0ng-guess-${u}`))));
  let answeredDuring = false;
  const bearer = state({ authorization: `Bearer ${TOKEN}` }).then((r) => {
    answeredDuring = !burstOver;
    return r.status;
  });
  const statuses = (await burst).map((r) => r.status);
  burstOver = true;
  t.same(statuses, Array(8).fill(401), 'every wrong password refused');
  t.equal(await bearer, 200);
  t.ok(answeredDuring, 'a bearer request sent with the burst was answered before the burst was over');
  t.ok(turns > 200, `the event loop kept turning (${turns} turns)`);
  const threads = Object.keys(sharedBcryptPool().stats().completedByThread).map(Number);
  t.notOk(threads.includes(threadId), 'no check on the main thread');
  t.equal(done() - before, 8, 'the 8 checks ran on the pool');
  const refused = logs.filter((l) => l.msg === 'dashboard login refused');
  t.equal(refused.length, 8);
  t.ok(
    refused.every((l) => l.client_address === '127.0.0.1' && l.reason === 'wrong_password'),
    'each logged with the client address',
  );
  t.notOk(JSON.stringify(logs).includes('wr0ng-guess'), 'no password in the log');
});

t.test('right passwords sent at once all log in', async (t) => {
  const replies = await Promise.all(Array.from({ length: 12 }, () => state(basic('user3', 'user3-pw'))));
  t.same(
    replies.map((r) => r.status),
    Array(12).fill(200),
    'none refused, whether they waited for one another or not',
  );
});

t.test('the limiter refuses while the pool is saturated (busy)', async (t) => {
  let full = true;
  const l = new LoginLimiter(
    { windowSeconds: 60, perName: 2, perAddress: 3 },
    () => 0,
    () => full,
  );
  t.match(l.check('192.0.2.1', 'x'), { by: 'busy', retryAfterSeconds: 1 });
  full = false;
  t.equal(l.check('192.0.2.1', 'x'), null);
});

// Last: it wedges the process's bcrypt pool, then closes it.
t.test('a saturated pool: logins answered 429 at once, the admin token still works', async (t) => {
  const pool = sharedBcryptPool();
  const endless = '$2b$31$' + 'A'.repeat(22) + 'B'.repeat(31);
  const wedged = Array.from({ length: pool.size + pool.maxQueue }, () => pool.compare('x', endless).catch(() => 'closed'));
  t.equal(pool.saturated, true);
  const api = await state(basic('user5', 'user5-pw'));
  t.equal(api.status, 429, 'Basic credentials: 429');
  t.equal(api.headers.get('retry-after'), '1');
  t.match(await api.json(), { error: /too many logins in progress/ });
  const form = await fetch(`${base}/dashboard/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=user5&password=user5-pw',
    redirect: 'manual',
  });
  t.equal(form.status, 429, 'the login form: 429');
  t.equal((await state({ authorization: `Bearer ${TOKEN}` })).status, 200, 'a bearer token needs no bcrypt');
  t.match(logs.at(-1), { msg: 'dashboard login refused', reason: 'rate_limited', by: 'busy', client_address: '127.0.0.1' });
  await pool.close();
  t.same(await Promise.all(wedged), Array(wedged.length).fill('closed'));
});
