/**
 * /api/v1 contract, the core rows (users, repositories, tags, the API's own
 * rows) and the request pipeline every row shares (auth, routing, errors,
 * sessions, page tokens): real Quay and the go side on one database, the
 * same requests as the same identities, answers compared after the
 * harness's documented normalization (test/lib/api-contract.ts). Runs on
 * SQLite, and on PostgreSQL with API_CONTRACT_DB=postgres (scripts/test.sh
 * runs both).
 */
import t from 'tap';
import { checkParity, startApiPair, type KnownDifference, EVERYONE, pairSql } from '../lib/api-contract.js';

t.setTimeout(600_000);

const database = process.env.API_CONTRACT_DB === 'postgres' ? 'postgres' : 'sqlite';
const pair = await startApiPair(t, { database });

const sql = <R>(text: string, params: unknown[] = []): Promise<R[]> => pairSql<R>(pair.quay.database, text, params);

const [note] = await sql<{ uuid: string }>('SELECT n.uuid FROM notification n JOIN "user" u ON u.id = n.target_id WHERE u.username = ? ORDER BY n.id', ['devtable']);

t.test('users: the signed-in user, other users, notifications, starred repositories', async (t) => {
  await checkParity(
    t,
    pair,
    [
      '/api/v1/user/',
      '/api/v1/users/devtable',
      '/api/v1/users/buynlarge',
      '/api/v1/users/devtable+dtrobot',
      '/api/v1/users/nosuchuser',
      '/api/v1/user/notifications',
      '/api/v1/user/notifications?limit=1',
      '/api/v1/user/notifications?limit=1&page=2',
      '/api/v1/user/notifications?limit=abc',
      `/api/v1/user/notifications/${note?.uuid ?? 'none'}`,
      '/api/v1/user/notifications/nosuchuuid',
      '/api/v1/user/starred',
    ],
    EVERYONE,
  );
});

t.test('repositories: lists and one repository', async (t) => {
  await checkParity(
    t,
    pair,
    [
      '/api/v1/repository',
      '/api/v1/repository?namespace=devtable',
      '/api/v1/repository?namespace=buynlarge&last_modified=true&popularity=true',
      '/api/v1/repository?public=true',
      '/api/v1/repository?public=true&namespace=public',
      '/api/v1/repository?starred=true',
      '/api/v1/repository?starred=true&next_page=garbage',
      '/api/v1/repository?namespace=devtable&repo_kind=nope',
      '/api/v1/repository?namespace=devtable&repo_kind=application',
      '/api/v1/repository/devtable/simple',
      '/api/v1/repository/devtable/simple?includeTags=false&includeStats=true',
      '/api/v1/repository/public/publicrepo',
      '/api/v1/repository/buynlarge/orgrepo',
      '/api/v1/repository/devtable/nosuchrepo',
      '/api/v1/repository/nosuchns/nosuchrepo',
    ],
    EVERYONE,
  );
});

t.test('tags: the history of a repository, alive and dead, paged and filtered', async (t) => {
  await checkParity(
    t,
    pair,
    [
      '/api/v1/repository/devtable/history/tag/',
      '/api/v1/repository/devtable/history/tag/?onlyActiveTags=true',
      '/api/v1/repository/devtable/history/tag/?limit=1&page=2',
      '/api/v1/repository/devtable/history/tag/?limit=0&page=-3',
      '/api/v1/repository/devtable/history/tag/?limit=500',
      '/api/v1/repository/devtable/history/tag/?limit=abc',
      '/api/v1/repository/devtable/history/tag/?specificTag=latest',
      '/api/v1/repository/devtable/history/tag/?filter_tag_name=like:lat',
      '/api/v1/repository/devtable/history/tag/?filter_tag_name=eq:latest',
      '/api/v1/repository/devtable/history/tag/?filter_tag_name=latest',
      '/api/v1/repository/devtable/history/tag/?filter_tag_name=other:x',
      '/api/v1/repository/devtable/simple/tag/',
      '/api/v1/repository/public/publicrepo/tag/',
      '/api/v1/repository/devtable/nosuchrepo/tag/',
    ],
    ['anonymous', 'devtable', 'reader', 'devtable-token', 'reader-repo-read', 'devtable-user-read'],
  );
});

