import t from 'tap';
import type { Test } from 'tap';
import Database from 'better-sqlite3';
import { EXPLICIT_ID_LOOKUPS, LOOKUP_ROWS, QUAY_ALEMBIC_HEAD, REGISTRY_TABLES, SCHEMA_SQL, SchemaVersionError, expectedQuayTables } from '../schema/quay.js';
import { createQuaySchema, ensureImageLocations, readAlembicVersion, sqliteTables } from '../sqlite/schema.js';
import { formatQuayTimestamp } from '../model/time.js';

type Db = Database.Database;

function fresh(): Db {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  createQuaySchema(db);
  return db;
}

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}
function columns(db: Db, table: string): Map<string, ColumnInfo> {
  const rows = db.prepare(`PRAGMA table_info("${table}")`).all() as ColumnInfo[];
  return new Map(rows.map((r) => [r.name, r]));
}
function names(db: Db, table: string): string[] {
  return db.prepare(`SELECT name FROM ${table} ORDER BY id`).pluck().all() as string[];
}
function id(db: Db, table: string, name: string): number {
  return db.prepare(`SELECT id FROM ${table} WHERE name = ?`).pluck().get(name) as number;
}
function uniqueError(t: Test, fn: () => unknown, msg: string): void {
  t.throws(fn, { code: 'SQLITE_CONSTRAINT_UNIQUE' }, msg);
}

/** Key columns per table (the quay-schema.md ones and a few more), checked through PRAGMA table_info. */
const KEY_COLUMNS: Record<string, string[]> = {
  user: [
    'id',
    'uuid',
    'username',
    'password_hash',
    'email',
    'verified',
    'organization',
    'robot',
    'enabled',
    'removed_tag_expiration_s',
    'stripe_id',
    'maximum_queued_builds_count',
    'creation_date',
    'last_accessed',
    'invalid_login_attempts',
    'last_invalid_login',
    'given_name',
    'family_name',
    'company',
    'location',
  ],
  visibility: ['id', 'name'],
  repositorykind: ['id', 'name'],
  role: ['id', 'name'],
  teamrole: ['id', 'name'],
  team: ['id', 'name', 'organization_id', 'role_id', 'description'],
  teammember: ['id', 'user_id', 'team_id'],
  repositorypermission: ['id', 'repository_id', 'role_id', 'user_id', 'team_id'],
  permissionprototype: ['id', 'org_id', 'uuid', 'activating_user_id', 'delegate_user_id', 'delegate_team_id', 'role_id'],
  robotaccounttoken: ['id', 'robot_account_id', 'token', 'fully_migrated'],
  robotaccountmetadata: ['id', 'robot_account_id', 'description', 'unstructured_json'],
  federatedlogin: ['id', 'user_id', 'service_id', 'service_ident', 'metadata_json'],
  loginservice: ['id', 'name'],
  appspecificauthtoken: ['id', 'user_id', 'uuid', 'title', 'token_name', 'token_secret', 'created', 'expiration', 'last_accessed'],
  repository: ['id', 'namespace_user_id', 'name', 'visibility_id', 'kind_id', 'state', 'description', 'badge_token', 'trust_enabled'],
  deletedrepository: ['id', 'repository_id', 'marked', 'original_name', 'queue_id'],
  mediatype: ['id', 'name'],
  manifest: [
    'id',
    'repository_id',
    'digest',
    'media_type_id',
    'manifest_bytes',
    'config_media_type',
    'layers_compressed_size',
    'subject',
    'artifact_type',
    'subject_backfilled',
    'artifact_type_backfilled',
  ],
  manifestblob: ['id', 'repository_id', 'manifest_id', 'blob_id'],
  manifestchild: ['id', 'repository_id', 'manifest_id', 'child_manifest_id'],
  tagkind: ['id', 'name'],
  tag: ['id', 'name', 'repository_id', 'manifest_id', 'lifetime_start_ms', 'lifetime_end_ms', 'hidden', 'reversion', 'immutable', 'tag_kind_id', 'linked_tag_id'],
  imagestorage: ['id', 'uuid', 'content_checksum', 'image_size', 'uncompressed_size', 'cas_path', 'uploading'],
  imagestoragelocation: ['id', 'name'],
  imagestorageplacement: ['id', 'storage_id', 'location_id'],
  uploadedblob: ['id', 'repository_id', 'blob_id', 'uploaded_at', 'expires_at'],
  blobupload: [
    'id',
    'repository_id',
    'uuid',
    'byte_count',
    'sha_state',
    'location_id',
    'storage_metadata',
    'chunk_count',
    'uncompressed_byte_count',
    'created',
    'piece_sha_state',
    'piece_hashes',
  ],
  servicekey: ['id', 'name', 'kid', 'service', 'jwk', 'metadata', 'created_date', 'expiration_date', 'rotation_duration', 'approval_id'],
  servicekeyapproval: ['id', 'approver_id', 'approval_type', 'approved_date', 'notes'],
  label: ['id', 'uuid', 'key', 'value', 'media_type_id', 'source_type_id'],
  manifestlabel: ['id', 'repository_id', 'manifest_id', 'label_id'],
  labelsourcetype: ['id', 'name', 'mutable'],
  quotanamespacesize: ['id', 'namespace_user_id', 'size_bytes', 'backfill_start_ms', 'backfill_complete'],
  quotarepositorysize: ['id', 'repository_id', 'size_bytes', 'backfill_start_ms', 'backfill_complete'],
  queueitem: ['id', 'queue_name', 'body', 'available_after', 'available', 'processing_expires', 'retries_remaining', 'state_id'],
  logentrykind: ['id', 'name'],
  logentry3: ['id', 'kind_id', 'account_id', 'performer_id', 'repository_id', 'datetime', 'ip', 'metadata_json'],
  accesstokenkind: ['id', 'name'],
  accesstoken: ['id', 'friendly_name', 'token_name', 'token_code', 'repository_id', 'created', 'role_id', 'temporary', 'kind_id'],
  disablereason: ['id', 'name'],
  quotatype: ['id', 'name'],
  alembic_version: ['version_num'],
};

