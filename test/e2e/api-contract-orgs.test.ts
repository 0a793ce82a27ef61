/**
 * /api/v1 contract, organisations, teams, robots and permissions
 * (API_ORG_READ, API_TEAM_READ, API_PROXY_CACHE, API_ROBOT_READ,
 * API_PERMISSION_READ): real Quay and the go side on one database, the same
 * requests as the same identities, answers compared after the harness's
 * documented normalization (test/lib/api-contract.ts), key order included.
 * Runs on SQLite, and on PostgreSQL with API_CONTRACT_DB=postgres.
 */
import t from 'tap';
import { checkParity, diffJson, normalize, startApiPair, EVERYONE, pairSql } from '../lib/api-contract.js';

t.setTimeout(900_000);

const database = process.env.API_CONTRACT_DB === 'postgres' ? 'postgres' : 'sqlite';
const pair = await startApiPair(t, { database });

const sql = <R>(text: string, params: unknown[] = []): Promise<R[]> => pairSql<R>(pair.quay.database, text, params);

const ORG_PATHS = [
  '/api/v1/organization/buynlarge',
  '/api/v1/organization/library',
  '/api/v1/organization/sellnsmall',
  '/api/v1/organization/proxyorg',
  '/api/v1/organization/orgwithnosuperuser',
  '/api/v1/organization/nope',
  '/api/v1/organization/devtable',
  '/api/v1/organization/buynlarge/collaborators',
  '/api/v1/organization/devtable/collaborators',
  '/api/v1/organization/nope/collaborators',
  '/api/v1/organization/buynlarge/members',
  '/api/v1/organization/devtable/members',
  '/api/v1/organization/orgwithnosuperuser/members',
  '/api/v1/organization/buynlarge/members/devtable',
  '/api/v1/organization/buynlarge/members/reader',
  '/api/v1/organization/buynlarge/members/buynlarge+coolrobot',
  '/api/v1/organization/buynlarge/members/buynlarge+ownerbot',
  '/api/v1/organization/buynlarge/members/devtable+dtrobot',
  '/api/v1/organization/buynlarge/members/nobody',
  '/api/v1/organization/buynlarge/members/buynlarge',
  '/api/v1/organization/buynlarge/members/%C3%A9',
  '/api/v1/organization/devtable/members/devtable',
  '/api/v1/organization/devtable/members/devtable+dtrobot',
  '/api/v1/organization/nope/members/devtable',
];

const TEAM_PATHS = [
  '/api/v1/organization/buynlarge/team/owners/members',
  '/api/v1/organization/buynlarge/team/readers/members',
  '/api/v1/organization/buynlarge/team/readers/members?includePending=true',
  '/api/v1/organization/buynlarge/team/owners/members?includePending=1',
  '/api/v1/organization/buynlarge/team/owners/members?includePending=',
  '/api/v1/organization/buynlarge/team/nope/members',
  '/api/v1/organization/nope/team/owners/members',
  '/api/v1/organization/buynlarge/team/readers/permissions',
  '/api/v1/organization/buynlarge/team/owners/permissions',
  '/api/v1/organization/buynlarge/team/nope/permissions',
  '/api/v1/organization/buynlarge/proxycache',
  '/api/v1/organization/proxyorg/proxycache',
  '/api/v1/organization/devtable/proxycache',
  '/api/v1/organization/nope/proxycache',
];

