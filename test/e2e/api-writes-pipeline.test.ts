/**
 * The write pipeline of /api/v1 on the go side alone (api/http/writes.ts,
 * api/http/surface.ts), on a fresh SQLite database, for what the contract
 * test against real Quay (api-producers-quay.test.ts) cannot switch on in
 * the middle of its run: REGISTRY_STATE readonly (Quay's 503, checked after
 * CSRF and before the anonymous-access rule, as Flask-RESTful orders Quay's
 * decorators), the CSRF token read from the query, and a body too large.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlaskSessionCodec } from '../../api/auth/flask-session.js';
import { MAX_BODY_BYTES } from '../../api/http/writes.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { freePort, request, ROOT, startChild, tempDir, waitForLog } from '../lib/proc.js';

t.setTimeout(180_000);
await buildSwitchboard();

const SECRET = 'writes-pipeline-secret';
async function serve(extra: string): Promise<number> {
  const dir = tempDir(t, 'api-writes-');
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `SERVER_HOSTNAME: 127.0.0.1:${port}
PREFERRED_URL_SCHEME: http
SECRET_KEY: ${SECRET}
DB_URI: sqlite:///${join(dir, 'quay.db')}
DATABASE_SECRET_KEY: writes-pipeline-db
DISTRIBUTED_STORAGE_CONFIG:
  default: [LocalStorage, {storage_path: ${join(dir, 'storage')}}]
DISTRIBUTED_STORAGE_PREFERENCE: [default]
${extra}`,
  );
  const args = [
    'serve',
    '--mode',
    'standalone',
    '--config',
    config,
    '--data-dir',
    join(dir, 'data'),
    '--listen',
    `127.0.0.1:${port}`,
    '--admin-listen',
    `127.0.0.1:${await freePort()}`,
    '--tls',
    'off',
  ];
  const child = startChild(t, process.execPath, [join(ROOT, 'bin/quay.js'), ...args], { cwd: ROOT });
  await waitForLog(child, /"msg":"quay serving"/, 'quay serve');
  return port;
}

// An anonymous session holding a CSRF token, signed as Flask signs it.
const cookie = `_csrf_token=${new FlaskSessionCodec(SECRET).encode({ _csrf_token: 'tok', _permanent: true })}`;
const del = (port: number, headers: Record<string, string>, path = '/api/v1/repository/acme/app') =>
  request(port, { method: 'DELETE', path, headers: { host: `127.0.0.1:${port}`, 'user-agent': 'node', ...headers } });

t.test('REGISTRY_STATE readonly: a write passing CSRF gets the 503, even anonymous with anonymous access off', async (t) => {
  const port = await serve('REGISTRY_STATE: readonly\nFEATURE_ANONYMOUS_ACCESS: false\n');
  const noCsrf = await del(port, {});
  t.equal(noCsrf.status, 403, 'CSRF first');
  t.same(noCsrf.json(), { error: 'CSRF token was invalid or missing.' });
  const ro = await del(port, { cookie, 'x-csrf-token': 'tok' });
  t.equal(ro.status, 503);
  t.equal(ro.text(), '{"is_readonly":true,"message":"System is currently read-only. Pulls will succeed but all write operations are currently suspended."}\n');
  const get = await request(port, { path: '/api/v1/repository/acme/app', headers: { host: `127.0.0.1:${port}`, 'user-agent': 'node' } });
  t.equal(get.status, 401, 'reads are not refused for the state; anonymous access off still applies to them');
});

t.test('CSRF from the query; a body over the limit is refused', async (t) => {
  const port = await serve('');
  const viaQuery = await del(port, { cookie }, '/api/v1/repository/acme/app?_csrf_token=tok');
  t.equal(viaQuery.status, 401, 'the query token passes CSRF; anonymous, the repository admin check answers 401');
  const wrong = await del(port, { cookie }, '/api/v1/repository/acme/app?_csrf_token=nope');
  t.equal(wrong.status, 403, 'a wrong query token fails');
  const big = await request(port, {
    method: 'POST',
    path: '/api/v1/user/exportlogs',
    headers: { host: `127.0.0.1:${port}`, 'user-agent': 'node', cookie, 'x-csrf-token': 'tok', 'content-type': 'application/json' },
    body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20),
  });
  t.equal(big.status, 413, big.text().slice(0, 200));
});
