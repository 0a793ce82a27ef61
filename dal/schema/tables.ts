/**
 * The DDL half of our rendering of Quay's database (see quay.ts for
 * the overview, the lookup rows and createQuaySchema): here the tables the
 * registry reads or writes, in tables-quay-only.ts the rest of Quay's
 * schema, which only Python Quay uses.
 *
 * Written for this project from Quay's Alembic history (data/migrations,
 * head 9fa37f66a9b6) and Peewee models (data/database.py). What the
 * statements reproduce is what PostgreSQL holds after `alembic upgrade head`
 * (dal/test/quay-alembic-schema.test.ts compares the catalogs):
 * table, column and index names, column order, nullability, unique indexes,
 * foreign keys and the *server-side* defaults the migrations declare. Peewee's
 * Python-side defaults (uuid4, utcnow, `{}`, ...) are NOT database defaults,
 * so they are not DEFAULT clauses here either: a writer must supply those
 * values, exactly as it would have to against Quay's PostgreSQL. Where a
 * Python default matters, a `--` note says what Quay writes. A default written
 * as a string (`DEFAULT '0'`) is one the migration gave as a string: PostgreSQL
 * keeps the difference (`'0'::bigint`, not `0`).
 *
 * Type mapping: serial/bigserial id -> INTEGER PRIMARY KEY AUTOINCREMENT
 * (ids are never reused, like a PG sequence); varchar/text -> TEXT (Quay's
 * varchar is 255 characters unless a column note says otherwise; SQLite does
 * not enforce it, PostgreSQL does); integer/bigint -> INTEGER; boolean ->
 * INTEGER 0/1; timestamp without time zone -> TEXT holding naive UTC as
 * 'YYYY-MM-DD HH:MM:SS.ffffff'; date -> TEXT 'YYYY-MM-DD'. The PostgreSQL
 * types are put back by ../postgres/schema.ts.
 *
 * Statements run in array order on an empty database; foreign keys point only
 * at tables created earlier.
 */

/** A name-only lookup ("enum") table: rows come from LOOKUP_ROWS. */
export function lookup(table: string, nameIndex: 'unique' | 'plain' | 'none' = 'unique'): string[] {
  const out = [
    `CREATE TABLE ${table} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL
)`,
  ];
  if (nameIndex !== 'none') out.push(`CREATE ${nameIndex === 'unique' ? 'UNIQUE ' : ''}INDEX ${table}_name ON ${table} (name)`);
  return out;
}

/** Plain (non-unique) single/multi-column indexes named Quay's way: <table>_<col>_<col>. */
export function indexes(table: string, ...cols: string[][]): string[] {
  const q = table === 'user' ? '"user"' : table;
  return cols.map((c) => `CREATE INDEX ${table}_${c.join('_')} ON ${q} (${c.join(', ')})`);
}

/** Shared lookup tables (ids differ per installation: always resolve by name). */
const LOOKUPS: readonly string[] = [
  // Repository visibility names (public, private).
  ...lookup('visibility'),
  // Repository kinds (image; legacy application). repository.kind_id defaults to id 1 = image.
  ...lookup('repositorykind'),
  // Repository roles (read, write, admin) for permissions and tokens.
  ...lookup('role'),
  // Team roles (admin, creator, member); Quay's index on the name is not unique.
  ...lookup('teamrole', 'plain'),
  // External login providers, including quayrobot for robot accounts.
  ...lookup('loginservice'),
  // Kinds of legacy repository access tokens.
  ...lookup('accesstokenkind'),
  // Quota limit kinds (Warning, Reject); Quay has no index on the name at all.
  ...lookup('quotatype', 'none'),
  // Why a build trigger was disabled.
  ...lookup('disablereason'),
  // Media types of manifests and labels (manifest.media_type_id, label.media_type_id).
  ...lookup('mediatype'),
  // Tag kinds (only "tag").
  ...lookup('tagkind'),
  // Storage locations: the migration names plus the DISTRIBUTED_STORAGE_CONFIG keys Quay adds at boot.
  ...lookup('imagestoragelocation'),
  // Action log kinds (logentry3.kind_id, which has no FK to this table).
  ...lookup('logentrykind'),
  // Where a label came from (manifest, api, internal) and whether users may change it.
  `CREATE TABLE labelsourcetype (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  mutable INTEGER NOT NULL
)`,
  'CREATE UNIQUE INDEX labelsourcetype_name ON labelsourcetype (name)',
  // Repository notification events, e.g. repo_push.
  ...lookup('externalnotificationevent'),
  // Repository notification delivery methods, e.g. webhook.
  ...lookup('externalnotificationmethod'),
  // In-app (user) notification kinds.
  ...lookup('notificationkind'),
  // Build trigger services (github, gitlab, ...).
  ...lookup('buildtriggerservice'),
  // Kinds of prompts shown to users after login; name index not unique.
  ...lookup('userpromptkind', 'plain'),
  // Legacy image signature kinds.
  ...lookup('imagestoragesignaturekind'),
  // Legacy image transformation names.
  ...lookup('imagestoragetransformation'),
];