t.test('every table exists with its key columns', async (t) => {
  const db = fresh();
  const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence'").pluck().all() as string[]);
  t.equal(tables.size, 105, "Quay's 105 tables, alembic_version included");
  t.same(
    Object.keys(KEY_COLUMNS).filter((tb) => tb !== 'alembic_version' && !REGISTRY_TABLES.includes(tb)),
    [],
    'the key tables are among those the registry uses',
  );
  t.equal(REGISTRY_TABLES.length, 48, 'the registry uses 48 of them');
  for (const tb of ['repositorybuild', 'oauthaccesstoken', 'repomirrorconfig', 'logentry', 'apprtag', 'star', 'namespacenotification']) {
    t.ok(tables.has(tb) && !REGISTRY_TABLES.includes(tb), `Quay-only table ${tb} exists`);
  }
  for (const [table, cols] of Object.entries(KEY_COLUMNS)) {
    t.ok(tables.has(table), `table ${table} exists`);
    const have = columns(db, table);
    t.same(
      cols.filter((c) => !have.has(c)),
      [],
      `${table} has ${cols.join(', ')}`,
    );
  }
  const id = columns(db, 'manifest').get('id');
  t.equal(id?.pk, 1, 'id is the primary key');
  t.match(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'manifest'").pluck().get(), /AUTOINCREMENT/);
  t.equal(columns(db, 'alembic_version').get('version_num')?.pk, 1);
});

t.test('NOT NULL columns without a database default are exactly what writers must fill', async (t) => {
  const db = fresh();
  const required = (table: string) => [...columns(db, table).values()].filter((c) => c.notnull === 1 && c.dflt_value === null && c.pk === 0).map((c) => c.name);
  t.same(required('repository'), ['name', 'visibility_id', 'badge_token']);
  t.same(required('manifest'), ['repository_id', 'digest', 'media_type_id', 'manifest_bytes']);
  t.same(required('tag'), ['name', 'repository_id', 'lifetime_start_ms', 'tag_kind_id']);
  t.same(required('imagestorage'), ['uuid']);
  t.same(required('blobupload'), ['repository_id', 'uuid', 'byte_count', 'location_id', 'created']);
  t.same(required('uploadedblob'), ['repository_id', 'blob_id', 'uploaded_at', 'expires_at']);
  t.same(required('user'), ['username', 'email', 'verified', 'organization', 'robot', 'invoice_email', 'last_invalid_login']);
  t.same(required('queueitem'), ['queue_name', 'body', 'available_after', 'available', 'retries_remaining']);
  // Server defaults Quay's migrations declare.
  t.equal(columns(db, 'imagestorage').get('cas_path')?.dflt_value, '0', 'cas_path defaults to false in the DB (Quay writes true)');
  t.equal(columns(db, 'user').get('removed_tag_expiration_s')?.dflt_value, '1209600');
  t.equal(columns(db, 'repository').get('kind_id')?.dflt_value, '1');
  t.equal(columns(db, 'queueitem').get('state_id')?.dflt_value, "''");
});

t.test('lookup rows', async (t) => {
  const db = fresh();
  for (const [table, expected] of Object.entries(LOOKUP_ROWS)) {
    t.same(
      names(db, table).filter((n) => expected.includes(n)),
      expected,
      `${table} holds its migration rows in order`,
    );
  }
  t.same(names(db, 'visibility'), ['public', 'private']);
  t.same(names(db, 'tagkind'), ['tag']);
  t.same(names(db, 'role'), ['admin', 'write', 'read']);
  t.same(names(db, 'teamrole'), ['admin', 'creator', 'member']);
  t.same(names(db, 'repositorykind'), ['image', 'application']);
  t.equal(id(db, 'repositorykind', 'image'), 1, 'kind_id default 1 is image');
  const media = names(db, 'mediatype');
  for (const m of [
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
    'application/json',
    'text/plain',
  ]) {
    t.ok(media.includes(m), `mediatype ${m}`);
  }
  t.equal(media.length, 18);
  t.ok(names(db, 'imagestoragelocation').includes('local_us'), 'local_us storage location');
  t.ok(names(db, 'loginservice').includes('quayrobot'), 'quayrobot login service');
  t.same(names(db, 'accesstokenkind'), ['build-worker', 'pushpull-token']);
  t.same(names(db, 'quotatype'), ['Warning', 'Reject']);
  const kinds = names(db, 'logentrykind');
  t.equal(kinds.length, 146);
  for (const k of [
    'push_repo',
    'pull_repo',
    'create_tag',
    'move_tag',
    'delete_tag',
    'revert_tag',
    'create_repo',
    'delete_repo',
    'login_success',
    'manifest_label_add',
    'create_namespace_notification',
    'org_mirror_repo_created',
  ]) {
    t.ok(kinds.includes(k), `logentrykind ${k}`);
  }
  for (const table of EXPLICIT_ID_LOOKUPS) {
    t.same(
      db.prepare(`SELECT id, name FROM ${table} ORDER BY id`).all(),
      LOOKUP_ROWS[table]!.map((name, i) => ({ id: i + 1, name })),
      `${table} ids as Quay's migrations give them`,
    );
  }
  t.same(names(db, 'apprtagkind'), ['tag', 'release', 'channel']);
  t.same(db.prepare('SELECT name, mutable FROM labelsourcetype ORDER BY id').all(), [
    { name: 'manifest', mutable: 0 },
    { name: 'api', mutable: 1 },
    { name: 'internal', mutable: 0 },
  ]);
  t.equal(readAlembicVersion(db), QUAY_ALEMBIC_HEAD);
  t.equal(QUAY_ALEMBIC_HEAD, '9fa37f66a9b6');
});

/** A namespace, a repository and a manifest to hang rows on. */
function seed(db: Db) {
  const now = formatQuayTimestamp(new Date());
  const insUser = db.prepare(`INSERT INTO "user" (uuid, username, email, verified, organization, robot, invoice_email, last_invalid_login)
    VALUES (?, ?, ?, 0, ?, 0, 0, ?)`);
  const ns = Number(insUser.run('u-1', 'acme', 'acme@example.com', 1, now).lastInsertRowid);
  const insRepo = db.prepare('INSERT INTO repository (namespace_user_id, name, visibility_id, badge_token) VALUES (?, ?, ?, ?)');
  const repo = Number(insRepo.run(ns, 'app', id(db, 'visibility', 'private'), 'b1').lastInsertRowid);
  const repo2 = Number(insRepo.run(ns, 'other', id(db, 'visibility', 'public'), 'b2').lastInsertRowid);
  const mt = id(db, 'mediatype', 'application/vnd.oci.image.manifest.v1+json');
  const insManifest = db.prepare('INSERT INTO manifest (repository_id, digest, media_type_id, manifest_bytes) VALUES (?, ?, ?, ?)');
  const manifest = Number(insManifest.run(repo, 'sha256:aa', mt, '{}').lastInsertRowid);
  return { now, insUser, ns, repo, repo2, mt, insManifest, manifest };
}

t.test('unique constraints', async (t) => {
  const db = fresh();
  const s = seed(db);

  uniqueError(t, () => s.insManifest.run(s.repo, 'sha256:aa', s.mt, '{}'), 'manifest (repository, digest) is unique');
  t.ok(s.insManifest.run(s.repo2, 'sha256:aa', s.mt, '{}'), 'the same digest in another repository is another row');

  const tagKind = id(db, 'tagkind', 'tag');
  const insTag = db.prepare('INSERT INTO tag (name, repository_id, manifest_id, lifetime_start_ms, lifetime_end_ms, tag_kind_id) VALUES (?, ?, ?, ?, ?, ?)');
  insTag.run('latest', s.repo, s.manifest, 1, 5, tagKind);
  uniqueError(t, () => insTag.run('latest', s.repo, s.manifest, 2, 5, tagKind), 'tag (repository, name, lifetime_end_ms) is unique');
  insTag.run('latest', s.repo, s.manifest, 6, null, tagKind);
  t.ok(insTag.run('latest', s.repo, s.manifest, 7, null, tagKind), 'NULL lifetime_end_ms values are distinct: the index does not stop two open-ended rows (as in PostgreSQL)');
  const row = db.prepare('SELECT hidden, reversion, immutable FROM tag WHERE lifetime_end_ms = 5').get();
  t.same(row, { hidden: 0, reversion: 0, immutable: 0 }, 'tag flags default to false');

  const insBlob = db.prepare('INSERT INTO imagestorage (uuid, content_checksum, image_size, cas_path) VALUES (?, ?, ?, 1)');
  const blob = Number(insBlob.run('uuid-1', 'sha256:bb', 3).lastInsertRowid);
  uniqueError(t, () => insBlob.run('uuid-1', 'sha256:cc', 3), 'imagestorage.uuid is unique');
  t.ok(insBlob.run('uuid-2', 'sha256:bb', 3), 'content_checksum is indexed, not unique');

  const local = id(db, 'imagestoragelocation', 'local_us');
  const insPlacement = db.prepare('INSERT INTO imagestorageplacement (storage_id, location_id) VALUES (?, ?)');
  insPlacement.run(blob, local);
  uniqueError(t, () => insPlacement.run(blob, local), 'placement (storage, location) is unique');

  const insMb = db.prepare('INSERT INTO manifestblob (repository_id, manifest_id, blob_id) VALUES (?, ?, ?)');
  insMb.run(s.repo, s.manifest, blob);
  uniqueError(t, () => insMb.run(s.repo, s.manifest, blob), 'manifestblob (manifest, blob) is unique');

  const insUpload = db.prepare('INSERT INTO blobupload (repository_id, uuid, byte_count, location_id, created) VALUES (?, ?, 0, ?, ?)');
  insUpload.run(s.repo, 'up-1', local, s.now);
  uniqueError(t, () => insUpload.run(s.repo2, 'up-1', local, s.now), 'blobupload.uuid is unique across repositories');
  t.equal(db.prepare("SELECT chunk_count FROM blobupload WHERE uuid = 'up-1'").pluck().get(), 0);

  const insRepo = db.prepare('INSERT INTO repository (namespace_user_id, name, visibility_id, badge_token) VALUES (?, ?, ?, ?)');
  uniqueError(t, () => insRepo.run(s.ns, 'app', id(db, 'visibility', 'public'), 'b3'), 'repository (namespace, name) is unique');
  const r = db.prepare('SELECT kind_id, state, trust_enabled FROM repository WHERE id = ?').get(s.repo);
  t.same(r, { kind_id: id(db, 'repositorykind', 'image'), state: 0, trust_enabled: 0 });

  uniqueError(t, () => s.insUser.run('u-2', 'acme', 'x@example.com', 0, s.now), 'username is unique');
  t.ok(s.insUser.run('u-3', 'acme2', 'acme@example.com', 1, s.now), 'organisations may share an e-mail address');
  s.insUser.run('u-4', 'alice', 'alice@example.com', 0, s.now);
  uniqueError(t, () => s.insUser.run('u-5', 'alice2', 'alice@example.com', 0, s.now), 'e-mail is unique among non-organisations');
  const u = db.prepare('SELECT enabled, removed_tag_expiration_s, invalid_login_attempts FROM "user" WHERE username = \'alice\'').get();
  t.same(u, { enabled: 1, removed_tag_expiration_s: 1209600, invalid_login_attempts: 0 });

  const insQueue = db.prepare("INSERT INTO queueitem (queue_name, body, available_after, available, retries_remaining, state_id) VALUES ('q/', '{}', ?, 1, 5, ?)");
  insQueue.run(s.now, 's-1');
  uniqueError(t, () => insQueue.run(s.now, 's-1'), 'queueitem.state_id is unique');
  const insQueueNoState = db.prepare("INSERT INTO queueitem (queue_name, body, available_after, available, retries_remaining) VALUES ('q/', '{}', ?, 1, 5)");
  insQueueNoState.run(s.now);
  uniqueError(t, () => insQueueNoState.run(s.now), 'a second item left with the default state_id collides');

  const team = db.prepare("INSERT INTO team (name, organization_id, role_id, description) VALUES ('owners', ?, ?, '')");
  team.run(s.ns, id(db, 'teamrole', 'admin'));
  uniqueError(t, () => team.run(s.ns, id(db, 'teamrole', 'member')), 'team (name, organization) is unique');
});

t.test('foreign keys are declared (and enforced when the connection enables them)', async (t) => {
  const db = fresh();
  const fk = (table: string) => (db.prepare(`PRAGMA foreign_key_list("${table}")`).all() as { table: string; from: string }[]).map((r) => `${r.from}->${r.table}`).sort();
  t.same(fk('tag'), ['linked_tag_id->tag', 'manifest_id->manifest', 'repository_id->repository', 'tag_kind_id->tagkind']);
  t.same(fk('manifestblob'), ['blob_id->imagestorage', 'manifest_id->manifest', 'repository_id->repository']);
  t.same(fk('logentry3'), [], 'logentry3 has no foreign keys');
  t.throws(() => db.prepare("INSERT INTO manifest (repository_id, digest, media_type_id, manifest_bytes) VALUES (999, 'sha256:x', 1, '{}')").run(), {
    code: 'SQLITE_CONSTRAINT_FOREIGNKEY',
  });
  t.same(db.pragma('foreign_key_check'), [], 'no dangling references after creation');
});

t.test('ids are never reused', async (t) => {
  const db = fresh();
  const ins = db.prepare('INSERT INTO imagestorage (uuid, cas_path) VALUES (?, 1)');
  const first = Number(ins.run('a').lastInsertRowid);
  db.prepare('DELETE FROM imagestorage WHERE id = ?').run(first);
  t.ok(Number(ins.run('b').lastInsertRowid) > first, 'a deleted id is not handed out again');
});

t.test('a second call is a no-op', async (t) => {
  const db = fresh();
  const before = db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
  const loc = db.prepare('SELECT count(*) FROM imagestoragelocation').pluck().get();
  createQuaySchema(db);
  createQuaySchema(db, { storageLocations: ['elsewhere'] });
  t.equal(db.prepare('SELECT count(*) FROM sqlite_master').pluck().get(), before);
  t.equal(db.prepare('SELECT count(*) FROM imagestoragelocation').pluck().get(), loc);
  t.same(db.prepare('SELECT version_num FROM alembic_version').pluck().all(), [QUAY_ALEMBIC_HEAD]);
});

t.test('a database at another alembic version is refused untouched', async (t) => {
  const db = new Database(':memory:');
  db.exec("CREATE TABLE alembic_version (version_num TEXT NOT NULL PRIMARY KEY); INSERT INTO alembic_version VALUES ('b1c2d3e4f5a6')");
  t.throws(() => createQuaySchema(db), { code: 'REG_SCHEMA_VERSION', expected: '9fa37f66a9b6', found: 'b1c2d3e4f5a6', message: /b1c2d3e4f5a6.*9fa37f66a9b6/ });
  let err: unknown;
  try {
    createQuaySchema(db);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof SchemaVersionError, 'the error is a SchemaVersionError');
  t.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get(), 1, 'no table was created');

  const empty = new Database(':memory:');
  empty.exec('CREATE TABLE alembic_version (version_num TEXT NOT NULL PRIMARY KEY)');
  t.throws(() => createQuaySchema(empty), { code: 'REG_SCHEMA_VERSION' }, 'an empty alembic_version is not the head');

  const foreign = new Database(':memory:');
  foreign.exec('CREATE TABLE repository (id INTEGER PRIMARY KEY)');
  t.throws(
    () => createQuaySchema(foreign),
    { code: 'REG_SCHEMA_VERSION', found: /no alembic_version, and its tables differ from Quay's: table visibility is missing/ },
    'Quay tables without alembic_version that do not fit are refused',
  );
  t.same(foreign.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(), ['repository'], '... untouched');
});

/** Our layout without alembic_version, as Quay's initdb.py leaves a database. */
function unstamped(): InstanceType<typeof Database> {
  const db = new Database(':memory:');
  createQuaySchema(db);
  db.exec('DROP TABLE alembic_version; DELETE FROM imagestoragelocation');
  return db;
}

t.test("an unstamped database whose tables fit (Quay's initdb.py) is accepted and left unstamped", async (t) => {
  const db = unstamped();
  db.exec('ALTER TABLE repository ADD COLUMN future_thing TEXT');
  db.exec('ALTER TABLE repository ADD COLUMN future_flag INTEGER NOT NULL DEFAULT 0');
  createQuaySchema(db, { storageLocations: ['local_us', 'other'] });
  t.equal(readAlembicVersion(db), undefined, 'no alembic_version is written');
  t.same(db.prepare('SELECT name FROM imagestoragelocation ORDER BY id').pluck().all(), ['local_us', 'other'], 'storage locations are ensured (DML, as Quay boot does)');
  createQuaySchema(db);
  t.pass('opening it again is fine');
});

t.test('an unstamped database without the tables only Quay uses is accepted (initdb.py makes no app-registry tables)', async (t) => {
  const db = unstamped();
  for (const table of [
    'apprtag',
    'apprmanifestlistmanifest',
    'apprmanifestlist',
    'apprmanifestblob',
    'apprmanifest',
    'apprblobplacement',
    'apprblob',
    'apprtagkind',
    'apprblobplacementlocation',
    'star',
    'repositorybuild',
  ])
    db.exec(`DROP TABLE ${table}`);
  createQuaySchema(db);
  t.equal(readAlembicVersion(db), undefined, 'accepted, unstamped');
  t.notOk(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'apprtag'").get(), 'and not completed: the database is not ours');
});

t.test('an unstamped database that does not fit is refused, naming what differs', async (t) => {
  const missing = unstamped();
  missing.exec('DROP INDEX manifest_artifact_type_backfilled; ALTER TABLE manifest DROP COLUMN artifact_type_backfilled');
  t.throws(() => createQuaySchema(missing), { code: 'REG_SCHEMA_VERSION', found: /column manifest\.artifact_type_backfilled is missing/ });
  const strict = unstamped();
  strict.exec("ALTER TABLE manifest ADD COLUMN must_fill TEXT NOT NULL DEFAULT 'x'");
  createQuaySchema(strict);
  t.pass('an extra NOT NULL column with a default is fine');
  const noDefault = unstamped();
  noDefault.exec('DROP TABLE blobupload');
  noDefault.exec(
    'CREATE TABLE blobupload (id INTEGER PRIMARY KEY, repository_id INTEGER NOT NULL, uuid TEXT NOT NULL, byte_count INTEGER NOT NULL, sha_state TEXT, location_id INTEGER NOT NULL, storage_metadata TEXT, chunk_count INTEGER NOT NULL DEFAULT 0, uncompressed_byte_count INTEGER, created TEXT NOT NULL, piece_sha_state TEXT, piece_hashes TEXT, owner TEXT NOT NULL)',
  );
  t.throws(() => createQuaySchema(noDefault), { code: 'REG_SCHEMA_VERSION', found: /column blobupload\.owner is NOT NULL without a default and unknown to us/ });
  const many = unstamped();
  for (const table of ['label', 'manifestlabel', 'labelsourcetype', 'logentry3', 'queueitem', 'quotarepositorysize']) many.exec(`DROP TABLE ${table}`);
  t.throws(() => createQuaySchema(many), { code: 'REG_SCHEMA_VERSION', found: /\(and 1 more\)$/ }, 'at most five problems are named');
});

t.test('a failed creation leaves nothing behind', async (t) => {
  const db = new Database(':memory:');
  // A table the DDL does not check for but will collide with half-way through.
  db.exec('CREATE TABLE queueitem (id INTEGER PRIMARY KEY)');
  t.throws(() => createQuaySchema(db));
  t.same(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(), ['queueitem']);
});

t.test('helpers', async (t) => {
  t.equal(formatQuayTimestamp(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 67))), '2024-01-02 03:04:05.067000');
  const db = fresh();
  const n = db.prepare('SELECT count(*) FROM imagestoragelocation').pluck().get() as number;
  ensureImageLocations(db, ['local_us', 'default']);
  t.equal(db.prepare('SELECT count(*) FROM imagestoragelocation').pluck().get(), n + 1);
  t.ok(
    SCHEMA_SQL.every((s) => /^CREATE (UNIQUE )?(TABLE|INDEX) /.test(s)),
    'SCHEMA_SQL holds only CREATE TABLE / CREATE INDEX',
  );
});

t.test('expectedQuayTables (read off the DDL) is what SQLite makes of the DDL, for the registry tables', async (t) => {
  const db = new Database(':memory:');
  for (const sql of SCHEMA_SQL) db.exec(sql);
  const made = sqliteTables(db);
  const want = expectedQuayTables();
  t.same([...want.keys()].sort(), [...REGISTRY_TABLES].sort(), 'one entry per registry table');
  for (const [table, cols] of want) t.same(Object.fromEntries(cols), Object.fromEntries(made.get(table)!), table);
  db.close();
});