const ROBOT_PATHS = [
  '/api/v1/organization/buynlarge/robots',
  '/api/v1/organization/buynlarge/robots?permissions=true',
  '/api/v1/organization/buynlarge/robots?token=false',
  '/api/v1/organization/buynlarge/robots?token=false&permissions=1',
  '/api/v1/organization/buynlarge/robots?limit=2',
  '/api/v1/organization/buynlarge/robots?limit=2&permissions=true',
  '/api/v1/organization/buynlarge/robots?limit=0',
  '/api/v1/organization/buynlarge/robots?limit=abc',
  '/api/v1/organization/devtable/robots',
  '/api/v1/organization/nope/robots',
  '/api/v1/organization/buynlarge/robots/coolrobot',
  '/api/v1/organization/buynlarge/robots/ownerbot',
  '/api/v1/organization/buynlarge/robots/nope',
  '/api/v1/organization/buynlarge/robots/%C3%A9',
  '/api/v1/organization/devtable/robots/dtrobot',
  '/api/v1/organization/nope/robots/x',
  '/api/v1/organization/buynlarge/robots/coolrobot/federation',
  '/api/v1/organization/buynlarge/robots/nope/federation',
  '/api/v1/organization/devtable/robots/dtrobot/federation',
  '/api/v1/organization/buynlarge/robots/coolrobot/permissions',
  '/api/v1/organization/buynlarge/robots/creatorbot/permissions',
  '/api/v1/organization/buynlarge/robots/nope/permissions',
  '/api/v1/organization/nope/robots/x/permissions',
  '/api/v1/user/robots',
  '/api/v1/user/robots?permissions=true',
  '/api/v1/user/robots?token=false',
  '/api/v1/user/robots?limit=1',
  '/api/v1/user/robots?limit=1&permissions=true',
  '/api/v1/user/robots?limit=x',
  '/api/v1/user/robots?limit=1_0',
  '/api/v1/user/robots/dtrobot',
  '/api/v1/user/robots/dtrobot2',
  '/api/v1/user/robots/nope',
  '/api/v1/user/robots/%C3%A9',
  '/api/v1/user/robots/anotherrobot',
  '/api/v1/user/robots/dtrobot/federation',
  '/api/v1/user/robots/nope/federation',
  '/api/v1/user/robots/dtrobot/permissions',
  '/api/v1/user/robots/dtrobot2/permissions',
  '/api/v1/user/robots/nope/permissions',
];

const PERMISSION_PATHS = [
  '/api/v1/organization/buynlarge/prototypes',
  '/api/v1/organization/nope/prototypes',
  '/api/v1/organization/devtable/prototypes',
  '/api/v1/organization/library/prototypes',
  '/api/v1/repository/devtable/simple/permissions/team/',
  '/api/v1/repository/buynlarge/orgrepo/permissions/team/',
  '/api/v1/repository/devtable/nope/permissions/team/',
  '/api/v1/repository/buynlarge/orgrepo/permissions/team/readers',
  '/api/v1/repository/buynlarge/orgrepo/permissions/team/owners',
  '/api/v1/repository/buynlarge/orgrepo/permissions/team/nope',
  '/api/v1/repository/devtable/simple/permissions/team/owners',
  '/api/v1/repository/devtable/simple/permissions/user/',
  '/api/v1/repository/buynlarge/orgrepo/permissions/user/',
  '/api/v1/repository/public/publicrepo/permissions/user/',
  '/api/v1/repository/devtable/complex/permissions/user/',
  '/api/v1/repository/devtable/simple/permissions/user/devtable',
  '/api/v1/repository/devtable/simple/permissions/user/public',
  '/api/v1/repository/devtable/simple/permissions/user/nosuchuser',
  '/api/v1/repository/buynlarge/orgrepo/permissions/user/devtable',
  '/api/v1/repository/buynlarge/orgrepo/permissions/user/reader',
  '/api/v1/repository/devtable/complex/permissions/user/devtable+dtrobot',
  '/api/v1/repository/devtable/simple/permissions/user/devtable/transitive',
  '/api/v1/repository/buynlarge/orgrepo/permissions/user/reader/transitive',
  '/api/v1/repository/buynlarge/orgrepo/permissions/user/devtable/transitive',
  '/api/v1/repository/buynlarge/orgrepo/permissions/user/public/transitive',
  '/api/v1/repository/buynlarge/orgrepo/permissions/user/nosuchuser/transitive',
  '/api/v1/repository/buynlarge/orgrepo/permissions/user/buynlarge/transitive',
  '/api/v1/repository/devtable/nope/permissions/user/devtable/transitive',
  '/api/v1/repository/devtable/complex/permissions/user/devtable+dtrobot/transitive',
];

t.test('organisations: views for admins, members, outsiders, anonymous; collaborators and members', async (t) => {
  await checkParity(t, pair, ORG_PATHS, EVERYONE);
});

t.test('teams and the proxy cache config', async (t) => {
  await checkParity(t, pair, TEAM_PATHS, EVERYONE);
});

t.test('robots: lists, one robot (decrypted token), federation, permissions; unknown robots are 400', async (t) => {
  await checkParity(t, pair, ROBOT_PATHS, EVERYONE);
});

t.test('permission prototypes and repository permissions', async (t) => {
  await checkParity(t, pair, PERMISSION_PATHS, EVERYONE);
});

