/**
 * The /api/v1 contract harness (test/lib/api-contract.ts) checked against
 * real Quay alone: every identity authenticates on Python as Quay's rules
 * say (sessions are full users; OAuth tokens are capped by their scopes;
 * a robot credential as a bearer is anonymous), and normalize/diffJson do
 * what they document. Our runtime is started too, as startApiPair does,
 * but its answers are not judged here.
 */
import t from 'tap';
import { diffJson, normalize, startApiPair, type IdentityName } from '../lib/api-contract.js';

t.setTimeout(300_000);

// API_CONTRACT_DB=postgres runs the same checks on PostgreSQL (tokens inserted through pg).
const pair = await startApiPair(t, { database: process.env.API_CONTRACT_DB === 'postgres' ? 'postgres' : 'sqlite' });

t.test('GET /api/v1/user/ on Python answers each identity as Quay decides', async (t) => {
  // [identity, status, username when 200]
  const expected: [IdentityName, number, string?][] = [
    ['anonymous', 401],
    ['devtable', 200, 'devtable'],
    ['reader', 200, 'reader'],
    ['freshuser', 200, 'freshuser'],
    ['public', 200, 'public'],
    ['devtable-token', 401], // repo:admin gives no user role
    ['devtable-user-read', 200, 'devtable'],
    ['reader-repo-read', 401],
    ['devtable-org-admin', 401],
    ['devtable-super', 200, 'devtable'],
    ['robot-bearer', 401], // a failed app-token lookup: anonymous
  ];
  for (const [id, status, username] of expected) {
    const a = await pair.call('python', '/api/v1/user/', id);
    t.equal(a.status, status, `${id}: status`);
    t.match(a.contentType, /^application\/json/, `${id}: JSON`);
    const body = a.body as Record<string, unknown>;
    if (username) t.equal(body.username, username, `${id}: username`);
    else t.match(body, { error_type: 'invalid_token', session_required: false, status: 401 }, `${id}: invalid_token`);
  }
});

t.test('scopes cap what tokens reach; sessions are full users', async (t) => {
  const repo = '/api/v1/repository/devtable/simple';
  t.equal((await pair.call('python', repo, 'devtable-token')).status, 200, 'repo:admin reads its own repository');
  t.equal((await pair.call('python', repo, 'devtable-user-read')).status, 403, 'user:read does not reach repositories');
  t.equal((await pair.call('python', repo, 'reader')).status, 403, "reader's session cannot read devtable/simple");
  t.equal((await pair.call('python', repo, 'anonymous')).status, 401, 'anonymous: 401');
  const org = '/api/v1/organization/buynlarge/members';
  t.equal((await pair.call('python', org, 'devtable-org-admin')).status, 200, 'org:admin lists the members');
  t.equal((await pair.call('python', org, 'devtable-token')).status, 403, 'repo:admin is not org:admin');
  const su = '/api/v1/superuser/users/';
  t.equal((await pair.call('python', su, 'devtable')).status, 200, 'devtable session is a superuser');
  t.equal((await pair.call('python', su, 'devtable-super')).status, 200, 'super:user token is a superuser');
  t.equal((await pair.call('python', su, 'devtable-user-read')).status, 403, 'user:read token is not');
  const pub = await pair.call('python', '/api/v1/repository/public/publicrepo', 'robot-bearer');
  t.equal(pub.status, 200, 'the robot bearer reads a public repository as anonymous');
  t.equal((pub.body as { can_write?: unknown }).can_write, false);
});

t.test('callBoth asks both sides; the session cookie made by Python is replayed verbatim', async (t) => {
  const both = await pair.callBoth('/api/v1/user/', 'devtable');
  t.equal(both.python.status, 200);
  t.type(both.go.status, 'number', 'our runtime answered something');
  t.match(pair.identities.devtable.headers.cookie, /^_csrf_token=\S+$/);
  t.not(pair.urls.python, pair.urls.go);
  const again = await pair.call('python', '/api/v1/user/', 'devtable');
  t.same(diffJson(normalize(both.python.body), normalize(again.body)), [], 'two calls read the same after normalize');
});

t.test('normalize hides only what changes from call to call', async (t) => {
  const logs = '/api/v1/repository/devtable/simple/logs';
  const [a, b] = [await pair.call('python', logs, 'devtable'), await pair.call('python', logs, 'devtable')];
  t.equal(a.status, 200);
  const na = normalize(a.body) as Record<string, unknown>;
  t.match(na, { start_time: '<now:rfc2822>', end_time: '<now:rfc2822>', next_page: /^fernet:\{/ }, 'log page times and Fernet page token');
  t.same(diffJson(na, normalize(b.body)), [], 'two log pages read the same');
  const off = '/api/v1/plans/'; // BILLING is off: the web UI page, 404, with a fresh CSRF token each time
  const [x, y] = [await pair.call('python', off, 'anonymous'), await pair.call('python', off, 'anonymous')];
  t.equal(x.status, 404);
  t.match(x.contentType, /^text\/html/);
  t.not(x.text, y.text, 'the raw pages differ');
  t.equal(normalize(x.body), normalize(y.body), 'but not once normalized');
});

t.test('diffJson names the paths that differ', async (t) => {
  t.same(diffJson({ a: 1, b: [1, 2], c: { d: 'x' } }, { b: [1, 3, 4], a: 1, c: { d: 'x' }, e: null }), [
    '$.b[1]: python 2 ≠ go 3',
    '$.b[2]: only in go: 4',
    '$.e: only in go: null',
  ]);
  t.same(diffJson('a', { a: 1 }), ['$: python "a" ≠ go {"a":1}']);
  t.same(diffJson({ 'x-y': 1 }, {}), ['$["x-y"]: only in python: 1']);
});