t.test("the API's own rows: error types, capabilities, messages, registry status", async (t) => {
  await checkParity(
    t,
    pair,
    ['/api/v1/error/not_found', '/api/v1/error/invalid_token', '/api/v1/error/nosuchtype', '/api/v1/registry/capabilities', '/api/v1/messages', '/api/v1/superuser/registrystatus'],
    ['anonymous', 'devtable', 'devtable-token'],
  );
});

/** Quay's web UI page (its index template) answers 404 under /api/v1: ours has the status, type and headers, not the page. */
const WEB_PAGE: KnownDifference = {
  path: /\/$/,
  reason: "Quay renders its web UI's index page for a 404 under /api/v1/…/; the go side does not serve the web UI and answers a short page",
  occurs: (py, go) =>
    py.status === 404 &&
    go.status === 404 &&
    py.contentType === go.contentType &&
    typeof py.body === 'string' &&
    py.body.includes('ng-app="quay"') &&
    !String(go.body).includes('ng-app'),
};

t.test('routing: feature-off rows, unknown paths, slash redirects and the fall-through to Repository.get', async (t) => {
  await checkParity(
    t,
    pair,
    [
      '/api/v1/plans',
      '/api/v1/user/plan',
      '/api/v1/nosuchthing',
      '/api/v1/nosuch/deeper?x=1',
      '/api/v1/repository/devtable/simple/tag',
      '/api/v1/repository/devtable/simple/mirror',
      '/api/v1/repository/devtable/simple/signatures',
      '/api/v1/repository/mirror/health',
      '/api/v1/repository/devtable/simple/tag/latest/pull_statistics',
    ],
    ['anonymous', 'devtable', 'reader', 'devtable-token'],
  );
  await checkParity(t, pair, ['/api/v1/plans/', '/api/v1/organization/buynlarge/autoprunepolicy/', '/api/v1/nosuchthing/'], ['anonymous', 'devtable'], { known: [WEB_PAGE] });
  const { python, go } = await pair.callBoth('/api/v1/plans', 'anonymous');
  t.equal(go.headers.location, python.headers.location, '308 Location: absolute, on the request host');
});

