/**
 * The real `switchboard serve` and its admin listener's exposure: the
 * start-up warning off loopback (JSON log and banner), /status behind the
 * admin token, and status auth without the dashboard refused at start.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOnce, childEnv, configYaml, request, ROOT, startServe, startUpstreams, tempDir, writeAtomic } from './lib/harness.js';

t.before(async () => {
  await buildOnce();
});

const NOT_LOOPBACK = /admin listener .* is not on loopback/;

t.test('an admin listener on 0.0.0.0 is warned at start; status auth is honoured', async (t) => {
  const up = await startUpstreams(t);
  const dir = tempDir(t);
  const file = join(dir, 'config.yaml');
  writeAtomic(
    file,
    configYaml({
      upstreams: up,
      settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '0.0.0.0:0', ACCESS_LOG: 'off', ADMIN_STATUS_AUTH: true, DASHBOARD: { ADMIN_TOKEN_FILE: 'admin.token' } },
    }),
  );
  const sb = await startServe(t, file);
  const warn = sb.logs().find((l) => typeof l.msg === 'string' && NOT_LOOPBACK.test(l.msg));
  t.ok(warn, 'a JSON warn line');
  t.match(warn, { level: 'warn', admin_listen: new RegExp(`^0\\.0\\.0\\.0:${sb.adminPort}$`), open_without_auth: ['/healthz', '/readyz', '/metrics'] });
  t.match(warn!.msg, /bind SWITCHBOARD\.ADMIN_LISTEN to 127\.0\.0\.1, or set SWITCHBOARD\.ADMIN_METRICS_AUTH: true/, 'says what to do');
  t.match(sb.stderr(), /^ {2}WARNING {5}admin listener not on loopback; open without auth: \/healthz \/readyz \/metrics/m, 'and a banner line');

  const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  t.equal((await request(sb.adminPort, { path: '/status' })).status, 401, '/status without the token');
  const ok = await request(sb.adminPort, { path: '/status', headers: { authorization: `Bearer ${token}` } });
  t.equal(ok.status, 200, '/status with the admin token');
  t.equal(ok.json().snapshot.version, 1);
  t.equal((await request(sb.adminPort, { path: '/healthz' })).status, 200, '/healthz open');
  t.equal((await request(sb.adminPort, { path: '/status', headers: { host: 'evil.example', authorization: `Bearer ${token}` } })).status, 421, 'a rebinding Host refused');
});

t.test('no warning on loopback', async (t) => {
  const up = await startUpstreams(t);
  const file = join(tempDir(t), 'config.yaml');
  writeAtomic(file, configYaml({ upstreams: up, settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off' } }));
  const sb = await startServe(t, file);
  t.notOk(
    sb.logs().some((l) => typeof l.msg === 'string' && NOT_LOOPBACK.test(l.msg)),
    'no warn line',
  );
  t.notMatch(sb.stderr(), /WARNING/, 'no banner warning');
  t.equal((await request(sb.adminPort, { path: '/status' })).status, 200, '/status open by default');
});

t.test('ADMIN_STATUS_AUTH without SWITCHBOARD.DASHBOARD: serve refuses to start, naming the key', async (t) => {
  const file = join(tempDir(t), 'config.yaml');
  writeAtomic(file, configYaml({ settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', ADMIN_STATUS_AUTH: true } }));
  const state = mkdtempSync(join(tmpdir(), 'swb-state-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, ['bin/switchboard.js', 'serve', '--config', file], {
    cwd: ROOT,
    env: childEnv({ SWITCHBOARD_STATE_DIR: state }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.equal(r.status, 1, 'exit 1');
  t.match(r.stderr, /config\.yaml:\d+: SWITCHBOARD\.ADMIN_STATUS_AUTH: needs SWITCHBOARD\.DASHBOARD \(ADMIN_TOKEN_FILE or USERS_FILE\).*\[SWB_CONFIG_BAD_VALUE\]/);
});
