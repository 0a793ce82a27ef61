/**
 * Permissions (domain/auth/permissions.ts) on a SQLite DAL in memory: roles
 * from teams and repository permissions, superusers with and without
 * FEATURE_SUPERUSERS_FULL_ACCESS, global read-only superusers, anonymous
 * reads of public repositories, creating in a namespace, the catalog's scope.
 */
import t from 'tap';
import { SqliteMetadataStore } from '../../dal/sqlite/store.js';
import { sqliteDal } from '../../dal/sqlite/dal.js';
import type { UserRow } from '../../dal/model/auth-store.js';
import { Permissions, type PermissionSettings } from '../auth/permissions.js';
import { DomainError } from '../errors.js';

const NOW = Date.UTC(2030, 0, 1);
const SETTINGS: PermissionSettings = {
  anonymousAccess: true,
  publicCatalog: false,
  createNamespaceOnPush: false,
  superUsers: ['root'],
  superUsersFullAccess: true,
  globalReadonlySuperUsers: ['auditor'],
};

const store = new SqliteMetadataStore(':memory:');
t.teardown(() => store.close());
const dal = sqliteDal(store);
const perms = (o: Partial<PermissionSettings> = {}): Permissions => new Permissions({ ...SETTINGS, ...o }, dal);

const user = (username: string, robot = false): Promise<UserRow> =>
  dal.users.createUser({ username, email: `${username}@example.com`, passwordHash: null, verified: true, ...(robot ? { robot } : {}) }, NOW);
const [owner, dev, viewer, creator, stranger, root, auditor] = await Promise.all(['owner', 'dev', 'viewer', 'creator', 'stranger', 'root', 'auditor'].map((n) => user(n)));
const acme = await dal.users.createOrganization('acme', 'acme@example.com', owner!.id, NOW);
const app = await dal.repositories.createRepository('acme', 'app', 'private', NOW);
const site = await dal.repositories.createRepository('acme', 'site', 'public', NOW);
for (const [name, role, member] of [
  ['devs', 'member', dev],
  ['viewers', 'member', viewer],
  ['creators', 'creator', creator],
] as const) {
  const team = await dal.teams.createTeam(acme.id, name, role);
  await dal.teams.addTeamMember(team, member!.id);
}
await dal.permissions.setRepositoryPermission(app.id, { teamId: (await dal.teams.teamId('acme', 'devs'))! }, 'write');
await dal.permissions.setRepositoryPermission(app.id, { teamId: (await dal.teams.teamId('acme', 'viewers'))! }, 'read');

const APP = { namespace: 'acme', name: 'app' };
const SITE = { namespace: 'acme', name: 'site' };

t.test('roles: the organisation owner, team members by their repository permission, nobody else', async (t) => {
  const p = perms();
  const target = await p.target(APP);
  t.equal(target.repository?.id, app.id);
  t.equal(await p.role(owner!, target), 'admin', 'owners team: admin of the organisation');
  t.equal(await p.role(dev!, target), 'write', 'devs team: write on app');
  t.equal(await p.role(viewer!, target), 'read', 'viewers team: read on app');
  t.equal(await p.role(stranger!, target), null);
  t.same(await Promise.all([p.access(dev!, target).mayPush(), p.access(dev!, target).mayPull(), p.access(dev!, target).mayAdmin()]), [true, true, false]);
  t.same(await Promise.all([p.access(viewer!, target).mayPush(), p.access(viewer!, target).mayPull()]), [false, true]);
  t.same(await Promise.all([p.access(stranger!, target).mayPush(), p.access(stranger!, target).mayPull()]), [false, false]);
  t.equal(await p.access(owner!, target).mayAdmin(), true);
});

t.test('superusers are admin everywhere only with FEATURE_SUPERUSERS_FULL_ACCESS', async (t) => {
  const target = await perms().target(APP);
  t.equal(await perms().role(root!, target), 'admin');
  t.equal(await perms().access(root!, target).mayPush(), true);
  t.equal(perms().catalogScope(root!).all, true, 'the catalog lists everything');
  const limited = perms({ superUsersFullAccess: false });
  t.equal(limited.isSuperUser(root!), false);
  t.equal(await limited.role(root!, target), null);
  t.equal(await limited.access(root!, target).mayPull(), false);
  t.same(limited.catalogScope(root!), { all: false, userId: root!.id, includePublic: false });
});

t.test('a global read-only superuser may read every repository, not write it', async (t) => {
  const p = perms();
  const access = p.access(auditor!, await p.target(APP));
  t.equal(await access.role(), null);
  t.equal(await access.mayPull(), true);
  t.equal(await access.mayPush(), false);
  t.equal(await access.mayAdmin(), false);
});

t.test('anonymous reads of a public repository follow FEATURE_ANONYMOUS_ACCESS', async (t) => {
  for (const anonymousAccess of [true, false]) {
    const p = perms({ anonymousAccess });
    t.equal(await p.publicReadable(SITE), anonymousAccess, `public repository, anonymous access ${anonymousAccess}`);
    t.equal(await p.access(null, await p.target(SITE)).mayPull(), anonymousAccess);
    t.equal(await p.access(stranger!, await p.target(SITE)).mayPull(), true, 'a signed-in user reads a public repository either way');
    t.equal(await p.publicReadable(APP), false, 'never a private one');
    t.equal(await p.access(null, await p.target(APP)).mayPull(), false);
  }
});

t.test('creating in a namespace: its owner, organisation admins and creators', async (t) => {
  const p = perms();
  t.equal(await p.mayCreateIn(owner!, acme), true);
  t.equal(await p.mayCreateIn(creator!, acme), true);
  t.equal(await p.mayCreateIn(dev!, acme), false, 'a member team does not make a creator');
  t.equal(await p.mayCreateIn(dev!, dev!), true, "in one's own namespace");
  t.equal(await p.mayCreateIn(dev!, stranger!), false, "never in another user's");
  const robot = await user('owner+ci', true);
  t.equal(p.mayCreateNamespace(dev!), false, 'CREATE_NAMESPACE_ON_PUSH off');
  t.equal(perms({ createNamespaceOnPush: true }).mayCreateNamespace(dev!), true);
  t.equal(perms({ createNamespaceOnPush: true }).mayCreateNamespace(robot), false, 'never for a robot');
});

t.test('target: a missing repository, a disabled namespace', async (t) => {
  const p = perms();
  t.same(await p.target({ namespace: 'nobody', name: 'x' }), { namespace: null, repository: null });
  const missing = await p.target({ namespace: 'acme', name: 'new' });
  t.equal(missing.repository, null);
  t.equal(await p.role(owner!, missing), 'admin', 'the organisation owner is admin of a repository to be');
  await store.db.prepare('UPDATE "user" SET enabled = 0 WHERE username = ?').run('stranger');
  const e = await p.target({ namespace: 'stranger', name: 'x' }).catch((err: unknown) => err);
  t.ok(e instanceof DomainError && e.code === 'NAMESPACE_DISABLED', 'NAMESPACE_DISABLED');
});

t.test("the catalog: a user's own repositories, public ones with FEATURE_PUBLIC_CATALOG", async (t) => {
  const scope = perms().catalogScope(dev!);
  t.same(scope, { all: false, userId: dev!.id, includePublic: false });
  t.same(await perms().visibleRepositories(scope.userId, scope.includePublic, { n: 10 }), ['acme/app']);
  t.same(perms({ publicCatalog: true }).catalogScope(null), { all: false, userId: null, includePublic: true });
  t.same(await perms().visibleRepositories(null, true, { n: 10 }), ['acme/site']);
});