t.test('auth: Basic is not taken, a failed token wins over a cookie, JWTs, browsers without XHR, empty scopes', async (t) => {
  const path = '/api/v1/user/';
  const cookie = pair.identities.devtable.headers.cookie!;
  const cases: [string, Record<string, string>][] = [
    ['Basic credentials', { authorization: `Basic ${Buffer.from('devtable:password').toString('base64')}` }],
    ['an unknown bearer with a valid cookie', { authorization: `Bearer ${'x'.repeat(40)}`, cookie }],
    ['a bare Bearer', { authorization: 'Bearer' }],
    ['three words', { authorization: `Bearer ${'b'.repeat(40)}${'c'.repeat(40)} extra`, cookie }],
    ['a JWT without issuer', { authorization: `Bearer ${Buffer.from('{"typ":"JWT","alg":"none"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.` }],
    [
      'a JWT from an unknown issuer',
      { authorization: `Bearer ${Buffer.from('{"typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"iss":"https://sso.example"}').toString('base64url')}.x` },
    ],
    ['Chrome without X-Requested-With', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', cookie }],
    ['Firefox with X-Requested-With', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'x-requested-with': 'XMLHttpRequest', cookie }],
    ['HeadlessChrome', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36', cookie }],
  ];
  for (const [what, headers] of cases) {
    const { python, go } = await pair.callBoth(path, 'anonymous', { headers });
    t.equal(go.status, python.status, `${what}: status ${python.status}`);
    t.same(go.body, python.body, `${what}: body`);
    t.equal(go.contentType, python.contentType, `${what}: content type`);
  }
  for (const p of ['/api/v1/user/', '/api/v1/repository/devtable/simple', '/api/v1/user/starred']) {
    const { python, go } = await pair.callBoth(p, 'devtable-empty-scope');
    t.equal(python.status, 500, `${p}: Quay fails on an empty scope set`);
    t.same([go.status, go.contentType, go.text], [python.status, python.contentType, python.text], `${p}: the same 500 page`);
  }
});

t.test('sessions: the cookie Python made works on the go side and comes back refreshed as Flask sends it', async (t) => {
  for (const path of ['/api/v1/user/', '/api/v1/superuser/registrystatus']) {
    const { python, go } = await pair.callBoth(path, 'devtable');
    t.equal(go.headers.vary, python.headers.vary, `${path}: Vary`);
    const pyCookie = String(python.headers['set-cookie'] ?? '');
    const goCookie = String(go.headers['set-cookie'] ?? '');
    t.match(goCookie, /^_csrf_token=\.[^;]+; Expires=[^;]+ GMT; HttpOnly; Path=\/; SameSite=Lax$/, `${path}: a permanent session, re-signed`);
    t.equal(
      goCookie.replace(/=[^;]+;/, '=…;').replace(/Expires=[^;]+/, 'Expires=…'),
      pyCookie.replace(/=[^;]+;/, '=…;').replace(/Expires=[^;]+/, 'Expires=…'),
      `${path}: same attributes`,
    );
    // The go side's refreshed cookie signs devtable in on Python.
    const again = await pair.call('python', '/api/v1/user/', 'anonymous', { headers: { cookie: goCookie.split(';')[0]! } });
    t.equal((again.body as { username?: string }).username, 'devtable', `${path}: Python takes the cookie the go side sent`);
  }
  const anon = await pair.callBoth('/api/v1/user/', 'anonymous');
  t.equal(anon.go.headers.vary, anon.python.headers.vary, 'anonymous: Vary');
  t.equal(anon.go.headers['set-cookie'], undefined);
  const token = await pair.callBoth('/api/v1/repository/devtable/simple', 'devtable-token');
  t.equal(token.go.headers.vary, token.python.headers.vary, 'token: no Vary');
  t.equal(token.go.headers['set-cookie'], token.python.headers['set-cookie'], 'token: no cookie');
});

t.test('page tokens: a listing continues on the other implementation with either one’s next_page', async (t) => {
  // 130 public repositories so the public listing has a second page (100 per page).
  const [ns] = await sql<{ id: number }>('SELECT id FROM "user" WHERE username = ?', ['public']);
  const [vis] = await sql<{ id: number }>("SELECT id FROM visibility WHERE name = 'public'");
  const [kind] = await sql<{ id: number }>("SELECT id FROM repositorykind WHERE name = 'image'");
  for (let i = 0; i < 130; i++) {
    await sql('INSERT INTO repository (namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      ns!.id,
      `paged${String(i).padStart(3, '0')}`,
      vis!.id,
      null,
      `badge${i}`,
      kind!.id,
      database === 'sqlite' ? 0 : false,
      0,
    ]);
  }
  const first = await pair.callBoth('/api/v1/repository?public=true&namespace=public', 'anonymous');
  const tokens = { python: (first.python.body as { next_page?: string }).next_page, go: (first.go.body as { next_page?: string }).next_page };
  t.ok(tokens.python && tokens.go, 'both sides give a next_page');
  for (const [made, token] of Object.entries(tokens)) {
    const next = await pair.callBoth(`/api/v1/repository?public=true&namespace=public&next_page=${encodeURIComponent(token!)}`, 'anonymous');
    t.equal(next.python.status, 200);
    t.same(next.go.body, next.python.body, `the second page from ${made}'s token is the same on both sides`);
    t.ok(((next.go.body as { repositories: unknown[] }).repositories ?? []).length > 0, 'and it is not empty');
  }
});