/** Namespaces (users, organisations, robots), teams, credentials, service keys. */
const NAMESPACES_AUTH: readonly string[] = [
  // Every namespace: plain users, organisations (organization=1) and robots (robot=1, username "<ns>+<name>").
  `CREATE TABLE "user" (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT,                          -- varchar(36); Quay writes uuid4
  username TEXT NOT NULL,
  password_hash TEXT,                 -- bcrypt; NULL for orgs, robots, external users
  email TEXT NOT NULL,                -- Quay writes a random 64-char string when there is no real address
  verified INTEGER NOT NULL,
  stripe_id TEXT,
  organization INTEGER NOT NULL,
  robot INTEGER NOT NULL,
  invoice_email INTEGER NOT NULL,
  invalid_login_attempts INTEGER NOT NULL DEFAULT 0,
  last_invalid_login TEXT NOT NULL,   -- Quay writes utcnow at creation
  removed_tag_expiration_s INTEGER NOT NULL DEFAULT 1209600,
  enabled INTEGER NOT NULL DEFAULT 1,
  invoice_email_address TEXT,
  company TEXT,
  family_name TEXT,
  given_name TEXT,
  location TEXT,
  maximum_queued_builds_count INTEGER,
  creation_date TEXT,                 -- Quay writes utcnow
  last_accessed TEXT
)`,
  'CREATE UNIQUE INDEX user_username ON "user" (username)',
  // E-mail is unique among non-organisations only (migration b1a79fa8e630).
  'CREATE UNIQUE INDEX user_email_unique_non_org ON "user" (email) WHERE organization = 0',
  'CREATE INDEX user_email_idx ON "user" (email)',
  ...indexes('user', ['invoice_email_address'], ['organization'], ['robot'], ['stripe_id'], ['uuid'], ['last_accessed']),

  // A robot's password, encrypted (v0$$...), one row per robot.
  `CREATE TABLE robotaccounttoken (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  robot_account_id INTEGER NOT NULL REFERENCES "user" (id),
  token TEXT NOT NULL,
  fully_migrated INTEGER NOT NULL DEFAULT 0
)`,
  'CREATE UNIQUE INDEX robotaccounttoken_robot_account_id ON robotaccounttoken (robot_account_id)',

  // A robot's description and free-form JSON metadata.
  `CREATE TABLE robotaccountmetadata (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  robot_account_id INTEGER NOT NULL REFERENCES "user" (id),
  description TEXT NOT NULL,
  unstructured_json TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX robotaccountmetadata_robot_account_id ON robotaccountmetadata (robot_account_id)',

  // Links a namespace to an external identity (robots: service quayrobot, ident robot:<id>).
  `CREATE TABLE federatedlogin (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  service_id INTEGER NOT NULL REFERENCES loginservice (id),
  service_ident TEXT NOT NULL,
  metadata_json TEXT NOT NULL         -- Quay writes '{}'
)`,
  'CREATE UNIQUE INDEX federatedlogin_service_id_service_ident ON federatedlogin (service_id, service_ident)',
  'CREATE UNIQUE INDEX federatedlogin_service_id_user_id ON federatedlogin (service_id, user_id)',
  ...indexes('federatedlogin', ['service_id'], ['user_id']),

  // User-created application tokens: public token_name prefix + encrypted token_secret.
  `CREATE TABLE appspecificauthtoken (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  uuid TEXT NOT NULL,                 -- varchar(36)
  title TEXT NOT NULL,
  created TEXT NOT NULL,
  expiration TEXT,
  last_accessed TEXT,
  token_name TEXT NOT NULL,
  token_secret TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX appspecificauthtoken_token_name ON appspecificauthtoken (token_name)',
  ...indexes('appspecificauthtoken', ['user_id'], ['uuid'], ['user_id', 'expiration']),

  // Teams of an organisation, each with a team role.
  `CREATE TABLE team (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  organization_id INTEGER NOT NULL REFERENCES "user" (id),
  role_id INTEGER NOT NULL REFERENCES teamrole (id),
  description TEXT NOT NULL           -- Quay writes ''
)`,
  'CREATE UNIQUE INDEX team_name_organization_id ON team (name, organization_id)',
  ...indexes('team', ['name'], ['organization_id'], ['role_id']),

  // Membership of users and robots in teams.
  `CREATE TABLE teammember (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  team_id INTEGER NOT NULL REFERENCES team (id)
)`,
  'CREATE UNIQUE INDEX teammember_user_id_team_id ON teammember (user_id, team_id)',
  ...indexes('teammember', ['team_id'], ['user_id']),

  // Default permissions an organisation applies to its new repositories.
  `CREATE TABLE permissionprototype (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id INTEGER NOT NULL REFERENCES "user" (id),
  uuid TEXT NOT NULL,
  activating_user_id INTEGER REFERENCES "user" (id),
  delegate_user_id INTEGER REFERENCES "user" (id),
  delegate_team_id INTEGER REFERENCES team (id),
  role_id INTEGER NOT NULL REFERENCES role (id)
)`,
  ...indexes('permissionprototype', ['activating_user_id'], ['delegate_team_id'], ['delegate_user_id'], ['org_id'], ['org_id', 'activating_user_id'], ['role_id'], ['uuid']),

  // Who approved a service key (approver_id has no FK in Quay's database).
  `CREATE TABLE servicekeyapproval (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  approver_id INTEGER,
  approval_type TEXT NOT NULL,        -- 'Super User API' | 'Key Rotation' | 'Automatic'
  approved_date TEXT NOT NULL,
  notes TEXT NOT NULL
)`,
  ...indexes('servicekeyapproval', ['approval_type'], ['approver_id']),

  // Public JWKs that sign registry bearer tokens (kid = RFC 7638 thumbprint).
  `CREATE TABLE servicekey (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  kid TEXT NOT NULL,
  service TEXT NOT NULL,
  jwk TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_date TEXT NOT NULL,
  expiration_date TEXT,
  rotation_duration INTEGER,
  approval_id INTEGER REFERENCES servicekeyapproval (id)
)`,
  'CREATE UNIQUE INDEX servicekey_kid ON servicekey (kid)',
  ...indexes('servicekey', ['approval_id'], ['service']),
];

/** Repositories and what hangs off them besides content. */
const REPOSITORIES: readonly string[] = [
  // A repository <namespace>/<name>; state: 0 normal, 1 read-only, 2 mirror, 3 marked for deletion, 4 org mirror.
  `CREATE TABLE repository (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_user_id INTEGER REFERENCES "user" (id),
  name TEXT NOT NULL,
  visibility_id INTEGER NOT NULL REFERENCES visibility (id),
  description TEXT,
  badge_token TEXT NOT NULL,          -- Quay writes uuid4
  kind_id INTEGER NOT NULL DEFAULT 1 REFERENCES repositorykind (id),
  trust_enabled INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0
)`,
  'CREATE UNIQUE INDEX repository_namespace_user_id_name ON repository (namespace_user_id, name)',
  ...indexes('repository', ['namespace_user_id'], ['visibility_id'], ['kind_id'], ['state']),
  // PostgreSQL has trigram GIN indexes under these names; plain b-trees here.
  'CREATE INDEX repository_name__fulltext ON repository (name)',
  'CREATE INDEX repository_description__fulltext ON repository (description)',

  // Per-repository role of one user/robot or one team (exactly one of user_id, team_id is set).
  `CREATE TABLE repositorypermission (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  team_id INTEGER REFERENCES team (id),
  user_id INTEGER REFERENCES "user" (id),
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  role_id INTEGER NOT NULL REFERENCES role (id)
)`,
  'CREATE UNIQUE INDEX repositorypermission_team_id_repository_id ON repositorypermission (team_id, repository_id)',
  'CREATE UNIQUE INDEX repositorypermission_user_id_repository_id ON repositorypermission (user_id, repository_id)',
  ...indexes('repositorypermission', ['repository_id'], ['role_id'], ['team_id'], ['user_id']),

  // Marker for a repository awaiting garbage collection (queue repositorygc).
  `CREATE TABLE deletedrepository (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  marked TEXT NOT NULL,
  original_name TEXT NOT NULL,
  queue_id TEXT
)`,
  'CREATE UNIQUE INDEX deletedrepository_repository_id ON deletedrepository (repository_id)',
  ...indexes('deletedrepository', ['original_name'], ['queue_id']),

  // Legacy repository-scoped tokens (build workers, old push/pull tokens).
  `CREATE TABLE accesstoken (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  friendly_name TEXT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  created TEXT NOT NULL,
  role_id INTEGER NOT NULL REFERENCES role (id),
  "temporary" INTEGER NOT NULL,
  kind_id INTEGER REFERENCES accesstokenkind (id),
  token_code TEXT NOT NULL,           -- encrypted secret part
  token_name TEXT NOT NULL            -- public 32-char prefix
)`,
  'CREATE UNIQUE INDEX accesstoken_token_name ON accesstoken (token_name)',
  ...indexes('accesstoken', ['kind_id'], ['repository_id'], ['role_id']),

  // Bytes used by a namespace, maintained on manifest create/delete when quotas are on.
  `CREATE TABLE quotanamespacesize (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_user_id INTEGER NOT NULL REFERENCES "user" (id),
  size_bytes INTEGER NOT NULL DEFAULT '0',
  backfill_start_ms INTEGER,
  backfill_complete INTEGER NOT NULL DEFAULT 0
)`,
  'CREATE UNIQUE INDEX quotanamespacesize_namespace_user_id ON quotanamespacesize (namespace_user_id)',
  ...indexes('quotanamespacesize', ['backfill_start_ms'], ['size_bytes']),

  // Bytes used by a repository, same bookkeeping.
  `CREATE TABLE quotarepositorysize (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  size_bytes INTEGER NOT NULL DEFAULT '0',
  backfill_start_ms INTEGER,
  backfill_complete INTEGER NOT NULL DEFAULT 0
)`,
  'CREATE UNIQUE INDEX quotarepositorysize_repository_id ON quotarepositorysize (repository_id)',
  ...indexes('quotarepositorysize', ['size_bytes']),
];

/** Manifests, tags, blobs and labels. */
const CONTENT: readonly string[] = [
  // One blob per digest, shared by every repository (the bytes live in storage).
  `CREATE TABLE imagestorage (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,                 -- Quay writes uuid4
  image_size INTEGER,
  uncompressed_size INTEGER,
  uploading INTEGER,                  -- legacy; Quay's v2 path leaves its Python default 1
  cas_path INTEGER NOT NULL DEFAULT 0, -- DB default is 0 but Quay writes 1 for every CAS blob: always set it
  content_checksum TEXT               -- 'sha256:<hex>'
)`,
  'CREATE UNIQUE INDEX imagestorage_uuid ON imagestorage (uuid)',
  ...indexes('imagestorage', ['content_checksum']),

  // Which storage locations hold a blob's bytes.
  `CREATE TABLE imagestorageplacement (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  storage_id INTEGER NOT NULL REFERENCES imagestorage (id),
  location_id INTEGER NOT NULL REFERENCES imagestoragelocation (id)
)`,
  'CREATE UNIQUE INDEX imagestorageplacement_storage_id_location_id ON imagestorageplacement (storage_id, location_id)',
  ...indexes('imagestorageplacement', ['location_id'], ['storage_id']),

  // A manifest as pushed, per repository (same digest in two repositories = two rows).
  `CREATE TABLE manifest (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  digest TEXT NOT NULL,
  media_type_id INTEGER NOT NULL REFERENCES mediatype (id),
  manifest_bytes TEXT NOT NULL,
  config_media_type TEXT,
  layers_compressed_size INTEGER,
  subject TEXT,                       -- digest of the OCI subject (referrers)
  subject_backfilled INTEGER,         -- nullable in the DB; Quay writes 1 on push
  artifact_type TEXT,
  artifact_type_backfilled INTEGER    -- nullable in the DB; Quay writes 1 on push
)`,
  'CREATE UNIQUE INDEX manifest_repository_id_digest ON manifest (repository_id, digest)',
  ...indexes(
    'manifest',
    ['digest'],
    ['media_type_id'],
    ['repository_id'],
    ['repository_id', 'media_type_id'],
    ['repository_id', 'config_media_type'],
    ['repository_id', 'subject'],
    ['subject_backfilled'],
    ['repository_id', 'artifact_type'],
    ['artifact_type_backfilled'],
  ),

  // Blobs (config and layers) a manifest references; links blobs to the repository. id is bigint in PG.
  `CREATE TABLE manifestblob (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  manifest_id INTEGER NOT NULL REFERENCES manifest (id),
  blob_id INTEGER NOT NULL REFERENCES imagestorage (id)
)`,
  'CREATE UNIQUE INDEX manifestblob_manifest_id_blob_id ON manifestblob (manifest_id, blob_id)',
  ...indexes('manifestblob', ['blob_id'], ['manifest_id'], ['repository_id'], ['repository_id', 'blob_id']),

  // Children of a manifest list / OCI index.
  `CREATE TABLE manifestchild (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  manifest_id INTEGER NOT NULL REFERENCES manifest (id),
  child_manifest_id INTEGER NOT NULL REFERENCES manifest (id)
)`,
  'CREATE UNIQUE INDEX manifestchild_manifest_id_child_manifest_id ON manifestchild (manifest_id, child_manifest_id)',
  ...indexes(
    'manifestchild',
    ['child_manifest_id'],
    ['manifest_id'],
    ['repository_id'],
    ['repository_id', 'child_manifest_id'],
    ['repository_id', 'manifest_id'],
    ['repository_id', 'manifest_id', 'child_manifest_id'],
  ),

  // Tag history: one row per (name, lifetime); alive = lifetime_end_ms NULL or in the future.
  `CREATE TABLE tag (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  manifest_id INTEGER REFERENCES manifest (id),
  lifetime_start_ms INTEGER NOT NULL, -- epoch ms; Quay writes now
  lifetime_end_ms INTEGER,
  hidden INTEGER NOT NULL DEFAULT 0,
  reversion INTEGER NOT NULL DEFAULT 0,
  tag_kind_id INTEGER NOT NULL REFERENCES tagkind (id),
  linked_tag_id INTEGER REFERENCES tag (id),
  immutable INTEGER NOT NULL DEFAULT 0
)`,
  'CREATE UNIQUE INDEX tag_repository_id_name_lifetime_end_ms ON tag (repository_id, name, lifetime_end_ms)',
  ...indexes(
    'tag',
    ['lifetime_end_ms'],
    ['linked_tag_id'],
    ['manifest_id'],
    ['repository_id'],
    ['repository_id', 'name'],
    ['repository_id', 'name', 'hidden'],
    ['repository_id', 'name', 'tag_kind_id'],
    ['tag_kind_id'],
    ['repository_id', 'lifetime_end_ms'],
    ['repository_id', 'lifetime_start_ms'],
    ['repository_id', 'immutable'],
    ['manifest_id', 'immutable'],
    ['manifest_id', 'lifetime_end_ms'],
  ),

  // A key/value label; attached to manifests through manifestlabel.
  `CREATE TABLE label (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  "key" TEXT NOT NULL,
  value TEXT NOT NULL,
  media_type_id INTEGER NOT NULL REFERENCES mediatype (id),
  source_type_id INTEGER NOT NULL REFERENCES labelsourcetype (id)
)`,
  'CREATE UNIQUE INDEX label_uuid ON label (uuid)',
  'CREATE INDEX label_key ON label ("key")',
  ...indexes('label', ['media_type_id'], ['source_type_id']),

  // Which labels a manifest carries.
  `CREATE TABLE manifestlabel (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  manifest_id INTEGER NOT NULL REFERENCES manifest (id),
  label_id INTEGER NOT NULL REFERENCES label (id)
)`,
  'CREATE UNIQUE INDEX manifestlabel_manifest_id_label_id ON manifestlabel (manifest_id, label_id)',
  ...indexes('manifestlabel', ['label_id'], ['manifest_id'], ['repository_id']),
];

/** Blob uploads in progress and recently committed blobs. */
const UPLOADS: readonly string[] = [
  // Temporary link keeping a just-uploaded (or mounted) blob alive in a repository until expires_at. id is bigint in PG.
  `CREATE TABLE uploadedblob (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  blob_id INTEGER NOT NULL REFERENCES imagestorage (id),
  uploaded_at TEXT NOT NULL,          -- Quay writes utcnow
  expires_at TEXT NOT NULL
)`,
  ...indexes('uploadedblob', ['blob_id'], ['expires_at'], ['repository_id']),

  // An upload session: bytes accepted so far, resumable hasher state, driver metadata.
  // created: Quay's migration gave it a server default frozen at the moment it
  // ran (a constant timestamp). The PostgreSQL rendering reproduces that with
  // the moment the schema is created, so the catalogs match; SQLite has none.
  // Either way the default would make a row look stale at once: every writer
  // must set created (Quay writes now()).
  `CREATE TABLE blobupload (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  uuid TEXT NOT NULL,
  byte_count INTEGER NOT NULL,        -- no DB default; Quay writes 0 at start
  sha_state TEXT,                     -- base64(pickle(resumablesha256)) in Quay
  location_id INTEGER NOT NULL REFERENCES imagestoragelocation (id),
  storage_metadata TEXT,              -- JSON; Quay writes '{}' for local storage
  chunk_count INTEGER NOT NULL DEFAULT 0,
  uncompressed_byte_count INTEGER,
  created TEXT NOT NULL,
  piece_sha_state TEXT,
  piece_hashes TEXT
)`,
  'CREATE UNIQUE INDEX blobupload_uuid ON blobupload (uuid)',
  'CREATE UNIQUE INDEX blobupload_repository_id_uuid ON blobupload (repository_id, uuid)',
  ...indexes('blobupload', ['created'], ['location_id'], ['repository_id']),
];

/** Work queue, action logs, schema version. */
const QUEUE_LOGS: readonly string[] = [
  // Work items of every worker queue; claimed by compare-and-swap on state_id.
  `CREATE TABLE queueitem (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_name TEXT NOT NULL,           -- varchar(1024)
  body TEXT NOT NULL,
  available_after TEXT NOT NULL,
  available INTEGER NOT NULL,
  processing_expires TEXT,
  retries_remaining INTEGER NOT NULL,
  state_id TEXT NOT NULL DEFAULT ''   -- unique: every writer must put a fresh uuid4 here
)`,
  'CREATE UNIQUE INDEX queueitem_state_id ON queueitem (state_id)',
  ...indexes('queueitem', ['queue_name'], ['processing_expires', 'available'], ['processing_expires', 'queue_name', 'available']),
  // Quay shortened these two names to fit identifier limits.
  'CREATE INDEX queueitem_pe_aafter_qname_rremaining_available ON queueitem (processing_expires, available_after, queue_name, retries_remaining, available)',
  'CREATE INDEX queueitem_pexpires_aafter_rremaining_available ON queueitem (processing_expires, available_after, retries_remaining, available)',

  // Action (audit) log entries; kind_id/account_id/performer_id/repository_id carry no FK. id is bigint in PG.
  `CREATE TABLE logentry3 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind_id INTEGER NOT NULL,
  account_id INTEGER NOT NULL,
  performer_id INTEGER,
  repository_id INTEGER,
  datetime TEXT NOT NULL,
  ip TEXT,
  metadata_json TEXT NOT NULL
)`,
  ...indexes('logentry3', ['account_id', 'datetime'], ['datetime'], ['performer_id', 'datetime'], ['repository_id', 'datetime', 'kind_id']),

  // Alembic's record of the schema revision: exactly one row.
  `CREATE TABLE alembic_version (
  version_num TEXT NOT NULL PRIMARY KEY -- varchar(32)
)`,
];

/** The statements by group, in execution order (before QUAY_ONLY_GROUPS, see schema.ts). */
export const REGISTRY_GROUPS: Readonly<Record<string, readonly string[]>> = {
  lookups: LOOKUPS,
  namespacesAuth: NAMESPACES_AUTH,
  repositories: REPOSITORIES,
  content: CONTENT,
  uploads: UPLOADS,
  queueLogs: QUEUE_LOGS,
};
