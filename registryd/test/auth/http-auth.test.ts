/**
 * registryd's auth over real HTTP, with Quay's semantics (quay-schema.md §1,
 * §2, §9): /v2/auth with user passwords, robots and app-specific tokens,
 * down-scoping and creation on push, bearer-token validation on every
 * repository route, the challenges that tell a client what to ask for, no
 * difference between a private and a missing repository, `_catalog`
 * filtering, and the anonymous mode where everything is open.
 *
 * Users, robots, orgs, teams and permissions are written through
 * reg.authStore, as the quay CLI does. Timings are never asserted.
 */
import t, { type Test } from 'tap';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import type Database from 'better-sqlite3';
import { imageManifest, sha256, startTestRegistry, type TestRegistry } from '../lib/server.js';
import { hashPassword } from '../../../lib/passwords/passwords.js';
import { FieldEncrypter } from '../../../domain/auth/field-crypto.js';
import { mintToken, type AccessEntry } from '../../auth/tokens.js';
import type { AuthSettings } from '../../auth/auth-service.js';
import type { Reply } from '../../../test/lib/proc.js';

const HOST = 'registry.test:5000';
const REALM = `http://${HOST}/v2/auth`;
const SECRET = 'some-secret';
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const enc = new FieldEncrypter(SECRET);

const PASSWORDS: Record<string, string> = {
  alice: 'alice-password',
  bob: 'bob-password',
  dave: 'dave-password',
  erin: 'erin-password',
  frank: 'frank-password',
  grace: 'grace-password',
  heidi: 'heidi-password',
  ivan: 'ivan-password',
  judy: 'judy-password',
};
const ROBOT_TOKENS: Record<string, string> = {
  'bob+ci': 'BOBCI0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv',
  'alice+reader': 'ALICEREADER0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop',
};
/** An app-specific token is a 60-character public prefix (`token_name`) and a 60-character secret. */
const APP_PREFIX = 'prefix0123456789abcdefghijklmnopqrstuvwxyz'.padEnd(60, 'P');
const APP_SECRET = 'secret0123456789abcdefghijklmnopqrstuvwxyz'.padEnd(60, 'S');
const EXPIRED_APP_PREFIX = 'E'.repeat(60);
/** Every secret that must never appear in a response. */
const SECRETS = [SECRET, ...Object.values(PASSWORDS), ...Object.values(ROBOT_TOKENS), APP_PREFIX + APP_SECRET, APP_SECRET];

// ------------------------------------------------------------------ helpers

const basic = (user: string, secret: string): string => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const bearer = (token: string): string => `Bearer ${token}`;
const userAuth = (u: string): string => basic(u, PASSWORDS[u]!);

function authPath(scopes: readonly string[], service: string | null = HOST): string {
  const q = new URLSearchParams();
  if (service !== null) q.set('service', service);
  for (const s of scopes) q.append('scope', s);
  return `/v2/auth?${q.toString()}`;
}

/** GET /v2/auth; the raw reply. */
function askToken(r: TestRegistry, authorization: string | null, scopes: readonly string[], service: string | null = HOST): Promise<Reply> {
  return r.req({ path: authPath(scopes, service), headers: authorization ? { authorization } : {} });
}

interface Claims {
  iss: string;
  aud: string | null;
  sub: string;
  iat: number;
  nbf: number;
  exp: number;
  access: AccessEntry[];
  context: Record<string, any>;
}

/** A token that must be issued (200); its claims. */
async function token(r: TestRegistry, authorization: string | null, scopes: readonly string[], service: string | null = HOST): Promise<{ jwt: string; claims: Claims }> {
  const res = await askToken(r, authorization, scopes, service);
  if (res.status !== 200) throw new Error(`/v2/auth ${scopes.join(' ')}: ${res.status} ${res.text()}`);
  const jwt = res.json().token as string;
  return { jwt, claims: decodeJwt(jwt) as unknown as Claims };
}

