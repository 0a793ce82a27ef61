/**
 * The PostgreSQL adapter against the SQLite one: every scenario runs on both
 * stores (each on a fresh database) and must give identical results, ids
 * included; random values (uuids) are normalised. Spot checks of the expected
 * values keep the comparison honest. Needs the local PostgreSQL (see
 * ../lib/postgres.ts); fails, never skips, when it is down.
 */
import t from 'tap';
import type { Test } from 'tap';
import { lockTags } from '../postgres/store.js';
import { advisoryLockId } from '../postgres/schema.js';
import { MissingReferences, type NewManifest } from '../model/store.js';
import { openStoreSides, type Side } from './lib/store-sides.js';
import pg from 'pg';

const { sides, opened, db } = await openStoreSides(t);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
function normalise(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(UUID, '<uuid>');
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof MissingReferences) return { missing: { blobs: [...v.blobs], manifests: [...v.manifests] } };
  // Driver errors differ in wording (SQLITE_CONSTRAINT vs 23505): only "it threw" must agree.
  if (v instanceof Error) return { threw: true };
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

/** Run `fn` on both stores; results (or thrown errors) must be identical. Returns the SQLite result. */
async function both<T>(tt: Test, what: string, fn: (s: Side) => Promise<T>): Promise<T> {
  const out: unknown[] = [];
  for (const s of sides) {
    try {
      out.push(await fn(s));
    } catch (err) {
      out.push(err);
    }
  }
  tt.same(normalise(out[1]), normalise(out[0]), `${what}: pg = sqlite`);
  if (out[0] instanceof Error && !(out[0] instanceof MissingReferences)) throw out[0];
  return out[0] as T;
}

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0, 123);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const digest = (c: string): string => `sha256:${c.repeat(64).slice(0, 64)}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
function manifest(d: string, blobs: string[], extra: Partial<NewManifest> = {}): NewManifest {
  return {
    digest: d,
    mediaType: OCI_MANIFEST,
    text: JSON.stringify({ schemaVersion: 2, d, blobs }),
    configMediaType: 'application/vnd.oci.image.config.v1+json',
    layersCompressedSize: 10,
    subject: null,
    artifactType: null,
    blobDigests: blobs,
    childDigests: [],
    declaredSizes: [],
    ...extra,
  };
}
async function commit(s: Side, repo: number, d: string, size = 5, location = 'local_us'): Promise<unknown> {
  return s.meta.commitBlob({ uploadUuid: null, repositoryId: repo, digest: d, size, uncompressedSize: null, location, nowMs: NOW, linkExpiresMs: NOW + HOUR });
}

t.test('advisory lock id is Quay compute_advisory_lock_id', async (tt) => {
  tt.equal(advisoryLockId('retarget_tag', 1), '6389721433979953103');
  tt.equal(advisoryLockId('retarget_tag', 42), '-7022194054569095283');
});

t.test('repositories: create, lookup, list paging', async (tt) => {
  const a = await both(tt, 'create acme/app', (s) => s.meta.createRepository('acme', 'app', 'private', NOW));
  tt.match(a, { namespace: 'acme', name: 'app', visibility: 'private', state: 0 });
  await both(tt, 'create again returns existing', (s) => s.meta.createRepository('acme', 'app', 'public', NOW + 1));
  for (const [ns, name] of [
    ['acme', 'b'],
    ['zed', 'x'],
    ['Acme', 'Upper'],
    ['acme', 'a-b'],
    ['acme', 'a_b'],
    ['acme', 'nested/name'],
    ['acme', 'gone'],
  ]) {
    await both(tt, `create ${ns}/${name}`, (s) => s.meta.createRepository(ns!, name!, 'private', NOW));
  }
  await both(tt, 'lookup', (s) => s.meta.lookupRepository('acme', 'nested/name'));
  tt.equal(await both(tt, 'lookup missing', (s) => s.meta.lookupRepository('acme', 'nope')), null);
  tt.equal(await both(tt, 'lookup missing ns', (s) => s.meta.lookupRepository('nobody', 'app')), null);
  await both(tt, 'mark gone for deletion', async (s) => s.raw("UPDATE repository SET state = 3 WHERE name = 'gone'"));
  const all = await both(tt, 'list all', (s) => s.meta.listRepositories({ n: 100 }));
  tt.same(all, ['Acme/Upper', 'acme/a-b', 'acme/a_b', 'acme/app', 'acme/b', 'acme/nested/name', 'zed/x']);
  const pages: string[][] = [];
  let last: string | undefined;
  for (;;) {
    const p = await both(tt, `page after ${last}`, (s) => s.meta.listRepositories(last === undefined ? { n: 3 } : { n: 3, last }));
    if (p.length === 0) break;
    pages.push(p);
    last = p[p.length - 1];
  }
  tt.same(pages.flat(), all);
});

t.test('uploads and blobs', async (tt) => {
  const repo = (await both(tt, 'repo', (s) => s.meta.createRepository('blobs', 'r', 'private', NOW))).id;
  const other = (await both(tt, 'other repo', (s) => s.meta.createRepository('blobs', 'other', 'private', NOW))).id;
  const d1 = digest('a');
  tt.equal(await both(tt, 'blob absent', (s) => s.meta.repositoryBlob(repo, d1, NOW)), null);
  await both(tt, 'create upload', (s) => s.meta.createUpload(repo, 'up-1', 'local_us', 'sha-state-0', NOW));
  await both(tt, 'read upload', (s) => s.meta.upload('up-1'));
  const progress = { byteCount: 5, chunkCount: 1, shaState: 'sha-state-1', storageMetadata: '{"chunks":[]}', uncompressedByteCount: 7 };
  tt.equal(await both(tt, 'chunk CAS ok', (s) => s.meta.recordChunk('up-1', 0, progress)), true);
  tt.equal(await both(tt, 'chunk CAS stale', (s) => s.meta.recordChunk('up-1', 0, { ...progress, byteCount: 9 })), false);
  tt.equal(await both(tt, 'chunk on missing upload', (s) => s.meta.recordChunk('nope', 0, progress)), false);
  const big = { byteCount: 9_000_000_000, chunkCount: 2, shaState: 'sha-state-2', storageMetadata: '{}', uncompressedByteCount: null };
  tt.equal(await both(tt, 'chunk past 8 GiB', (s) => s.meta.recordChunk('up-1', 5, big)), true);
  tt.match(await both(tt, 'upload progress', (s) => s.meta.upload('up-1')), { byteCount: 9_000_000_000, chunkCount: 2, shaState: 'sha-state-2', createdMs: NOW });
  const b = await both(tt, 'commit', (s) =>
    s.meta.commitBlob({
      uploadUuid: 'up-1',
      repositoryId: repo,
      digest: d1,
      size: 9_000_000_000,
      uncompressedSize: null,
      location: 'local_us',
      nowMs: NOW,
      linkExpiresMs: NOW + HOUR,
    }),
  );
  tt.equal(await both(tt, 'upload gone after commit', (s) => s.meta.upload('up-1')), null);
  tt.match(await both(tt, 'blob visible', (s) => s.meta.repositoryBlob(repo, d1, NOW)), { id: b.id, size: 9_000_000_000, locations: ['local_us'] });
  tt.same(await both(tt, 'expired link still counts', (s) => s.meta.repositoryBlob(repo, d1, NOW + 2 * DAY)), await sides[0]!.meta.repositoryBlob(repo, d1, NOW));
  tt.equal(await both(tt, 'not in other repo', (s) => s.meta.repositoryBlob(other, d1, NOW)), null);
  await both(tt, 'global blob', (s) => s.meta.globalBlob(d1));
  tt.equal(await both(tt, 'global blob missing', (s) => s.meta.globalBlob(digest('f'))), null);
  await both(tt, 'mount link', (s) => s.meta.linkBlob(other, b.id, NOW, NOW + HOUR));
  tt.match(await both(tt, 'visible after mount', (s) => s.meta.repositoryBlob(other, d1, NOW)), { id: b.id });
  await both(tt, 'commit same digest elsewhere', (s) => commit(s, other, d1, 9_000_000_000, 's3_us_east_1'));
  await both(tt, 'commit to a new location name', (s) => commit(s, other, d1, 9_000_000_000, 'brand_new_location'));
  const placed = await both(tt, 'three placements', (s) => s.meta.repositoryBlob(repo, d1, NOW));
  tt.same([...placed!.locations].sort(), ['brand_new_location', 'local_us', 's3_us_east_1']);
  await both(tt, 'upload u2', (s) => s.meta.createUpload(repo, 'up-2', 'local_us', 'x', NOW));
  tt.equal(await both(tt, 'delete upload', (s) => s.meta.deleteUpload('up-2')), true);
  tt.equal(await both(tt, 'delete upload again', (s) => s.meta.deleteUpload('up-2')), false);
  await both(tt, 'old upload', (s) => s.meta.createUpload(repo, 'up-old', 'local_us', 'x', NOW - 3 * DAY));
  await both(tt, 'older upload', (s) => s.meta.createUpload(other, 'up-older', 's3_us_east_1', 'x', NOW - 4 * DAY));
  await both(tt, 'fresh upload', (s) => s.meta.createUpload(repo, 'up-new', 'local_us', 'x', NOW));
  const stale = await both(tt, 'stale uploads', (s) => s.meta.staleUploads(NOW - 2 * DAY, 10));
  tt.same(
    stale.map((u) => u.uuid),
    ['up-old', 'up-older'],
  );
  tt.same(
    stale.map((u) => u.createdMs),
    [NOW - 3 * DAY, NOW - 4 * DAY],
  );
  tt.same(
    (await both(tt, 'stale limit', (s) => s.meta.staleUploads(NOW - 2 * DAY, 1))).map((u) => u.uuid),
    ['up-old'],
  );
  tt.equal(
    await both(tt, 'duplicate upload uuid fails', async (s) => {
      await s.meta.createUpload(repo, 'up-new', 'local_us', 'x', NOW);
      return 'no error';
    }).catch(() => 'error'),
    'error',
  );
});

t.test('manifests, tags, referrers', async (tt) => {
  const repo = (await both(tt, 'repo', (s) => s.meta.createRepository('content', 'r', 'private', NOW))).id;
  const other = (await both(tt, 'other', (s) => s.meta.createRepository('content', 'other', 'private', NOW))).id;
  const [cfg, layer, m1, m2, m3, idx, ref, missing] = ['c', 'd', '1', '2', '3', '4', '5', 'e'].map(digest) as [string, string, string, string, string, string, string, string];
  await both(tt, 'config', (s) => commit(s, repo, cfg));
  await both(tt, 'layer', (s) => commit(s, repo, layer));
  const r1 = await both(tt, 'push m1 as latest', (s) => s.meta.putManifest(repo, manifest(m1, [cfg, layer]), { tag: 'latest' }, NOW));
  tt.match(r1, { digest: m1, mediaType: OCI_MANIFEST });
  tt.match(await both(tt, 'by tag', (s) => s.meta.manifestByTag(repo, 'latest', NOW)), { id: r1.id, digest: m1 });
  tt.match(await both(tt, 'by digest', (s) => s.meta.manifestByDigest(repo, m1, NOW)), { id: r1.id });
  tt.equal(await both(tt, 'not in other repo', (s) => s.meta.manifestByDigest(other, m1, NOW)), null);
  tt.equal(await both(tt, 'blobs now held by manifestblob', async (s) => (await s.meta.repositoryBlob(repo, cfg, NOW))?.digest), cfg);

  const err = await both(tt, 'missing blob', (s) => s.meta.putManifest(repo, manifest(m2, [cfg, missing]), { tag: 'broken' }, NOW));
  tt.ok(err instanceof MissingReferences);
  tt.same((err as unknown as MissingReferences).blobs, [missing]);
  tt.equal(await both(tt, 'nothing stored after MissingReferences', (s) => s.meta.manifestByTag(repo, 'broken', NOW)), null);
  await both(tt, 'other repo cannot use these blobs', (s) => s.meta.putManifest(other, manifest(m1, [cfg, layer]), { tag: 'x' }, NOW));

  // Push by digest: hidden temp tag keeps it for an hour.
  await both(tt, 'push m3 by digest', (s) => s.meta.putManifest(repo, manifest(m3, [cfg]), { tempTagUntilMs: NOW + HOUR }, NOW));
  tt.match(await both(tt, 'm3 alive', (s) => s.meta.manifestByDigest(repo, m3, NOW + HOUR - 1)), { digest: m3 });
  tt.equal(await both(tt, 'm3 gone after temp tag', (s) => s.meta.manifestByDigest(repo, m3, NOW + HOUR)), null);
  tt.same(await both(tt, 'temp tags hidden', (s) => s.meta.listTags(repo, NOW)), ['latest']);
  await both(tt, 'push m1 by digest: kept by latest, no temp tag', (s) => s.meta.putManifest(repo, manifest(m1, [cfg, layer]), { tempTagUntilMs: NOW + HOUR }, NOW + 1));
  tt.same(await both(tt, 'hidden tag rows', (s) => s.raw('SELECT COUNT(*) AS n FROM tag WHERE hidden = ? AND repository_id = ?', s.kind === 'pg' ? true : 1, repo)), [{ n: 1 }]);

  // Index holding m1 and m3 keeps m3 alive past its temp tag.
  const indexManifest = manifest(idx, [], { mediaType: OCI_INDEX, configMediaType: null, childDigests: [m1, m3] });
  await both(tt, 'push index', (s) => s.meta.putManifest(repo, indexManifest, { tag: 'multi' }, NOW + 2));
  tt.match(await both(tt, 'child kept alive by index', (s) => s.meta.manifestByDigest(repo, m3, NOW + 2 * HOUR)), { digest: m3 });
  const missingChild = await both(tt, 'missing child', (s) => s.meta.putManifest(repo, manifest(digest('6'), [], { childDigests: [m1, digest('7')] }), { tag: 'x' }, NOW));
  tt.same((missingChild as unknown as MissingReferences).manifests, [digest('7')]);

  // Retarget: history rows, same-millisecond clash.
  await both(tt, 'move latest to m3', (s) => s.meta.putManifest(repo, manifest(m3, [cfg]), { tag: 'latest' }, NOW + 10));
  tt.match(await both(tt, 'latest now m3', (s) => s.meta.manifestByTag(repo, 'latest', NOW + 11)), { digest: m3 });
  await both(tt, 'move latest back in the same ms', (s) => s.meta.putManifest(repo, manifest(m1, [cfg, layer]), { tag: 'latest' }, NOW + 10));
  tt.match(await both(tt, 'latest now m1', (s) => s.meta.manifestByTag(repo, 'latest', NOW + 12)), { digest: m1 });
  await both(tt, 'retag same manifest is a no-op', (s) => s.meta.putManifest(repo, manifest(m1, [cfg, layer]), { tag: 'latest' }, NOW + 20));
  await both(tt, 'tag rows', (s) =>
    s.raw("SELECT name, manifest_id, lifetime_start_ms, lifetime_end_ms FROM tag WHERE repository_id = ? AND name NOT LIKE '$temp-%' ORDER BY id", repo),
  );
  for (const name of ['v1', 'B', 'a', 'b', 'c']) await both(tt, `tag ${name}`, (s) => s.meta.putManifest(repo, manifest(m1, [cfg, layer]), { tag: name }, NOW + 30));
  tt.same(await both(tt, 'list tags', (s) => s.meta.listTags(repo, NOW + 40)), ['B', 'a', 'b', 'c', 'latest', 'multi', 'v1']);
  tt.same(await both(tt, 'list tags page', (s) => s.meta.listTags(repo, NOW + 40, { n: 2, last: 'a' })), ['b', 'c']);

  // Deletes.
  tt.equal(await both(tt, 'delete tag', (s) => s.meta.deleteTag(repo, 'c', NOW + 50)), true);
  tt.equal(await both(tt, 'delete tag again', (s) => s.meta.deleteTag(repo, 'c', NOW + 51)), false);
  tt.equal(await both(tt, 'deleted tag unresolvable', (s) => s.meta.manifestByTag(repo, 'c', NOW + 52)), null);
  tt.equal(await both(tt, 'tagExpired', (s) => s.meta.tagExpired(repo, 'c', NOW + 52)), true);
  tt.equal(await both(tt, 'tagExpired never existed', (s) => s.meta.tagExpired(repo, 'zzz', NOW + 52)), false);
  tt.equal(await both(tt, 'tagExpired alive tag', (s) => s.meta.tagExpired(repo, 'multi', NOW + 52)), false);
  tt.same(await both(tt, 'delete by digest, only temp tags', (s) => s.meta.deleteManifest(repo, m3, NOW + 60)), []);
  tt.same(await both(tt, 'delete by digest', (s) => s.meta.deleteManifest(repo, m1, NOW + 60)), ['latest', 'v1', 'B', 'a', 'b'], 'the tags ended, by tag id');
  tt.same(await both(tt, 'delete by digest again', (s) => s.meta.deleteManifest(repo, m1, NOW + 61)), []);
  tt.same(await both(tt, 'tags after delete', (s) => s.meta.listTags(repo, NOW + 62)), ['multi']);
  tt.match(await both(tt, 'm1 still alive as child of multi', (s) => s.meta.manifestByDigest(repo, m1, NOW + 62)), { digest: m1 });

  // Referrers (subject), open-ended hidden tag.
  await both(tt, 'push referrer', (s) => s.meta.putManifest(repo, manifest(ref, [cfg], { subject: m3, artifactType: 'application/x-sig' }), { tempTagUntilMs: null }, NOW + 70));
  const refs = await both(tt, 'referrers', (s) => s.meta.referrers(repo, m3, NOW + 10 * DAY));
  tt.same(
    refs.map((r) => [r.digest, r.artifactType, r.subject]),
    [[ref, 'application/x-sig', m3]],
  );
  tt.same(await both(tt, 'no referrers', (s) => s.meta.referrers(repo, m1, NOW + 80)), []);
  tt.same(await both(tt, 'no referrers elsewhere', (s) => s.meta.referrers(other, m3, NOW + 80)), []);
});

t.test('tag advisory lock is Quay’s: a held lock blocks a tag delete', async (tt) => {
  const repo = (await both(tt, 'repo', (s) => s.meta.createRepository('locks', 'r', 'private', NOW))).id;
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryLockId('retarget_tag', repo)]);
    let done = false;
    const del = opened.metadata.deleteTag(repo, 'x', NOW).then((v) => {
      done = true;
      return v;
    });
    await new Promise((r) => setTimeout(r, 300));
    tt.equal(done, false, 'deleteTag waits for the lock');
    await holder.query('COMMIT');
    tt.equal(await del, false);
    // lockTags is re-entrant inside one transaction, like Quay's.
    await holder.query('BEGIN');
    await lockTags(holder, repo);
    await lockTags(holder, repo);
    await holder.query('COMMIT');
  } finally {
    await holder.end();
  }
});

t.test('auth store', async (tt) => {
  const alice = await both(tt, 'create alice', (s) => s.auth.createUser({ username: 'alice', email: 'alice@example.com', passwordHash: '$2b$12$hash', verified: true }, NOW));
  tt.match(alice, { username: 'alice', organization: false, robot: false, enabled: true, invalidLoginAttempts: 0, lastInvalidLoginMs: NOW });
  const bob = await both(tt, 'create bob', (s) => s.auth.createUser({ username: 'bob', email: 'bob@example.com', passwordHash: null }, NOW));
  await both(tt, 'by name', (s) => s.auth.userByName('alice'));
  tt.equal(await both(tt, 'by name missing', (s) => s.auth.userByName('carol')), null);
  tt.match(await both(tt, 'by email', (s) => s.auth.userByNameOrEmail('bob@example.com')), { username: 'bob' });
  const aliceUuids = await Promise.all(sides.map((s) => s.auth.userByName('alice').then((u) => u!.uuid)));
  await both(tt, 'by uuid', (s) => s.auth.userByUuid(aliceUuids[s.kind === 'sqlite' ? 0 : 1]!));

  const org = await both(tt, 'create org', (s) => s.auth.createOrganization('org1', 'bob@example.com', alice.id, NOW));
  tt.match(org, { organization: true, passwordHash: null });
  tt.equal(await both(tt, 'org e-mail not a login', async (s) => (await s.auth.userByNameOrEmail('bob@example.com'))?.username), 'bob');
  tt.equal(await both(tt, 'creator is admin', (s) => s.auth.teamRole(alice.id, org.id)), 'admin');
  tt.equal(await both(tt, 'bob has no team', (s) => s.auth.teamRole(bob.id, org.id)), null);
  tt.ok(await both(tt, 'owners team', (s) => s.auth.teamId('org1', 'owners')));
  tt.equal(await both(tt, 'no such team', (s) => s.auth.teamId('org1', 'nope')), null);

  const robot = await both(tt, 'robot', (s) => s.auth.createRobot('org1+builder', 'v0$$encrypted', 'builds things', NOW));
  tt.match(robot, { robot: true, username: 'org1+builder' });
  tt.equal(await both(tt, 'robot token', (s) => s.auth.robotToken(robot.id)), 'v0$$encrypted');
  tt.equal(await both(tt, 'no robot token', (s) => s.auth.robotToken(alice.id)), null);
  await both(tt, 'robot rows', (s) =>
    s.raw(
      'SELECT f.service_ident, m.description, m.unstructured_json FROM federatedlogin f JOIN robotaccountmetadata m ON m.robot_account_id = f.user_id WHERE f.user_id = ?',
      robot.id,
    ),
  );

  const readers = await both(tt, 'team', (s) => s.auth.createTeam(org.id, 'readers', 'member'));
  const creators = await both(tt, 'team 2', (s) => s.auth.createTeam(org.id, 'creators', 'creator'));
  await both(tt, 'add bob', (s) => s.auth.addTeamMember(readers, bob.id));
  await both(tt, 'add bob twice', (s) => s.auth.addTeamMember(readers, bob.id));
  await both(tt, 'add robot', (s) => s.auth.addTeamMember(creators, robot.id));
  tt.equal(await both(tt, 'bob member', (s) => s.auth.teamRole(bob.id, org.id)), 'member');
  tt.equal(await both(tt, 'robot creator', (s) => s.auth.teamRole(robot.id, org.id)), 'creator');

  const r1 = (await both(tt, 'repo1', (s) => s.meta.createRepository('org1', 'repo1', 'private', NOW))).id;
  const r2 = (await both(tt, 'repo2', (s) => s.meta.createRepository('org1', 'repo2', 'private', NOW))).id;
  await both(tt, 'alice own repo', (s) => s.meta.createRepository('alice', 'mine', 'private', NOW));
  await both(tt, 'public repo', (s) => s.meta.createRepository('pubns', 'open', 'public', NOW));
  tt.equal(await both(tt, 'no role', (s) => s.auth.repositoryRole(bob.id, r1)), null);
  await both(tt, 'team read', (s) => s.auth.setRepositoryPermission(r1, { teamId: readers }, 'read'));
  tt.equal(await both(tt, 'bob reads via team', (s) => s.auth.repositoryRole(bob.id, r1)), 'read');
  await both(tt, 'bob write', (s) => s.auth.setRepositoryPermission(r1, { userId: bob.id }, 'write'));
  tt.equal(await both(tt, 'best role write', (s) => s.auth.repositoryRole(bob.id, r1)), 'write');
  await both(tt, 'team admin (upsert)', (s) => s.auth.setRepositoryPermission(r1, { teamId: readers }, 'admin'));
  tt.equal(await both(tt, 'best role admin', (s) => s.auth.repositoryRole(bob.id, r1)), 'admin');
  await both(tt, 'bob read on r2', (s) => s.auth.setRepositoryPermission(r2, { userId: bob.id }, 'read'));
  await both(tt, 'bob downgraded on r2 (upsert)', (s) => s.auth.setRepositoryPermission(r2, { userId: bob.id }, 'read'));
  await both(tt, 'permission rows', (s) =>
    s.raw('SELECT team_id, user_id, repository_id, role_id FROM repositorypermission ORDER BY repository_id, COALESCE(team_id, 0), COALESCE(user_id, 0)'),
  );

  tt.same(await both(tt, 'bob visible', (s) => s.auth.visibleRepositories(bob.id, false, { n: 10 })), ['org1/repo1', 'org1/repo2']);
  tt.same(await both(tt, 'alice visible (org admin + own)', (s) => s.auth.visibleRepositories(alice.id, false, { n: 10 })), ['alice/mine', 'org1/repo1', 'org1/repo2']);
  tt.same(await both(tt, 'anonymous public', (s) => s.auth.visibleRepositories(null, true, { n: 10 })), ['pubns/open']);
  tt.same(await both(tt, 'anonymous no public', (s) => s.auth.visibleRepositories(null, false, { n: 10 })), []);
  tt.same(await both(tt, 'alice paged', (s) => s.auth.visibleRepositories(alice.id, true, { n: 2, last: 'alice/mine' })), ['org1/repo1', 'org1/repo2']);
  await both(tt, 'make repo2 public', (s) => s.auth.setRepositoryVisibility(r2, 'public'));
  tt.same(await both(tt, 'public after change', (s) => s.auth.visibleRepositories(null, true, { n: 10 })), ['org1/repo2', 'pubns/open']);
  tt.match(await both(tt, 'visibility on lookup', (s) => s.meta.lookupRepository('org1', 'repo2')), { visibility: 'public' });

  // App tokens.
  await both(tt, 'app token', (s) =>
    s.auth.createAppToken(alice.id, { uuid: 'tok-uuid-1', title: 'ci', prefix: 'PREFIX1', encryptedSecret: 'v0$$s1', expirationMs: NOW + HOUR }, NOW),
  );
  await both(tt, 'app token no expiry', (s) =>
    s.auth.createAppToken(bob.id, { uuid: 'tok-uuid-2', title: 'laptop', prefix: 'PREFIX2', encryptedSecret: 'v0$$s2', expirationMs: null }, NOW),
  );
  const tok = await both(tt, 'app token by prefix', (s) => s.auth.appToken('PREFIX1', NOW));
  tt.match(tok, { uuid: 'tok-uuid-1', title: 'ci', secret: 'v0$$s1', user: { username: 'alice' } });
  tt.equal(await both(tt, 'expired app token', (s) => s.auth.appToken('PREFIX1', NOW + HOUR)), null);
  tt.match(await both(tt, 'never-expiring token', (s) => s.auth.appToken('PREFIX2', NOW + 1000 * DAY)), { user: { username: 'bob' } });
  tt.match(await both(tt, 'by uuid', (s) => s.auth.appTokenByUuid('tok-uuid-1', NOW)), { title: 'ci' });
  tt.equal(await both(tt, 'by uuid expired', (s) => s.auth.appTokenByUuid('tok-uuid-1', NOW + 2 * HOUR)), null);
  tt.equal(await both(tt, 'unknown prefix', (s) => s.auth.appToken('NOPE', NOW)), null);
  await both(tt, 'touch', (s) => s.auth.touchAppToken(tok!.id, NOW + 5));
  const touched = await both(tt, 'last_accessed', async (s) =>
    (await s.raw('SELECT last_accessed FROM appspecificauthtoken WHERE id = ?', tok!.id)).map((r) => String(r['last_accessed']).slice(0, 23)),
  );
  tt.same(touched, ['2026-01-15 12:00:00.128']);

  // Login bookkeeping.
  await both(tt, 'failed login', (s) => s.auth.recordLogin(bob.id, false, NOW + 100));
  await both(tt, 'failed login 2', (s) => s.auth.recordLogin(bob.id, false, NOW + 200));
  tt.match(await both(tt, 'after failures', (s) => s.auth.userByName('bob')), { invalidLoginAttempts: 2, lastInvalidLoginMs: NOW + 200 });
  await both(tt, 'ok login', (s) => s.auth.recordLogin(bob.id, true, NOW + 300));
  tt.match(await both(tt, 'after success', (s) => s.auth.userByName('bob')), { invalidLoginAttempts: 0, lastInvalidLoginMs: NOW + 200 });

  // Service keys.
  const jwk = { kty: 'RSA', n: 'abc', e: 'AQAB', kid: 'k1' };
  await both(tt, 'register k1', (s) => s.auth.registerServiceKey({ kid: 'k1', service: 'quay', name: 'node', jwk, expirationMs: NOW + 2 * HOUR }, NOW));
  tt.same(await both(tt, 'k1', (s) => s.auth.serviceKey('k1', 'quay', NOW)), { kid: 'k1', service: 'quay', jwk, expirationMs: NOW + 2 * HOUR, approved: true });
  tt.equal(await both(tt, 'other service', (s) => s.auth.serviceKey('k1', 'clair', NOW)), null);
  tt.equal(await both(tt, 'expired', (s) => s.auth.serviceKey('k1', 'quay', NOW + 2 * HOUR)), null);
  tt.equal(await both(tt, 'extend', (s) => s.auth.extendServiceKey('k1', NOW + 3 * HOUR)), true);
  tt.equal(await both(tt, 'extend missing', (s) => s.auth.extendServiceKey('nope', NOW)), false);
  tt.match(await both(tt, 'extended', (s) => s.auth.serviceKey('k1', 'quay', NOW + 2 * HOUR)), { expirationMs: NOW + 3 * HOUR });
  await both(tt, 're-register k1', (s) => s.auth.registerServiceKey({ kid: 'k1', service: 'quay', name: 'node', jwk, expirationMs: NOW + 4 * HOUR }, NOW));
  tt.match(await both(tt, 're-registered', (s) => s.auth.serviceKey('k1', 'quay', NOW)), { expirationMs: NOW + 4 * HOUR });
  await both(tt, 'unapproved key', (s) =>
    s.raw(`INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date, rotation_duration, approval_id)
    VALUES ('x', 'k-unapproved', 'quay', '{}', '{}', '2026-01-15 12:00:00', NULL, NULL, NULL)`),
  );
  tt.equal(await both(tt, 'unapproved not returned', (s) => s.auth.serviceKey('k-unapproved', 'quay', NOW)), null);
  await both(tt, 'approve on register', (s) => s.auth.registerServiceKey({ kid: 'k-unapproved', service: 'quay', name: 'x', jwk, expirationMs: NOW + HOUR }, NOW));
  tt.match(await both(tt, 'now approved', (s) => s.auth.serviceKey('k-unapproved', 'quay', NOW)), { approved: true });
  await both(tt, 'long-expired key', (s) => s.auth.registerServiceKey({ kid: 'k-old', service: 'quay', name: 'old', jwk, expirationMs: NOW - 3 * DAY }, NOW - 4 * DAY));
  await both(tt, 'other service expired key', (s) => s.auth.registerServiceKey({ kid: 'k-clair', service: 'clair', name: 'c', jwk, expirationMs: NOW - 3 * DAY }, NOW - 4 * DAY));
  await both(tt, 'register k2 collects expired', (s) => s.auth.registerServiceKey({ kid: 'k2', service: 'quay', name: 'n2', jwk, expirationMs: NOW + HOUR }, NOW));
  tt.same(await both(tt, 'remaining keys', async (s) => (await s.raw('SELECT kid FROM servicekey ORDER BY kid')).map((r) => r['kid'])), ['k-clair', 'k-unapproved', 'k1', 'k2']);
  await both(tt, 'service key rows', (s) =>
    s
      .raw(
        `SELECT k.kid, k.service, k.name, k.metadata, k.created_date, k.expiration_date, a.approval_type, a.notes
    FROM servicekey k LEFT JOIN servicekeyapproval a ON a.id = k.approval_id ORDER BY k.kid`,
      )
      .then((rows) =>
        rows.map((r) => ({
          ...r,
          created_date: String(r['created_date']).slice(0, 19),
          expiration_date: r['expiration_date'] === null ? null : String(r['expiration_date']).slice(0, 19),
        })),
      ),
  );

  // Last: a failed insert consumes a PostgreSQL sequence value (SQLite's AUTOINCREMENT does not), so ids would drift after it.
  tt.equal(
    await both(tt, 'duplicate e-mail refused', async (s) => {
      await s.auth.createUser({ username: 'bob2', email: 'bob@example.com', passwordHash: null }, NOW);
      return 'ok';
    }).catch(() => 'refused'),
    'refused',
  );
});

// PostgreSQL only, and last: it adds rows to one side, so ids would no longer line up for later comparisons.
t.test('pg: concurrent writers (pool of 10) stay consistent', async (tt) => {
  const pgs = opened.metadata;
  const repos = await Promise.all([1, 2, 3, 4].map(() => pgs.createRepository('racens', 'same', 'private', NOW)));
  tt.equal(new Set(repos.map((r) => r.id)).size, 1, 'one repository');
  const others = await Promise.all(['x1', 'x2', 'x3'].map((n) => pgs.createRepository('racens2', n, 'private', NOW)));
  tt.equal(new Set(others.map((r) => r.namespaceId)).size, 1, 'one namespace row');
  const repo = repos[0]!.id;
  const d = digest('9');
  const blobs = await Promise.all(
    [1, 2, 3, 4].map(() =>
      pgs.commitBlob({ uploadUuid: null, repositoryId: repo, digest: d, size: 3, uncompressedSize: null, location: 'local_us', nowMs: NOW, linkExpiresMs: NOW + HOUR }),
    ),
  );
  tt.equal(new Set(blobs.map((b) => b.id)).size, 1, 'one imagestorage row per digest');
  const ms = ['a1', 'a2', 'a3'].map((c) => digest(c));
  await Promise.all(ms.map((m) => pgs.putManifest(repo, manifest(m, [d]), { tag: 'race' }, NOW)));
  const alive = (await opened.pool.query("SELECT COUNT(*) AS n FROM tag WHERE repository_id = $1 AND name = 'race' AND lifetime_end_ms IS NULL", [repo])).rows;
  tt.same(alive, [{ n: 1 }], 'one alive row for the tag');
  tt.ok(ms.includes((await pgs.manifestByTag(repo, 'race', NOW + 5))!.digest));
});