// Quay builds an OAuth identity's grants on its first permission check; an empty scope set fails there
// (max() of nothing) and gunicorn answers its HTML 500, whether or not the token's user holds a role there.
t.test('an OAuth token with an empty scope set fails on the first permission check on both sides', async (t) => {
  await checkParity(
    t,
    pair,
    [
      '/api/v1/organization/buynlarge',
      '/api/v1/organization/orgwithnosuperuser',
      '/api/v1/organization/nope',
      '/api/v1/organization/buynlarge/members',
      '/api/v1/organization/orgwithnosuperuser/robots',
      '/api/v1/user/robots',
      '/api/v1/organization/buynlarge/robots/coolrobot/permissions',
      '/api/v1/repository/devtable/simple/permissions/user/',
    ],
    ['devtable-empty-scope'],
  );
});

t.test('stored data beyond initdb: federation config, JSON metadata with floats, last_accessed, e-mail invites', async (t) => {
  const yes = database === 'sqlite' ? 1 : true;
  await sql(`UPDATE federatedlogin SET metadata_json = ? WHERE user_id = (SELECT id FROM "user" WHERE username = 'buynlarge+coolrobot')`, [
    '{"federation_config": [{"issuer": "https://issuer.example", "subject": "sub"}], "x": 1.5}',
  ]);
  await sql(`UPDATE robotaccountmetadata SET description = ?, unstructured_json = ? WHERE robot_account_id = (SELECT id FROM "user" WHERE username = 'devtable+dtrobot')`, [
    'caf\u00e9 robot',
    '{"zeta": 1.0, "alpha": [1, 2.5e-07, "\u00e9"], "nested": {"b": null, "a": true}}',
  ]);
  await sql(`UPDATE "user" SET last_accessed = ? WHERE username = 'devtable+dtrobot2'`, ['2026-01-02 03:04:05.678901']);
  await sql(`UPDATE "user" SET last_accessed = ? WHERE username = 'buynlarge+ownerbot'`, ['2026-02-03 04:05:06']);
  await sql(
    `INSERT INTO teammemberinvite (user_id, email, team_id, inviter_id, invite_token)
     VALUES (NULL, 'someone@example.com', (SELECT t.id FROM team t JOIN "user" o ON o.id = t.organization_id WHERE o.username = 'buynlarge' AND t.name = 'readers'),
             (SELECT id FROM "user" WHERE username = 'devtable'), 'token-for-contract-test')`,
  );
  await sql(`UPDATE proxycacheconfig SET insecure = ? WHERE organization_id = (SELECT id FROM "user" WHERE username = 'proxyorg')`, [yes]);
  await checkParity(
    t,
    pair,
    [
      '/api/v1/organization/buynlarge/robots/coolrobot/federation',
      '/api/v1/user/robots/dtrobot',
      '/api/v1/user/robots',
      '/api/v1/user/robots?permissions=true',
      '/api/v1/user/robots?limit=1',
      '/api/v1/organization/buynlarge/robots',
      '/api/v1/organization/buynlarge/robots?permissions=true&limit=3',
      '/api/v1/organization/buynlarge/robots/ownerbot',
      '/api/v1/organization/buynlarge/team/readers/members?includePending=true',
      '/api/v1/organization/proxyorg/proxycache',
    ],
    ['devtable', 'reader', 'devtable-org-admin', 'devtable-user-read'],
  );
});

t.test('a robot without a metadata row: Quay creates it on GET, and so does the go side', async (t) => {
  const robotId = (await sql<{ id: number }>(`SELECT id FROM "user" WHERE username = 'buynlarge+creatorbot'`))[0]!.id;
  await sql('DELETE FROM robotaccountmetadata WHERE robot_account_id = ?', [robotId]);
  const path = '/api/v1/organization/buynlarge/robots/creatorbot';
  const go = await pair.call('go', path, 'devtable');
  t.equal(go.status, 200);
  const rows = await sql<{ description: string; unstructured_json: string }>('SELECT description, unstructured_json FROM robotaccountmetadata WHERE robot_account_id = ?', [
    robotId,
  ]);
  t.same(rows, [{ description: '', unstructured_json: '{}' }], 'the go side wrote the row Quay would have');
  const python = await pair.call('python', path, 'devtable');
  t.equal(python.status, 200);
  t.same(diffJson(normalize(python.body), normalize(go.body)), [], 'same answer');
  await sql('DELETE FROM robotaccountmetadata WHERE robot_account_id = ?', [robotId]);
  const py2 = await pair.call('python', path, 'devtable');
  const go2 = await pair.call('go', path, 'devtable');
  t.same(diffJson(normalize(py2.body), normalize(go2.body)), [], 'same answer after Quay created it');
  t.equal((await sql('SELECT id FROM robotaccountmetadata WHERE robot_account_id = ?', [robotId])).length, 1, 'one row');
});