/** The actions granted for one scope (sorted, so order never matters). */
async function granted(r: TestRegistry, authorization: string | null, scope: string): Promise<string[]> {
  const { claims } = await token(r, authorization, [scope]);
  if (claims.access.length !== 1) throw new Error(`expected one access entry, got ${JSON.stringify(claims.access)}`);
  return [...claims.access[0]!.actions].sort();
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
function challenge(res: Reply): Record<string, string> {
  const h = res.header('www-authenticate');
  const m = /^Bearer (.*)$/.exec(h);
  if (!m) return { raw: h };
  const out: Record<string, string> = {};
  for (const p of m[1]!.matchAll(/(\w+)="([^"]*)"/g)) out[p[1]!] = p[2]!;
  return out;
}

/** An OCI error envelope with exactly one error of `code`, nothing internal and no secret in it. */
function envelope(t: Test, res: Reply, status: number, code: string, also: readonly string[] = []): { code: string; message: string; detail: unknown } {
  t.equal(res.status, status, `status ${status}`);
  t.match(res.header('content-type'), /^application\/json/, 'JSON body');
  const body = res.json();
  t.same(Object.keys(body), ['errors'], 'only "errors" at the top');
  t.equal(body.errors.length, 1, 'one error');
  const e = body.errors[0];
  t.same(Object.keys(e).sort(), ['code', 'detail', 'message'], 'code, message, detail only');
  t.equal(e.code, code, `code ${code}`);
  const text = res.text();
  t.notMatch(text, /\bat [\w.<>]+ \(|node:internal|\/work\/|\/tmp\/|\.ts:\d|SQLITE|sqlite|Traceback|TypeError|ReferenceError/, 'no stack, path or database text');
  for (const s of [...SECRETS, ...also]) t.notOk(text.includes(s), 'no secret or token echoed');
  return e;
}

/**
 * A refused bearer token on a /v2 route: Quay's util/http.py abort(401) body
 * `{"error": <reason>}` as text/html (not the OCI envelope), nothing internal or secret in it.
 */
function aborted(t: Test, res: Reply, also: readonly string[]): { message: string } {
  t.equal(res.status, 401, 'status 401');
  t.match(res.header('content-type'), /^text\/html/, "Quay's abort body is text/html");
  const body = JSON.parse(res.text()) as { error: string };
  t.same(Object.keys(body), ['error'], 'only "error"');
  const text = res.text();
  t.notMatch(text, /\bat [\w.<>]+ \(|node:internal|\/work\/|\/tmp\/|\.ts:\d|SQLITE|sqlite|Traceback|TypeError|ReferenceError/, 'no stack, path or database text');
  for (const s of [...SECRETS, ...also]) t.notOk(text.includes(s), 'no secret or token echoed');
  return { message: body.error };
}

/** 401 with a challenge for `repository` and `actions` (none: a challenge without scope). */
function unauthorized(t: Test, res: Reply, repository?: string, actions?: string, also: readonly string[] = []): { message: string } {
  // A bearer token refused before any route logic gets Quay's abort body; every other 401 the OCI envelope.
  const e = /^text\/html/.test(res.header('content-type')) ? aborted(t, res, also) : envelope(t, res, 401, 'UNAUTHORIZED', also);
  const c = challenge(res);
  t.equal(c.realm, REALM, 'challenge realm');
  t.equal(c.service, HOST, 'challenge service');
  if (repository) t.equal(c.scope, `repository:${repository}:${actions}`, 'challenge scope');
  else t.equal(c.scope, undefined, 'challenge has no scope');
  return e;
}

function dbOf(r: TestRegistry): Database.Database {
  return (r.reg.store as unknown as { db: Database.Database }).db;
}

function repoRow(r: TestRegistry, ns: string, name: string): { id: number; visibility: string } | undefined {
  return dbOf(r)
    .prepare(
      `SELECT r.id, v.name AS visibility FROM repository r JOIN "user" u ON u.id = r.namespace_user_id
    JOIN visibility v ON v.id = r.visibility_id WHERE u.username = ? AND r.name = ?`,
    )
    .get(ns, name) as { id: number; visibility: string } | undefined;
}

function userPermission(r: TestRegistry, repoId: number, username: string): string | undefined {
  return (
    dbOf(r)
      .prepare(
        `SELECT ro.name FROM repositorypermission p JOIN role ro ON ro.id = p.role_id JOIN "user" u ON u.id = p.user_id
    WHERE p.repository_id = ? AND u.username = ?`,
      )
      .get(repoId, username) as { name: string } | undefined
  )?.name;
}

function settings(extra: Partial<AuthSettings> = {}): { auth: Partial<AuthSettings> } {
  return { auth: { mode: 'database', serverHostname: HOST, databaseSecretKey: SECRET, ...extra } };
}

/** Users with their passwords, robots with their tokens. */
async function seedUsers(r: TestRegistry, names: readonly string[]): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const n of names) {
    const u = await r.reg.authStore.createUser({ username: n, email: `${n}@example.com`, passwordHash: await hashPassword(PASSWORDS[n]!, 4), verified: true }, Date.now());
    ids[n] = u.id;
  }
  return ids;
}

async function repo(r: TestRegistry, ns: string, name: string, visibility: 'public' | 'private'): Promise<number> {
  return (await r.reg.store.createRepository(ns, name, visibility, Date.now())).id;
}

/** Push a blob monolithically with a bearer token; the reply. */
function postBlob(r: TestRegistry, repository: string, data: Buffer, authorization?: string): Promise<Reply> {
  return r.req({
    method: 'POST',
    path: `/v2/${repository}/blobs/uploads/?digest=${sha256(data)}`,
    body: data,
    headers: { 'content-type': 'application/octet-stream', ...(authorization ? { authorization } : {}) },
  });
}

// ------------------------------------------------------------------ the database-mode registry and its fixtures

const r = await startTestRegistry(t, settings());
const ids = await seedUsers(r, ['alice', 'bob', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']);
const store = r.reg.authStore;
const now = Date.now();

const alicePrivate = await repo(r, 'alice', 'private', 'private');
await repo(r, 'alice', 'public', 'public');
await repo(r, 'alice', 'src', 'private');
const bobPrivate = await repo(r, 'bob', 'private', 'private');
await repo(r, 'bob', 'public', 'public');
const bobShared = await repo(r, 'bob', 'shared', 'private');
await store.setRepositoryPermission(bobShared, { userId: ids.alice! }, 'read');

// Robots: bob+ci reads bob/private; alice+reader reads alice/private.
const bobCi = await store.createRobot('bob+ci', enc.encrypt(ROBOT_TOKENS['bob+ci']!), 'ci', now);
await store.setRepositoryPermission(bobPrivate, { userId: bobCi.id }, 'read');
const aliceReader = await store.createRobot('alice+reader', enc.encrypt(ROBOT_TOKENS['alice+reader']!), 'reader', now);
await store.setRepositoryPermission(alicePrivate, { userId: aliceReader.id }, 'read');

// App-specific tokens of alice: one live, one expired.
const appUuid = randomUUID();
await store.createAppToken(ids.alice!, { uuid: appUuid, title: 'laptop', prefix: APP_PREFIX, encryptedSecret: enc.encrypt(APP_SECRET), expirationMs: null }, now);
await store.createAppToken(ids.alice!, { uuid: randomUUID(), title: 'old', prefix: EXPIRED_APP_PREFIX, encryptedSecret: enc.encrypt(APP_SECRET), expirationMs: now - 60_000 }, now);

// Organisation acme (created by erin, who lands in its owners team) with teams of every role.
const acme = await store.createOrganization('acme', 'acme@example.com', ids.erin!, now);
const acmeApp = await repo(r, 'acme', 'app', 'private');
await repo(r, 'acme', 'other', 'private');
const admins = await store.createTeam(acme.id, 'admins', 'admin');
await store.addTeamMember(admins, ids.frank!);
const devs = await store.createTeam(acme.id, 'devs', 'member');
await store.addTeamMember(devs, ids.grace!);
await store.setRepositoryPermission(acmeApp, { teamId: devs }, 'write');
const viewers = await store.createTeam(acme.id, 'viewers', 'member');
await store.addTeamMember(viewers, ids.heidi!);
await store.setRepositoryPermission(acmeApp, { teamId: viewers }, 'read');
const creators = await store.createTeam(acme.id, 'creators', 'creator');
await store.addTeamMember(creators, ids.ivan!);

// ------------------------------------------------------------------ GET /v2/

t.test('GET /v2/: 401 with a challenge without credentials, 200 with a valid token', async (t) => {
  // Quay's v2_support_enabled: the body is `true` both ways, and the challenge rides on both.
  const anon = await r.req({ path: '/v2/' });
  t.equal(anon.status, 401);
  t.equal(anon.text(), 'true');
  t.same(challenge(anon), { realm: REALM, service: HOST });
  const { jwt } = await token(r, userAuth('alice'), []);
  const ok = await r.req({ path: '/v2/', headers: { authorization: bearer(jwt) } });
  t.equal(ok.status, 200);
  t.equal(ok.text(), 'true');
  t.same(challenge(ok), { realm: REALM, service: HOST }, 'the challenge is sent with the 200 too');
  const anonToken = await token(r, null, ['repository:alice/public:pull']);
  t.equal((await r.req({ path: '/v2/', headers: { authorization: bearer(anonToken.jwt) } })).status, 200, 'an anonymous token is a valid token too');
  const garbage = await r.req({ path: '/v2/', headers: { authorization: bearer('not.a.jwt') } });
  unauthorized(t, garbage, undefined, undefined, ['not.a.jwt']);
  const basicOnBase = await r.req({ path: '/v2/', headers: { authorization: userAuth('alice') } });
  unauthorized(t, basicOnBase);
});

// ------------------------------------------------------------------ /v2/auth: credentials

t.test("/v2/auth: a user with the right password gets a token with Quay's claims", async (t) => {
  const res = await askToken(r, userAuth('alice'), ['repository:alice/private:pull']);
  t.equal(res.status, 200);
  t.match(res.header('cache-control'), /no-store/);
  const jwt = res.json().token as string;
  const header = decodeProtectedHeader(jwt);
  t.equal(header.alg, 'RS256');
  t.equal(header.kid, r.reg.instanceKey.kid);
  const c = decodeJwt(jwt) as unknown as Claims;
  t.equal(c.iss, 'quay');
  t.equal(c.aud, HOST);
  t.equal(c.sub, 'alice');
  t.equal(c.exp - c.iat, 3600);
  t.equal(c.nbf, c.iat);
  t.same(c.access, [{ type: 'repository', name: 'alice/private', actions: ['pull'] }]);
  t.equal(c.context.version, 2);
  t.equal(c.context.entity_kind, 'user');
  t.equal(c.context.entity_reference, (await store.userByName('alice'))!.uuid);
  t.equal(c.context['com.apostille.root'], '$disabled');
});

t.test('/v2/auth: a wrong password and an unknown user answer the same 401', async (t) => {
  const wrong = await askToken(r, basic('dave', 'not-the-password'), ['repository:dave/x:pull']);
  const wrongErr = unauthorized(t, wrong, undefined, undefined, ['not-the-password']);
  const unknown = await askToken(r, basic('nobody', 'whatever-pw'), ['repository:dave/x:pull']);
  const unknownErr = unauthorized(t, unknown, undefined, undefined, ['whatever-pw']);
  t.equal(wrongErr.message, 'Invalid Username or Password');
  t.equal(unknownErr.message, wrongErr.message, 'nothing tells an unknown user from a wrong password');
  t.same(unknown.json(), wrong.json(), 'identical bodies');
  // An organisation and a robot cannot log in with a password either.
  const org = await askToken(r, basic('acme', 'anything'), []);
  t.equal(unauthorized(t, org).message, wrongErr.message, 'an organisation name gets the same answer');
  const malformed = await r.req({ path: authPath([]), headers: { authorization: 'Basic !!!notbase64' } });
  t.equal(malformed.status, 401, 'malformed Basic header');
});

t.test('/v2/auth: a disabled user cannot log in even with the right password', async (t) => {
  dbOf(r).prepare('UPDATE "user" SET enabled = 0 WHERE username = ?').run('judy');
  const res = await askToken(r, userAuth('judy'), []);
  t.match(unauthorized(t, res).message, /disabled/);
});

t.test('/v2/auth: robots', async (t) => {
  t.same(await granted(r, basic('bob+ci', ROBOT_TOKENS['bob+ci']!), 'repository:bob/private:pull'), ['pull'], 'a robot with its token pulls what it may read');
  const { claims } = await token(r, basic('bob+ci', ROBOT_TOKENS['bob+ci']!), ['repository:bob/private:pull']);
  t.equal(claims.sub, 'bob+ci');
  t.equal(claims.context.entity_kind, 'robot');
  t.equal(claims.context.entity_reference, 'bob+ci');

  const wrong = await askToken(r, basic('bob+ci', 'WRONG' + ROBOT_TOKENS['bob+ci']!.slice(5)), ['repository:bob/private:pull']);
  const msg = unauthorized(t, wrong).message;
  t.equal(msg, 'Could not find robot with username: bob+ci and supplied password.');
  const unknown = await askToken(r, basic('bob+nope', ROBOT_TOKENS['bob+ci']!), ['repository:bob/private:pull']);
  t.equal(unauthorized(t, unknown).message, 'Could not find robot with username: bob+nope and supplied password.', 'unknown robot: same message shape');
  const otherRobotsToken = await askToken(r, basic('bob+ci', ROBOT_TOKENS['alice+reader']!), ['repository:bob/private:pull']);
  unauthorized(t, otherRobotsToken);

  // bob+ci's correct token, on a repository of another namespace it has no permission on: down-scoped to nothing.
  t.same(await granted(r, basic('bob+ci', ROBOT_TOKENS['bob+ci']!), 'repository:alice/private:push,pull'), [], 'robot of another namespace: no access');
  t.same(await granted(r, basic('bob+ci', ROBOT_TOKENS['bob+ci']!), 'repository:bob/public:push'), [], 'read permission never gives push');
  t.same(await granted(r, basic('alice+reader', ROBOT_TOKENS['alice+reader']!), 'repository:alice/private:pull'), ['pull']);
  t.same(
    await granted(r, basic('alice+reader', ROBOT_TOKENS['alice+reader']!), 'repository:alice/src:pull'),
    [],
    "a robot only gets what it was granted, not its owner's repositories",
  );
});

t.test('/v2/auth: $app app-specific tokens', async (t) => {
  const good = basic('$app', APP_PREFIX + APP_SECRET);
  t.same(await granted(r, good, 'repository:alice/private:push,pull'), ['pull', 'push'], 'an app token acts as its user');
  const { claims } = await token(r, good, ['repository:alice/private:pull']);
  t.equal(claims.sub, 'alice');
  t.equal(claims.context.entity_kind, 'appspecifictoken');
  t.equal(claims.context.entity_reference, appUuid);

  const wrongSuffix = await askToken(r, basic('$app', APP_PREFIX + 'X' + APP_SECRET.slice(1)), ['repository:alice/private:pull']);
  t.equal(unauthorized(t, wrongSuffix).message, 'Invalid token');
  const unknownPrefix = await askToken(r, basic('$app', 'Z'.repeat(60) + APP_SECRET), ['repository:alice/private:pull']);
  t.equal(unauthorized(t, unknownPrefix).message, 'Invalid token');
  const short = await askToken(r, basic('$app', 'short'), ['repository:alice/private:pull']);
  t.equal(unauthorized(t, short).message, 'Invalid token');
  const expired = await askToken(r, basic('$app', EXPIRED_APP_PREFIX + APP_SECRET), ['repository:alice/private:pull']);
  t.equal(unauthorized(t, expired).message, 'Invalid token', 'an expired app token no longer works');
});

t.test('/v2/auth: anonymous requests', async (t) => {
  const none = await askToken(r, null, []);
  unauthorized(t, none);
  const emptyScope = await askToken(r, null, ['']);
  unauthorized(t, emptyScope);

  const pub = await token(r, null, ['repository:alice/public:pull']);
  t.same(pub.claims.access, [{ type: 'repository', name: 'alice/public', actions: ['pull'] }], 'anonymous pull of a public repository');
  t.equal(pub.claims.sub, '(anonymous)');
  t.notOk('entity_kind' in pub.claims.context, 'no auth context: as Quay, only the content-trust fields');
  t.same(await granted(r, null, 'repository:alice/public:push,pull'), ['pull'], 'anonymous never pushes');
  t.same(await granted(r, null, 'repository:alice/private:pull'), [], 'a private repository: nothing, but no error');
  t.same(await granted(r, null, 'repository:alice/missing:pull'), [], 'a missing repository: the same');
});

t.test('/v2/auth: down-scoping, never an error', async (t) => {
  t.same(await granted(r, userAuth('bob'), 'repository:alice/private:push,pull'), [], "someone else's private repository: []");
  t.same(await granted(r, userAuth('bob'), 'repository:alice/missing:push,pull'), [], "someone else's missing repository: [] (and not created)");
  t.equal(repoRow(r, 'alice', 'missing'), undefined);
  t.same(await granted(r, userAuth('bob'), 'repository:alice/public:push,pull'), ['pull'], "someone else's public repository: pull only");
  t.same(await granted(r, userAuth('alice'), 'repository:bob/shared:push,pull'), ['pull'], 'read permission: pull only');
  t.same(await granted(r, userAuth('alice'), 'repository:alice/private:push,pull,*'), ['*', 'pull', 'push'], 'own namespace: everything');
  t.same(await granted(r, userAuth('bob'), 'repository:alice/public:*'), [], '* needs admin');

  const multi = await token(r, userAuth('alice'), ['repository:alice/private:pull', 'repository:bob/private:pull', 'repository:bob/shared:pull']);
  t.same(
    multi.claims.access.map((a) => [a.name, a.actions]),
    [
      ['alice/private', ['pull']],
      ['bob/private', []],
      ['bob/shared', ['pull']],
    ],
    'one entry per scope, each down-scoped',
  );
});

t.test("/v2/auth: push on a missing repository in one's own namespace creates it, private, creator admin", async (t) => {
  t.equal(repoRow(r, 'alice', 'created'), undefined);
  t.same(await granted(r, userAuth('alice'), 'repository:alice/created:push,pull'), ['pull', 'push']);
  const row = repoRow(r, 'alice', 'created');
  t.ok(row, 'repository created by the token request');
  t.equal(row?.visibility, 'private');
  t.equal(userPermission(r, row!.id, 'alice'), 'admin', 'creator gets an admin repositorypermission');
  t.same(await granted(r, userAuth('bob'), 'repository:alice/created:pull'), [], 'and it is private');
  // A pull-only request never creates anything. (Pull is granted all the same, as in Quay: a
  // user holds read on every name in their own namespace, existing or not.)
  t.same(await granted(r, userAuth('alice'), 'repository:alice/pullonly:pull'), ['pull']);
  t.equal(repoRow(r, 'alice', 'pullonly'), undefined);
});

t.test('/v2/auth: push in a missing namespace without CREATE_NAMESPACE_ON_PUSH gives nothing', async (t) => {
  t.same(await granted(r, userAuth('alice'), 'repository:ghostns/app:push,pull'), []);
  t.equal(await store.userByName('ghostns'), null, 'no namespace made');
  t.equal(repoRow(r, 'ghostns', 'app'), undefined, 'no repository made');
});

t.test('/v2/auth: organisation teams', async (t) => {
  t.same(await granted(r, userAuth('frank'), 'repository:acme/app:push,pull'), ['pull', 'push'], 'team role admin: push on every repository');
  t.same(await granted(r, userAuth('frank'), 'repository:acme/other:push,pull'), ['pull', 'push'], 'team role admin: every repository of the org');
  t.same(await granted(r, userAuth('erin'), 'repository:acme/other:push,pull'), ['pull', 'push'], 'the creator is in owners');
  t.same(await granted(r, userAuth('grace'), 'repository:acme/app:push,pull'), ['pull', 'push'], 'member team with write on the repository: push');
  t.same(await granted(r, userAuth('grace'), 'repository:acme/other:push,pull'), [], 'member team: nothing without a permission');
  t.same(await granted(r, userAuth('heidi'), 'repository:acme/app:push,pull'), ['pull'], 'member team with read: pull only');
  // Creating repositories in an org: admins and creators may, members may not.
  t.same(await granted(r, userAuth('grace'), 'repository:acme/by-member:push,pull'), [], 'a member cannot create');
  t.equal(repoRow(r, 'acme', 'by-member'), undefined);
  t.same(await granted(r, userAuth('ivan'), 'repository:acme/by-creator:push,pull'), ['pull', 'push'], 'a creator can');
  const made = repoRow(r, 'acme', 'by-creator');
  t.equal(made?.visibility, 'private');
  t.equal(userPermission(r, made!.id, 'ivan'), 'admin');
  t.same(await granted(r, userAuth('heidi'), 'repository:acme/by-creator:pull'), [], 'not visible to other members');
});

t.test('/v2/auth: an invalid scope is 400 INVALID_REQUEST', async (t) => {
  for (const scope of ['repository:alice/private:delete', 'registry:catalog:*', 'repository:alice/private', 'repository::pull', 'repository:Alice/UPPER:pull/../x']) {
    const res = await askToken(r, userAuth('alice'), [scope]);
    envelope(t, res, 400, 'INVALID_REQUEST');
  }
});

// ------------------------------------------------------------------ bearer tokens on registry routes

t.test('registry routes: a valid token works (control for what follows)', async (t) => {
  const { jwt } = await token(r, userAuth('alice'), ['repository:alice/private:pull']);
  const res = await r.req({ path: '/v2/alice/private/tags/list', headers: { authorization: bearer(jwt) } });
  t.equal(res.status, 200);
  t.same(res.json(), { name: 'alice/private', tags: [] });
  const minted = await mintToken(r.reg.instanceKey, {
    audience: HOST,
    subject: 'alice',
    access: [{ type: 'repository', name: 'alice/private', actions: ['pull'] }],
    context: {},
    nowMs: Date.now(),
  });
  t.equal((await r.req({ path: '/v2/alice/private/tags/list', headers: { authorization: bearer(minted) } })).status, 200, 'mintToken now: accepted');
});

t.test('registry routes: tampered, expired, too long-lived, unknown-kid and wrong-audience tokens are 401', async (t) => {
  const path = '/v2/alice/private/tags/list';
  const access: AccessEntry[] = [{ type: 'repository', name: 'alice/private', actions: ['pull'] }];
  const { jwt } = await token(r, userAuth('alice'), ['repository:alice/private:pull']);
  const [h, p, s] = jwt.split('.') as [string, string, string];

  // One character of the signature changed (in the middle: the last one may only carry padding bits).
  const i = Math.floor(s.length / 2);
  const tampered = `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(tampered) } }), 'alice/private', 'pull', [tampered]);

  // The claims changed to ask for more, the signature kept.
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  payload.access = [{ type: 'repository', name: 'alice/private', actions: ['push', 'pull'] }];
  const escalated = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
  const upload = await r.req({ method: 'POST', path: '/v2/alice/private/blobs/uploads/', headers: { authorization: bearer(escalated) } });
  unauthorized(t, upload, 'alice/private', 'pull,push', [escalated]);

  // Expired: minted two hours ago, so it ran out an hour ago.
  const expired = await mintToken(r.reg.instanceKey, { audience: HOST, subject: 'alice', access, context: {}, nowMs: Date.now() - 2 * 3600_000 });
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(expired) } }), 'alice/private', 'pull', [expired]);

  const nowS = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>, key = r.reg.instanceKey.privateKey, kid: string | null = r.reg.instanceKey.kid): Promise<string> =>
    new SignJWT({ iss: 'quay', aud: HOST, sub: 'alice', access, context: {}, iat: nowS, nbf: nowS, exp: nowS + 3600, ...claims })
      .setProtectedHeader(kid === null ? { alg: 'RS256' } : { alg: 'RS256', kid })
      .sign(key);

  t.equal((await r.req({ path, headers: { authorization: bearer(await sign({})) } })).status, 200, "self-signed with the instance key and Quay's claims: accepted");
  const tooLong = await sign({ exp: nowS + 7200 });
  const longRes = await r.req({ path, headers: { authorization: bearer(tooLong) } });
  unauthorized(t, longRes, 'alice/private', 'pull', [tooLong]);
  const atLimit = await sign({ exp: nowS + 3660 });
  t.equal((await r.req({ path, headers: { authorization: bearer(atLimit) } })).status, 200, 'exactly REGISTRY_JWT_AUTH_MAX_FRESH_S: accepted');
  const future = await sign({ iat: nowS + 600, nbf: nowS, exp: nowS + 1200 });
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(future) } }), 'alice/private', 'pull');
  const wrongIssuer = await sign({ iss: 'not-quay' });
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(wrongIssuer) } }), 'alice/private', 'pull');
  const noKid = await sign({}, r.reg.instanceKey.privateKey, null);
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(noKid) } }), 'alice/private', 'pull');

  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const unknownKid = await sign({}, stranger, 'some-unknown-kid');
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(unknownKid) } }), 'alice/private', 'pull', [unknownKid]);
  const stolenKid = await sign({}, stranger, r.reg.instanceKey.kid);
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(stolenKid) } }), 'alice/private', 'pull', [stolenKid]);
  const hs = await new SignJWT({ iss: 'quay', aud: HOST, sub: 'alice', access, iat: nowS, exp: nowS + 3600 })
    .setProtectedHeader({ alg: 'HS256', kid: r.reg.instanceKey.kid })
    .sign(Buffer.from(SECRET));
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(hs) } }), 'alice/private', 'pull');

  // Requested for another service: its aud is not SERVER_HOSTNAME.
  const other = await token(r, userAuth('alice'), ['repository:alice/private:pull'], 'other');
  t.equal(other.claims.aud, 'other');
  t.same(other.claims.access[0]!.actions, ['pull'], 'issued all the same');
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(other.jwt) } }), 'alice/private', 'pull', [other.jwt]);
  const noService = await token(r, userAuth('alice'), ['repository:alice/private:pull'], null);
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(noService.jwt) } }), 'alice/private', 'pull');

  const basicOnRepo = await r.req({ path, headers: { authorization: userAuth('alice') } });
  unauthorized(t, basicOnRepo, 'alice/private', 'pull');

  // An invalid token is refused even where anonymous access would do.
  unauthorized(t, await r.req({ path: '/v2/alice/public/tags/list', headers: { authorization: bearer(tampered) } }), 'alice/public', 'pull');
});

t.test('registry routes: a token only opens the repositories and actions it names', async (t) => {
  const { jwt } = await token(r, userAuth('alice'), ['repository:alice/private:pull']);
  const onB = await r.req({ path: '/v2/alice/src/tags/list', headers: { authorization: bearer(jwt) } });
  unauthorized(t, onB, 'alice/src', 'pull', [jwt]);
  const push = await r.req({ method: 'POST', path: '/v2/alice/private/blobs/uploads/', headers: { authorization: bearer(jwt) } });
  unauthorized(t, push, 'alice/private', 'pull,push', [jwt]);
  const put = await r.req({ method: 'PUT', path: '/v2/alice/private/manifests/v1', body: '{}', headers: { authorization: bearer(jwt), 'content-type': OCI } });
  unauthorized(t, put, 'alice/private', 'pull,push');
  const del = await r.req({ method: 'DELETE', path: `/v2/alice/private/manifests/${sha256('x')}`, headers: { authorization: bearer(jwt) } });
  unauthorized(t, del, 'alice/private', 'pull,push');
  // A down-scoped (empty) grant opens nothing.
  const bobs = await token(r, userAuth('bob'), ['repository:alice/private:pull']);
  unauthorized(t, await r.req({ path: '/v2/alice/private/tags/list', headers: { authorization: bearer(bobs.jwt) } }), 'alice/private', 'pull');
});

t.test('registry routes: a private repository answers exactly like a missing one', async (t) => {
  const bobToken = (await token(r, userAuth('bob'), ['repository:bob/private:pull'])).jwt;
  const cases: [string, string][] = [
    ['/v2/alice/private/tags/list', '/v2/alice/nothere/tags/list'],
    [`/v2/alice/private/manifests/latest`, `/v2/alice/nothere/manifests/latest`],
    [`/v2/alice/private/blobs/${sha256('x')}`, `/v2/alice/nothere/blobs/${sha256('x')}`],
    ['/v2/alice/private/tags/list', '/v2/nobody/nothere/tags/list'],
  ];
  for (const [priv, missing] of cases) {
    for (const [who, headers] of [
      ['anonymous', {}],
      ['bob', { authorization: bearer(bobToken) }],
    ] as const) {
      for (const method of ['GET', 'HEAD']) {
        const a = await r.req({ method, path: priv, headers });
        const b = await r.req({ method, path: missing, headers });
        t.equal(a.status, 401, `${who} ${method} ${priv}`);
        t.equal(b.status, a.status, `${who} ${method}: same status`);
        t.same(b.body, a.body, `${who} ${method}: same body`);
        const norm = (res: Reply, path: string): string => res.header('www-authenticate').replace(path.split('/').slice(2, 4).join('/'), 'X');
        t.equal(norm(b, missing), norm(a, priv), `${who} ${method}: same challenge but for the name`);
        t.same(Object.keys(b.headers).sort(), Object.keys(a.headers).sort(), `${who} ${method}: same header names`);
        if (method === 'GET') unauthorized(t, a, priv.split('/').slice(2, 4).join('/'), 'pull');
      }
    }
  }
  const push = await r.req({ method: 'POST', path: '/v2/alice/private/blobs/uploads/' });
  const pushMissing = await r.req({ method: 'POST', path: '/v2/alice/nothere/blobs/uploads/' });
  t.equal(push.status, 401);
  t.same(pushMissing.body, push.body, 'push: same body');
});

t.test('registry routes: a public repository is readable anonymously but not writable', async (t) => {
  const res = await r.req({ path: '/v2/alice/public/tags/list' });
  t.equal(res.status, 200);
  t.same(res.json(), { name: 'alice/public', tags: [] });
  const push = await postBlob(r, 'alice/public', Buffer.from('anonymous blob'));
  unauthorized(t, push, 'alice/public', 'pull,push');
  const bobToken = (await token(r, userAuth('bob'), ['repository:alice/public:push,pull'])).jwt;
  t.equal((await r.req({ path: '/v2/alice/public/tags/list', headers: { authorization: bearer(bobToken) } })).status, 200);
  unauthorized(t, await postBlob(r, 'alice/public', Buffer.from('bob blob'), bearer(bobToken)), 'alice/public', 'pull,push');
});

t.test('push and pull a blob and manifest with a token', async (t) => {
  const { jwt, claims } = await token(r, userAuth('alice'), ['repository:alice/app:push,pull']);
  t.same([...claims.access[0]!.actions].sort(), ['pull', 'push']);
  const auth = { authorization: bearer(jwt) };
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = Buffer.from('layer bytes for the auth test');
  for (const b of [config, layer]) {
    const res = await postBlob(r, 'alice/app', b, auth.authorization);
    t.equal(res.status, 201, 'blob pushed');
    t.equal(res.header('docker-content-digest'), sha256(b));
  }
  // Chunked upload too: POST, PATCH, PUT all carry the token.
  const chunked = Buffer.from('a chunked layer');
  const start = await r.req({ method: 'POST', path: '/v2/alice/app/blobs/uploads/', headers: auth });
  t.equal(start.status, 202);
  const loc = start.header('location');
  const patch = await r.req({ method: 'PATCH', path: loc, body: chunked, headers: { ...auth, 'content-type': 'application/octet-stream' } });
  t.equal(patch.status, 202);
  const sep = patch.header('location').includes('?') ? '&' : '?';
  const fin = await r.req({ method: 'PUT', path: `${patch.header('location')}${sep}digest=${sha256(chunked)}`, headers: auth });
  t.equal(fin.status, 201);

  const manifest = imageManifest(sha256(config), config.length, [
    { digest: sha256(layer), size: layer.length },
    { digest: sha256(chunked), size: chunked.length },
  ]);
  const put = await r.req({ method: 'PUT', path: '/v2/alice/app/manifests/v1', body: manifest, headers: { ...auth, 'content-type': OCI } });
  t.equal(put.status, 201);

  const pull = (await token(r, userAuth('alice'), ['repository:alice/app:pull'])).jwt;
  const pauth = { authorization: bearer(pull) };
  const got = await r.req({ path: '/v2/alice/app/manifests/v1', headers: { ...pauth, accept: OCI } });
  t.equal(got.status, 200);
  t.same(got.body, manifest);
  for (const b of [config, layer, chunked]) {
    const blob = await r.req({ path: `/v2/alice/app/blobs/${sha256(b)}`, headers: pauth });
    t.equal(blob.status, 200);
    t.same(blob.body, b);
  }
  t.same((await r.req({ path: '/v2/alice/app/tags/list', headers: pauth })).json().tags, ['v1']);

  // Nobody else gets in: anonymous and bob are answered as for a missing repository.
  unauthorized(t, await r.req({ path: '/v2/alice/app/manifests/v1' }), 'alice/app', 'pull');
  const bobs = (await token(r, userAuth('bob'), ['repository:alice/app:pull'])).jwt;
  unauthorized(t, await r.req({ path: `/v2/alice/app/blobs/${sha256(layer)}`, headers: { authorization: bearer(bobs) } }), 'alice/app', 'pull');
});

t.test('cross-repository mount only from a repository the token may read', async (t) => {
  const data = Buffer.from('a blob in bob/private only');
  const bobPush = (await token(r, userAuth('bob'), ['repository:bob/private:push,pull'])).jwt;
  t.equal((await postBlob(r, 'bob/private', data, bearer(bobPush))).status, 201);
  const srcData = Buffer.from('a blob in alice/src');
  const aliceSrc = (await token(r, userAuth('alice'), ['repository:alice/src:push,pull'])).jwt;
  t.equal((await postBlob(r, 'alice/src', srcData, bearer(aliceSrc))).status, 201);

  const noRead = (await token(r, userAuth('alice'), ['repository:alice/app:push,pull', 'repository:bob/private:pull'])).jwt;
  const refused = await r.req({ method: 'POST', path: `/v2/alice/app/blobs/uploads/?mount=${sha256(data)}&from=bob/private`, headers: { authorization: bearer(noRead) } });
  t.equal(refused.status, 202, 'not mounted: a plain upload starts instead');
  t.equal((await r.req({ path: `/v2/alice/app/blobs/${sha256(data)}`, headers: { authorization: bearer(noRead) } })).status, 404, 'the blob did not leak into alice/app');

  const notInToken = await r.req({ method: 'POST', path: `/v2/alice/app/blobs/uploads/?mount=${sha256(srcData)}&from=alice/src`, headers: { authorization: bearer(noRead) } });
  t.equal(notInToken.status, 202, 'a readable source the token does not name: not mounted');
  const withRead = (await token(r, userAuth('alice'), ['repository:alice/app:push,pull', 'repository:alice/src:pull'])).jwt;
  const mounted = await r.req({ method: 'POST', path: `/v2/alice/app/blobs/uploads/?mount=${sha256(srcData)}&from=alice/src`, headers: { authorization: bearer(withRead) } });
  t.equal(mounted.status, 201, 'mounted from a repository the token may pull');
});

t.test('_catalog: anonymous sees nothing, a user sees what they may read', async (t) => {
  const anon = await r.req({ path: '/v2/_catalog' });
  t.equal(anon.status, 200);
  t.same(anon.json(), { repositories: [] });

  const { jwt } = await token(r, userAuth('alice'), []);
  const mine = await r.req({ path: '/v2/_catalog', headers: { authorization: bearer(jwt) } });
  t.equal(mine.status, 200);
  const repos: string[] = mine.json().repositories;
  for (const n of ['alice/private', 'alice/public', 'alice/src', 'alice/app', 'alice/created', 'bob/shared']) t.ok(repos.includes(n), `alice sees ${n}`);
  for (const n of ['bob/private', 'bob/public', 'acme/app', 'acme/other']) t.notOk(repos.includes(n), `alice does not see ${n}`);
  t.same(repos, [...repos].sort(), 'sorted');

  const frank = (await token(r, userAuth('frank'), [])).jwt;
  const franks: string[] = (await r.req({ path: '/v2/_catalog', headers: { authorization: bearer(frank) } })).json().repositories;
  t.ok(franks.includes('acme/app') && franks.includes('acme/other'), "an org admin team sees the org's repositories");
  t.notOk(franks.some((n) => n.startsWith('alice/') || n.startsWith('bob/')));
  const grace = (await token(r, userAuth('grace'), [])).jwt;
  const graces: string[] = (await r.req({ path: '/v2/_catalog', headers: { authorization: bearer(grace) } })).json().repositories;
  t.same(graces, ['acme/app'], 'a team permission shows that repository only');

  const app = (await token(r, basic('$app', APP_PREFIX + APP_SECRET), [])).jwt;
  t.same((await r.req({ path: '/v2/_catalog', headers: { authorization: bearer(app) } })).json().repositories, repos, 'an app token lists as its user');
  const robot = (await token(r, basic('bob+ci', ROBOT_TOKENS['bob+ci']!), [])).jwt;
  t.same((await r.req({ path: '/v2/_catalog', headers: { authorization: bearer(robot) } })).json().repositories, ['bob/private'], 'a robot lists what it was granted');

  const paged = await r.req({ path: '/v2/_catalog?n=2', headers: { authorization: bearer(jwt) } });
  t.same(paged.json().repositories, repos.slice(0, 2));
  t.match(paged.header('link'), /rel="next"/);
  unauthorized(t, await r.req({ path: '/v2/_catalog', headers: { authorization: bearer(jwt.slice(0, -10) + 'AAAAAAAAAA') } }));
});

t.test('registry routes: only approved, unexpired service keys of the service sign valid tokens', async (t) => {
  const path = '/v2/alice/private/tags/list';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }) } as Record<string, unknown>;
  const nowMs = Date.now();
  const nowS = Math.floor(nowMs / 1000);
  const sign = (kid: string): Promise<string> =>
    new SignJWT({
      iss: 'quay',
      aud: HOST,
      sub: 'alice',
      context: {},
      iat: nowS,
      nbf: nowS,
      exp: nowS + 3600,
      access: [{ type: 'repository', name: 'alice/private', actions: ['pull'] }],
    })
      .setProtectedHeader({ alg: 'RS256', kid })
      .sign(privateKey);

  await store.registerServiceKey({ kid: 'extra-live', service: 'quay', name: 'test', jwk, expirationMs: nowMs + 3600_000 }, nowMs);
  t.equal((await r.req({ path, headers: { authorization: bearer(await sign('extra-live')) } })).status, 200, 'a second registered key of service quay: accepted');
  await store.registerServiceKey({ kid: 'extra-expired', service: 'quay', name: 'test', jwk, expirationMs: nowMs - 60_000 }, nowMs);
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(await sign('extra-expired')) } }), 'alice/private', 'pull');
  await store.registerServiceKey({ kid: 'extra-other-service', service: 'not-quay', name: 'test', jwk, expirationMs: nowMs + 3600_000 }, nowMs);
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(await sign('extra-other-service')) } }), 'alice/private', 'pull');
  dbOf(r)
    .prepare(
      `INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date, rotation_duration, approval_id)
    VALUES ('test', 'extra-unapproved', 'quay', ?, '{}', '2020-01-01 00:00:00.000000', NULL, NULL, NULL)`,
    )
    .run(JSON.stringify(jwk));
  unauthorized(t, await r.req({ path, headers: { authorization: bearer(await sign('extra-unapproved')) } }), 'alice/private', 'pull');
});

t.test('/v2/auth: a user may log in with their e-mail address', async (t) => {
  const { claims } = await token(r, basic('alice@example.com', PASSWORDS.alice!), ['repository:alice/private:pull']);
  t.equal(claims.sub, 'alice');
  t.same(claims.access[0]!.actions, ['pull']);
});

t.test('with a controlled clock: login back-off, token expiry with 30 s leeway, cached verdicts and revoked keys', async (t) => {
  let clock = Date.UTC(2030, 0, 1, 12, 0, 0);
  const r5 = await startTestRegistry(t, { ...settings(), now: () => clock });
  await seedUsers(r5, ['alice', 'dave']);
  await repo(r5, 'alice', 'private', 'private');
  const path = '/v2/alice/private/tags/list';

  // Quay's exponential back-off: a failure blocks the next attempt for a while, even with the right password,
  // answered as Quay's TooManyLoginAttemptsException handler answers (endpoints/decorated.py).
  unauthorized(t, await askToken(r5, basic('dave', 'wrong'), []));
  const blocked = await askToken(r5, userAuth('dave'), []);
  t.equal(blocked.status, 429, '429 Too Many Requests');
  t.equal(blocked.text(), 'Too many login attempts. \nPlease reset your Quay password and try again.', "Quay's text body");
  t.equal(blocked.header('content-type'), 'text/html; charset=utf-8');
  t.equal(blocked.header('retry-after'), '0', "Retry-After: Quay's int() of the 0.5 s left");
  t.equal(blocked.header('access-control-allow-origin'), '*', "Quay's @crossorigin headers");
  t.equal(blocked.header('www-authenticate'), '', 'no challenge');
  clock += 5_000;
  t.equal((await askToken(r5, userAuth('dave'), [])).status, 200, 'after the back-off the right password works');
  t.equal((await askToken(r5, userAuth('dave'), [])).status, 200, 'and the count was reset');

  // Expiry: exp = iat + 3600, with 30 s of leeway; a cached verdict never outlives the token.
  const t0 = clock;
  const { jwt } = await token(r5, userAuth('alice'), ['repository:alice/private:pull']);
  const use = (): Promise<Reply> => r5.req({ path, headers: { authorization: bearer(jwt) } });
  t.equal((await use()).status, 200);
  clock = t0 + 3590_000;
  t.equal((await use()).status, 200, '10 s before exp');
  clock = t0 + 3620_000;
  t.equal((await use()).status, 200, '20 s after exp: within the leeway');
  clock = t0 + 3640_000;
  unauthorized(t, await use(), 'alice/private', 'pull');

  // A token minted in the future (beyond the leeway) is refused; within it, accepted.
  clock = t0;
  const ahead = await mintToken(r5.reg.instanceKey, {
    audience: HOST,
    subject: 'alice',
    access: [{ type: 'repository', name: 'alice/private', actions: ['pull'] }],
    context: {},
    nowMs: t0 + 20_000,
  });
  t.equal((await r5.req({ path, headers: { authorization: bearer(ahead) } })).status, 200, 'iat 20 s ahead: within the leeway');
  const farAhead = await mintToken(r5.reg.instanceKey, {
    audience: HOST,
    subject: 'alice',
    access: [{ type: 'repository', name: 'alice/private', actions: ['pull'] }],
    context: {},
    nowMs: t0 + 120_000,
  });
  unauthorized(t, await r5.req({ path, headers: { authorization: bearer(farAhead) } }), 'alice/private', 'pull');

  // A key whose servicekey row expires stops validating tokens once the caches have turned over.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await r5.reg.authStore.registerServiceKey(
    { kid: 'short-lived', service: 'quay', name: 'test', jwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown>, expirationMs: t0 + 600_000 },
    t0,
  );
  const s0 = Math.floor(t0 / 1000);
  const signed = await new SignJWT({
    iss: 'quay',
    aud: HOST,
    sub: 'alice',
    context: {},
    iat: s0 + 590,
    nbf: s0 + 590,
    exp: s0 + 590 + 3600,
    access: [{ type: 'repository', name: 'alice/private', actions: ['pull'] }],
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'short-lived' })
    .sign(privateKey);
  clock = t0 + 590_000;
  t.equal((await r5.req({ path, headers: { authorization: bearer(signed) } })).status, 200, 'while the key is alive');
  clock = t0 + 600_000 + 61_000;
  unauthorized(t, await r5.req({ path, headers: { authorization: bearer(signed) } }), 'alice/private', 'pull');
});

// ------------------------------------------------------------------ other settings

t.test('CREATE_NAMESPACE_ON_PUSH: push in a missing namespace makes an org with an owners team', async (t) => {
  const r2 = await startTestRegistry(t, settings({ createNamespaceOnPush: true }));
  const ids2 = await seedUsers(r2, ['alice']);
  await r2.reg.authStore.createRobot('alice+bot', enc.encrypt(ROBOT_TOKENS['alice+reader']!), '', Date.now());

  t.same(await granted(r2, userAuth('alice'), 'repository:neworg/app:push,pull'), ['pull', 'push']);
  const org = await r2.reg.authStore.userByName('neworg');
  t.ok(org?.organization, 'neworg is an organisation');
  const owners = await r2.reg.authStore.teamId('neworg', 'owners');
  t.ok(owners, 'with an owners team');
  t.equal(await r2.reg.authStore.teamRole(ids2.alice!, org!.id), 'admin', 'the pusher is in it, as admin');
  t.equal(repoRow(r2, 'neworg', 'app')?.visibility, 'private', 'and the repository, private');

  t.same(await granted(r2, basic('alice+bot', ROBOT_TOKENS['alice+reader']!), 'repository:botorg/app:push,pull'), [], 'robots never create namespaces');
  t.equal(await r2.reg.authStore.userByName('botorg'), null);
  t.same(await granted(r2, null, 'repository:anonorg/app:push,pull'), [], 'anonymous never creates');
  t.equal(await r2.reg.authStore.userByName('anonorg'), null);
  t.same(await granted(r2, userAuth('alice'), 'repository:pullorg/app:pull'), [], 'pull alone creates nothing');
  t.equal(await r2.reg.authStore.userByName('pullorg'), null);
});

t.test('FEATURE_ANONYMOUS_ACCESS off: a public repository needs a token', async (t) => {
  const r3 = await startTestRegistry(t, settings({ anonymousAccess: false }));
  await seedUsers(r3, ['alice']);
  await repo(r3, 'bob', 'public', 'public');
  unauthorized(t, await r3.req({ path: '/v2/bob/public/tags/list' }), 'bob/public', 'pull');
  const anon = await askToken(r3, null, ['repository:bob/public:pull']);
  t.equal(unauthorized(t, anon).message, 'Anonymous access is not allowed');
  const { jwt, claims } = await token(r3, userAuth('alice'), ['repository:bob/public:pull']);
  t.same(claims.access[0]!.actions, ['pull'], 'a user still pulls a public repository');
  t.equal((await r3.req({ path: '/v2/bob/public/tags/list', headers: { authorization: bearer(jwt) } })).status, 200);
});

t.test('anonymous mode (openRegistry defaults): everything is open', async (t) => {
  const r4 = await startTestRegistry(t);
  t.equal(r4.reg.auth.enabled, false);
  const base = await r4.req({ path: '/v2/' });
  t.equal(base.status, 200);
  t.equal(base.header('www-authenticate'), '');
  const config = Buffer.from('{"os":"linux"}');
  t.equal((await postBlob(r4, 'anyone/app', config)).status, 201, 'push without credentials');
  const manifest = imageManifest(sha256(config), config.length, []);
  t.equal((await r4.req({ method: 'PUT', path: '/v2/anyone/app/manifests/v1', body: manifest, headers: { 'content-type': OCI } })).status, 201);
  t.same((await r4.req({ path: '/v2/anyone/app/manifests/v1' })).body, manifest);
  t.same((await r4.req({ path: '/v2/_catalog' })).json(), { repositories: ['anyone/app'] });
  // A garbage bearer token is no obstacle either.
  t.equal((await r4.req({ path: '/v2/anyone/app/tags/list', headers: { authorization: 'Bearer garbage' } })).status, 200);

  const res = await r4.req({ path: '/v2/auth?service=whatever&scope=repository:anyone/app:push,pull&scope=repository:xx/yy:*' });
  t.equal(res.status, 200);
  const c = decodeJwt(res.json().token as string) as unknown as Claims;
  t.same(
    c.access,
    [
      { type: 'repository', name: 'anyone/app', actions: ['push', 'pull'] },
      { type: 'repository', name: 'xx/yy', actions: ['*'] },
    ],
    'the requested actions, granted',
  );
  t.equal(c.sub, '(anonymous)');
  t.equal(c.aud, 'whatever');
  const withCreds = await r4.req({ path: '/v2/auth?service=s&scope=repository:aa/bb:pull', headers: { authorization: basic('nobody', 'nothing') } });
  t.equal(withCreds.status, 200, 'credentials are not even checked');
  t.equal((await r4.req({ path: '/v2/auth?service=s' })).status, 200, 'no scope: a token all the same');
});
