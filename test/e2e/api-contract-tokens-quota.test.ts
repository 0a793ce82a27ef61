/**
 * /api/v1 contract, batch 4 and the feature-off rows: app-specific tokens,
 * OAuth applications and authorizations, namespace quotas, and the 29 rows
 * whose FEATURE_ flag is off in the fixture. Real Quay and the go side on
 * one database; the same requests as the same identities; answers compared
 * after the harness's documented normalization (test/lib/api-contract.ts).
 * Runs on SQLite, and on PostgreSQL with API_CONTRACT_DB=postgres.
 *
 * Rows of data beyond initdb's are added first (tokens expiring soon or
 * expired, 55 tokens of one application for two pages, an assigned
 * authorization, a quota for devtable), so the views, filters and pagers
 * have something to show.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FlaskSessionCodec, taggedDate } from '../../api/auth/flask-session.js';
import {
  checkParity,
  diffJson,
  fernetPlaintext,
  keyOrderDiff,
  normalize,
  pythonSessionCookie,
  startApiPair,
  type Answer,
  type Asserts,
  type IdentityName,
  type KnownDifference,
  EVERYONE,
  pairSql,
} from '../lib/api-contract.js';

t.setTimeout(900_000);

const database = process.env.API_CONTRACT_DB === 'postgres' ? 'postgres' : 'sqlite';
const pair = await startApiPair(t, { database });
/** randomuser (owner of quota 2) signed in on Python. Gunicorn drops idle keep-alive connections after 2 s, so a pooled one may be dead: try again. */
async function signIn(user: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pythonSessionCookie(pair.urls.python, user);
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}
const randomuserCookie = await signIn('randomuser');

const sql = <R>(text: string, params: unknown[] = []): Promise<R[]> => pairSql<R>(pair.quay.database, text, params);

/** A naive-UTC timestamp as Quay's columns hold it, `ms` from now. */
const at = (ms: number, micros = true): string => {
  const iso = new Date(Date.now() + ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${micros ? `.${iso.slice(20, 23)}417` : ''}`;
};
const DAY = 86_400_000;
const bool = (v: boolean): unknown => (database === 'sqlite' ? (v ? 1 : 0) : v);
const name = (n: number): string => `${randomUUID().replace(/-/g, '')}${randomUUID().replace(/-/g, '')}`.slice(0, n);

const idOf = async (username: string): Promise<number> => (await sql<{ id: number }>('SELECT id FROM "user" WHERE username = ?', [username]))[0]!.id;
const devtable = await idOf('devtable');
const reader = await idOf('reader');

// App-specific tokens of devtable: one expiring within the 10% window of 4w, one later, one expired.
const [firstToken] = await sql<{ uuid: string; token_secret: string }>('SELECT uuid, token_secret FROM appspecificauthtoken WHERE user_id = ? ORDER BY id', [devtable]);
const appTokens: Record<'soon' | 'later' | 'expired', string> = { soon: randomUUID(), later: randomUUID(), expired: randomUUID() };
for (const [kind, uuid, expiration, lastAccessed] of [
  ['soon', appTokens.soon, at(DAY), at(-3600_000)],
  ['later', appTokens.later, at(10 * DAY), null],
  ['expired', appTokens.expired, at(-DAY), at(-2 * DAY, false)],
] as const) {
  await sql('INSERT INTO appspecificauthtoken (user_id, uuid, title, token_name, token_secret, created, expiration, last_accessed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
    devtable,
    uuid,
    `${kind} token é ✓`,
    name(60),
    firstToken!.token_secret,
    at(-5 * DAY),
    expiration,
    lastAccessed,
  ]);
}

// 55 tokens of application deadpork (two pages of 50), with and without names, dates and microseconds; one expired.
const [deadpork] = await sql<{ id: number }>("SELECT id FROM oauthapplication WHERE client_id = 'deadpork'");
for (let i = 0; i < 55; i++) {
  await sql(
    'INSERT INTO oauthaccesstoken (uuid, application_id, authorized_user_id, scope, display_name, token_name, token_code, token_type, expires_at, data, last_accessed, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      randomUUID(),
      deadpork!.id,
      i % 3 === 0 ? reader : devtable,
      ['repo:read', 'repo:admin,user:read', 'org:admin'][i % 3],
      i % 2 === 0 ? `token ${i}` : null,
      name(20),
      `$2b$12$${name(53)}`, // never checked: these tokens only get listed
      'Bearer',
      i === 7 ? at(-DAY) : at((i + 1) * DAY, i % 4 !== 0),
      '',
      i % 5 === 0 ? at(-i * 1000, false) : null,
      i % 11 === 0 ? null : at(-i * 60_000),
    ],
  );
}

// An authorization assigned to reader, and to devtable an assigned_authorization notification (UserAssignedAuthorizations.get deletes it).
await sql('INSERT INTO oauthassignedtoken (uuid, assigned_user_id, application_id, redirect_uri, scope, response_type) VALUES (?, ?, ?, ?, ?, ?)', [
  randomUUID(),
  reader,
  deadpork!.id,
  'http://localhost:8000/cb',
  'repo:read',
  'code',
]);
const [assignedKind] = await sql<{ id: number }>("SELECT id FROM notificationkind WHERE name = 'assigned_authorization'");
const addAssignedNotification = (): Promise<unknown> =>
  sql('INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed) VALUES (?, ?, ?, ?, ?, ?)', [
    randomUUID(),
    assignedKind!.id,
    devtable,
    '{}',
    at(0),
    bool(false),
  ]);
const assignedNotifications = async (): Promise<number> =>
  (await sql<{ n: number | string }>('SELECT COUNT(*) AS n FROM notification WHERE target_id = ? AND kind_id = ?', [devtable, assignedKind!.id])).map((r) => Number(r.n))[0]!;

// A quota for devtable with two limits (buynlarge's is quota 1, randomuser's quota 2 with a Reject limit).
await sql('INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES (?, ?)', [devtable, 1280]);
const [devQuota] = await sql<{ id: number }>('SELECT id FROM userorganizationquota WHERE namespace_id = ?', [devtable]);
const types = await sql<{ id: number; name: string }>('SELECT id, name FROM quotatype');
for (const [type, percent] of [
  ['Warning', 70],
  ['Reject', 95],
] as const)
  await sql('INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) VALUES (?, ?, ?)', [devQuota!.id, types.find((x) => x.name === type)!.id, percent]);
const [devLimit] = await sql<{ id: number }>('SELECT id FROM quotalimits WHERE quota_id = ? ORDER BY id', [devQuota!.id]);

// Sessions for randomuser (its own quota), and devtable sessions with a stale and a fresh login_time.
const secretKey = /^SECRET_KEY:\s*(\S+)\s*$/m.exec(readFileSync(pair.quay.configFile, 'utf8'))![1]!;
const codec = new FlaskSessionCodec(secretKey);
const devSession = codec.decode(pair.identities.devtable.secret!)!;
const staleCookie = codec.encode({ ...devSession, login_time: taggedDate(Date.now() - 3600_000) });
const freshCookie = codec.encode({ ...devSession, login_time: taggedDate(Date.now()) });

/** The empty-scope token: Quay raises on its first permission check (gunicorn's 500). */
const WITH_EMPTY: IdentityName[] = [...EVERYONE, 'devtable-empty-scope'];

t.test('app-specific tokens: the list, expiring ones, one token with its secret', async (t) => {
  await checkParity(
    t,
    pair,
    [
      '/api/v1/user/apptoken',
      '/api/v1/user/apptoken?expiring=true',
      '/api/v1/user/apptoken?expiring=false',
      '/api/v1/user/apptoken?expiring=',
      '/api/v1/user/apptoken?expiring=0&expiring=true',
      `/api/v1/user/apptoken/${firstToken!.uuid}`,
      `/api/v1/user/apptoken/${appTokens.soon}`,
      `/api/v1/user/apptoken/${appTokens.expired}`,
      '/api/v1/user/apptoken/nosuchuuid',
    ],
    WITH_EMPTY,
  );
  const list = await pair.call('go', '/api/v1/user/apptoken?expiring=true', 'devtable');
  t.same(
    (list.body as { tokens: { uuid: string }[] }).tokens.map((x) => x.uuid),
    [appTokens.soon],
    'only the token expiring within the window',
  );
});

t.test('app token: a stale session needs a fresh login; a fresh one gets the secret', async (t) => {
  const path = `/api/v1/user/apptoken/${firstToken!.uuid}`;
  await checkParity(t, pair, [path, '/api/v1/user/apptoken'], ['anonymous'], { headers: { cookie: `_csrf_token=${staleCookie}` } });
  const stale = await pair.callBoth(path, 'anonymous', { headers: { cookie: `_csrf_token=${staleCookie}` } });
  t.match(stale.go.body, { error_type: 'fresh_login_required', status: 401 }, 'stale login: 401 fresh_login_required');
  await checkParity(t, pair, [path], ['anonymous'], { headers: { cookie: `_csrf_token=${freshCookie}` } });
  const fresh = await pair.call('go', path, 'anonymous', { headers: { cookie: `_csrf_token=${freshCookie}` } });
  t.match(fresh.body, { token: { token_code: /^a{60}b{60}$/ } }, 'the decrypted secret follows the token name');
});

t.test('OAuth applications: public information, the organisation’s applications', async (t) => {
  await checkParity(
    t,
    pair,
    [
      '/api/v1/app/deadbeef',
      '/api/v1/app/deadpork',
      '/api/v1/app/nosuchapp',
      '/api/v1/organization/buynlarge/applications',
      '/api/v1/organization/devtable/applications',
      '/api/v1/organization/nosuchorg/applications',
      '/api/v1/organization/buynlarge/applications/deadbeef',
      '/api/v1/organization/buynlarge/applications/deadpork',
      '/api/v1/organization/buynlarge/applications/nosuchapp',
      '/api/v1/organization/sellnsmall/applications/deadbeef',
    ],
    WITH_EMPTY,
  );
});

t.test('OAuth application tokens: two pages, tokens from either side, bad tokens', async (t) => {
  const base = '/api/v1/organization/buynlarge/applications/deadpork/tokens';
  await checkParity(t, pair, [base, `${base}?next_page=garbage`, `${base}?next_page=`, '/api/v1/organization/buynlarge/applications/deadbeef/tokens'], WITH_EMPTY);
  const first = await pair.callBoth(base, 'devtable');
  const py = (first.python.body as { next_page?: string }).next_page;
  const go = (first.go.body as { next_page?: string }).next_page;
  t.ok(py && go, 'both answer a next page');
  t.equal(fernetPlaintext(go!), fernetPlaintext(py!), 'the same page position');
  t.equal((first.python.body as { tokens: unknown[] }).tokens.length, 50);
  // Each side continues from the other's token.
  for (const token of [py!, go!]) await checkParity(t, pair, [`${base}?next_page=${encodeURIComponent(token)}`], ['devtable', 'devtable-org-admin', 'reader']);
  const second = await pair.call('go', `${base}?next_page=${encodeURIComponent(py!)}`, 'devtable');
  t.equal((second.body as { tokens: unknown[] }).tokens.length, 4, '54 unexpired tokens: 4 on page two');
});

/**
 * Quay lists a token's scopes from a Python set: with several scopes the
 * order follows the string hashing of the Quay process (random per start),
 * so these views are compared with each `scopes` list sorted. The go side
 * keeps the scope string's order.
 */
function sortScopes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortScopes);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = k === 'scopes' && Array.isArray(x) ? [...(x as { scope: string }[])].sort((a, b) => a.scope.localeCompare(b.scope)) : sortScopes(x);
  }
  return out;
}

/**
 * On PostgreSQL the order of UserAuthorizationList's rows is the plan's for
 * Quay's unordered three-table join (it came back grouped by application);
 * the go side answers by token id. There the list is compared sorted by uuid.
 */
function sortAuthorizations(v: unknown): unknown {
  const list = (v as { authorizations?: { uuid: string }[] } | null)?.authorizations;
  if (database !== 'postgres' || !Array.isArray(list)) return v;
  return { ...(v as object), authorizations: [...list].sort((a, b) => a.uuid.localeCompare(b.uuid)) };
}

async function checkScopesParity(t: Asserts, path: string, ids: readonly IdentityName[]): Promise<void> {
  for (const id of ids) {
    const { python, go } = await pair.callBoth(path, id);
    const diffs = [
      ...(python.status !== go.status ? [`status: python ${python.status} ≠ go ${go.status}`] : []),
      ...(python.contentType !== go.contentType ? [`content-type: python ${python.contentType} ≠ go ${go.contentType}`] : []),
      ...diffJson(sortScopes(sortAuthorizations(normalize(python.body))), sortScopes(sortAuthorizations(normalize(go.body)))),
      ...keyOrderDiff(sortAuthorizations(python.body), sortAuthorizations(go.body)),
    ];
    t.same(diffs, [], `${path} as ${id}: ${python.status} (scopes compared as sets)`);
  }
}

t.test('the user’s authorizations (granted tokens)', async (t) => {
  const [tok] = await sql<{ uuid: string }>("SELECT uuid FROM oauthaccesstoken WHERE token_name = 'bbbbbbbbbbbbbbbbbbbb'");
  const [readerTok] = await sql<{ uuid: string }>('SELECT uuid FROM oauthaccesstoken WHERE authorized_user_id = ? ORDER BY id', [reader]);
  for (const path of [
    '/api/v1/user/authorizations',
    `/api/v1/user/authorizations/${tok!.uuid}`,
    `/api/v1/user/authorizations/${readerTok!.uuid}`,
    '/api/v1/user/authorizations/nosuchuuid',
  ])
    await checkScopesParity(t, path, WITH_EMPTY);
});

t.test('assigned authorizations: the list, and the GET deletes the notifications on both sides', async (t) => {
  await checkParity(t, pair, ['/api/v1/user/assignedauthorization'], WITH_EMPTY);
  for (const side of ['python', 'go'] as const) {
    await addAssignedNotification();
    await addAssignedNotification();
    t.equal(await assignedNotifications(), 2, `${side}: two notifications before`);
    const a = await pair.call(side, '/api/v1/user/assignedauthorization', 'devtable');
    t.equal(a.status, 200);
    t.equal(await assignedNotifications(), 0, `${side}: the GET deleted them`);
    await addAssignedNotification();
    t.equal((await pair.call(side, '/api/v1/user/assignedauthorization', 'reader')).status, 200);
    t.equal(await assignedNotifications(), 1, `${side}: another user's GET leaves devtable's`);
    await pair.call(side, '/api/v1/user/assignedauthorization', 'devtable-token');
    t.equal(await assignedNotifications(), 1, `${side}: a refused GET deletes nothing`);
    await pair.call(side, '/api/v1/user/assignedauthorization', 'devtable');
  }
});

t.test('organisation quotas and limits', async (t) => {
  await checkParity(
    t,
    pair,
    [
      '/api/v1/organization/buynlarge/quota',
      '/api/v1/organization/buynlarge/quota/1',
      '/api/v1/organization/buynlarge/quota/01',
      '/api/v1/organization/buynlarge/quota/1.0',
      '/api/v1/organization/buynlarge/quota/%EF%BC%91',
      '/api/v1/organization/buynlarge/quota/abc',
      '/api/v1/organization/buynlarge/quota/2',
      '/api/v1/organization/buynlarge/quota/1/limit',
      '/api/v1/organization/buynlarge/quota/2/limit',
      '/api/v1/organization/buynlarge/quota/1/limit/1',
      '/api/v1/organization/buynlarge/quota/1/limit/1.0',
      '/api/v1/organization/buynlarge/quota/1/limit/2',
      '/api/v1/organization/buynlarge/quota/1/limit/99',
      '/api/v1/organization/buynlarge/quota/1/limit/abc',
      '/api/v1/organization/devtable/quota',
      `/api/v1/organization/devtable/quota/${devQuota!.id}`,
      `/api/v1/organization/devtable/quota/${devQuota!.id}/limit/${devLimit!.id}`,
      '/api/v1/organization/nosuchorg/quota',
      '/api/v1/organization/sellnsmall/quota',
    ],
    WITH_EMPTY,
  );
  if (database === 'sqlite') await checkParity(t, pair, ['/api/v1/organization/buynlarge/quota/99999999999999999999'], ['devtable']);
});

t.test('the user’s quotas and limits', async (t) => {
  const q = devQuota!.id;
  const paths = [
    '/api/v1/user/quota',
    `/api/v1/user/quota/${q}`,
    `/api/v1/user/quota/${q}/limit`,
    `/api/v1/user/quota/${q}/limit/${devLimit!.id}`,
    `/api/v1/user/quota/${q}/limit/1`,
    `/api/v1/user/quota/${q}/limit/999`,
    '/api/v1/user/quota/1',
    '/api/v1/user/quota/2',
    '/api/v1/user/quota/2/limit/2',
    '/api/v1/user/quota/nope',
  ];
  await checkParity(t, pair, paths, WITH_EMPTY);
  // randomuser owns quota 2 (a Reject limit); its own namespace also answers under /organization/.
  await checkParity(t, pair, [...paths, '/api/v1/organization/randomuser/quota/2', '/api/v1/organization/randomuser/quota/2/limit/2'], ['anonymous'], {
    headers: { cookie: `_csrf_token=${randomuserCookie}` },
  });
});

t.test("quota sizes: bitmath's best prefix, rounded as Python rounds", async (t) => {
  for (const bytes of [0, 1, 1023, 1024, 1280, 1331, 2304, 3000, 1048575, 1048576, 1.25 * 2 ** 30, 2.75 * 2 ** 40, 3 * 2 ** 50, 2 ** 53]) {
    await sql('UPDATE userorganizationquota SET limit_bytes = ? WHERE id = ?', [bytes, devQuota!.id]);
    const { python, go } = await pair.callBoth(`/api/v1/user/quota/${devQuota!.id}`, 'devtable');
    t.equal(go.text, python.text, `${bytes} bytes: ${(python.body as { limit?: string }).limit}`);
  }
  await sql('UPDATE userorganizationquota SET limit_bytes = ? WHERE id = ?', [1280, devQuota!.id]);
});

/** The web UI page Quay answers a URL no rule matches, as the capture shows it. */
const webPage404 = (a: Answer): boolean => a.status === 404 && a.contentType.startsWith('text/html') && a.text.includes('window.__error_code = 404');

/**
 * Feature-off rows (BILLING, RH_MARKETPLACE, AUTO_PRUNE, IMMUTABLE_TAGS,
 * REPO_MIRROR, ORG_MIRROR, SECURITY_SCANNER): the resource is not
 * registered, so the request falls through as in Quay's Werkzeug. Those
 * under /repository/<ns>/<repo>/ without a trailing slash reach
 * Repository.get and are compared like any row.
 */
const FALL_THROUGH = [
  '/api/v1/repository/devtable/simple/autoprunepolicy/someuuid',
  '/api/v1/repository/devtable/simple/immutabilitypolicy/someuuid',
  '/api/v1/repository/devtable/simple/mirror',
  '/api/v1/repository/public/publicrepo/mirror',
  '/api/v1/repository/mirror/health',
  '/api/v1/repository/devtable/simple/manifest/sha256:ca525f90eb02983ac4625a5837817b14a88343e90d840c5b83bba5fd81f74021/security',
];
const NO_RULE_SLASH = [
  '/api/v1/plans/',
  '/api/v1/organization/buynlarge/autoprunepolicy/',
  '/api/v1/repository/devtable/simple/autoprunepolicy/',
  '/api/v1/user/autoprunepolicy/',
  '/api/v1/organization/buynlarge/immutabilitypolicy/',
  '/api/v1/repository/devtable/simple/immutabilitypolicy/',
];
const NO_RULE = [
  '/api/v1/organization/buynlarge/private',
  '/api/v1/organization/buynlarge/card',
  '/api/v1/organization/buynlarge/invoice/fields',
  '/api/v1/organization/buynlarge/invoices',
  '/api/v1/organization/buynlarge/plan',
  '/api/v1/organization/buynlarge/marketplace',
  '/api/v1/user/private',
  '/api/v1/user/card',
  '/api/v1/user/invoice/fields',
  '/api/v1/user/invoices',
  '/api/v1/user/plan',
  '/api/v1/user/marketplace',
  '/api/v1/organization/buynlarge/autoprunepolicy/someuuid',
  '/api/v1/user/autoprunepolicy/someuuid',
  '/api/v1/organization/buynlarge/immutabilitypolicy/someuuid',
  '/api/v1/superuser/mirror/health',
  '/api/v1/organization/buynlarge/mirror',
  '/api/v1/organization/buynlarge/mirror/repositories',
];

/**
 * Known difference, in the unmatched answer of the shared surface
 * (api/http/surface.ts), not in these rows: Quay's web blueprint answers
 * `/api/v1/...` URLs no API rule matches. (Those without a trailing slash
 * get Werkzeug's 308 to the path with one on both sides: compared.)
 */
const UNMATCHED_KNOWN: KnownDifference[] = [
  {
    path: /\/$/,
    reason: "a URL ending in '/' that no rule matches: Quay renders its web UI page (404, ~75 KB of HTML) from the web blueprint; the go side answers its own 404 page",
    occurs: (python, go) => webPage404(python) && go.status === 404 && !webPage404(go),
  },
];

t.test('feature-off rows: absent as in Quay, falling through to Repository.get or to no rule', async (t) => {
  const ids: IdentityName[] = ['anonymous', 'devtable', 'reader', 'devtable-token'];
  await checkParity(t, pair, FALL_THROUGH, ids);
  await checkParity(t, pair, [...NO_RULE_SLASH, ...NO_RULE], ids, { known: UNMATCHED_KNOWN });
});
