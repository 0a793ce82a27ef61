/**
 * Quay's database layout, rendered for SQLite, and the routine that lays it
 * down on an empty database.
 *
 * Why: Python Quay and this project must be able to share one database, so we
 * do not invent tables. Everything lives where Quay keeps it:
 *  - one `"user"` table for users, organisations and robots; teams, team
 *    members, per-repository permissions and credentials hang off it;
 *  - `repository` rows per <namespace>/<name>;
 *  - content per repository: `manifest` (exact pushed bytes), `tag` as a
 *    history table (a tag move closes a row and opens another), `manifestblob`
 *    and `manifestchild` linking manifests to blobs and children, labels;
 *  - blobs once globally: `imagestorage` (one row per digest) with
 *    `imagestorageplacement` naming the storage locations that hold the bytes;
 *    `uploadedblob` keeps a fresh blob alive in a repository, `blobupload`
 *    tracks uploads in progress;
 *  - `queueitem` for all worker queues, `logentry3` for the action log;
 *  - lookup ("enum") tables whose rows Quay's migrations insert; ids are
 *    whatever the insert order gave, so code must resolve them by name;
 *  - `alembic_version`, the schema revision Python Quay checks;
 *  - and the rest of Quay's 105 tables (builds, notifications, OAuth,
 *    mirroring, quotas, ...), which only Python Quay reads or writes
 *    (schema-tables-quay-only.ts), so that Python Quay can run on a database
 *    we created.
 *
 * Where PostgreSQL is shared with Python Quay, Alembic owns the schema and we
 * only read `alembic_version`. This module is for databases we own (SQLite
 * in mirror mode, tests): it creates the tables, inserts the lookup rows and
 * stamps the Alembic head, so that Quay would accept the database as current.
 *
 * Conventions of the rendering (details in schema-tables.ts): TEXT for
 * varchar/text, INTEGER 0/1 for booleans, INTEGER for int/bigint, ids
 * AUTOINCREMENT (never reused), timestamps as TEXT 'YYYY-MM-DD HH:MM:SS.ffffff'
 * in naive UTC (see formatQuayTimestamp). Only Quay's server-side defaults are
 * DEFAULT clauses; values Quay fills in from Python (uuid4, utcnow, ...) must
 * be written explicitly.
 */
import Sqlite, { type Database } from 'better-sqlite3';
import { REGISTRY_GROUPS } from './schema-tables.js';
import { QUAY_ONLY_GROUPS } from './schema-tables-quay-only.js';

/** Quay's whole schema as statements by group, in execution order. */
export const SCHEMA_GROUPS: Readonly<Record<string, readonly string[]>> = Object.freeze({ ...REGISTRY_GROUPS, ...QUAY_ONLY_GROUPS });

/** Every CREATE TABLE / CREATE INDEX statement, to be run in this order. */
export const SCHEMA_SQL: readonly string[] = Object.freeze(Object.values(SCHEMA_GROUPS).flat());

const tableNames = (groups: Readonly<Record<string, readonly string[]>>): string[] => Object.values(groups).flat()
  .map((sql) => /^CREATE TABLE "?(\w+)"? /.exec(sql)?.[1]).filter((t): t is string => t !== undefined);

/**
 * The tables the registry reads or writes (schema-tables.ts; alembic_version
 * aside): what an unstamped database must hold, see expectedQuayTables.
 */
export const REGISTRY_TABLES: readonly string[] = Object.freeze(tableNames(REGISTRY_GROUPS).filter((t) => t !== 'alembic_version'));

/** The Alembic revision this layout matches (quay/quay data/migrations head). */
export const QUAY_ALEMBIC_HEAD = '9fa37f66a9b6';

/**
 * Lookup table -> the `name` values Quay's migrations insert, in migration
 * order (so a fresh database gets the same ids as a fresh Quay). Except: Quay
 * inserts three pairs of media types (docker schema 1, docker schema 2, OCI)
 * by iterating a Python set, so within each pair the order, and which of two
 * consecutive ids a name gets, differs between Quay installations. Storage
 * locations used by a deployment are added at boot, see STORAGE_LOCATIONS.
 */
export const LOOKUP_ROWS: Readonly<Record<string, readonly string[]>> = {
  visibility: ['public', 'private'],
  repositorykind: ['image', 'application'],
  role: ['admin', 'write', 'read'],
  teamrole: ['admin', 'creator', 'member'],
  loginservice: ['github', 'quayrobot', 'ldap', 'google', 'keystone', 'dex', 'jwtauthn', 'oidc'],
  accesstokenkind: ['build-worker', 'pushpull-token'],
  quotatype: ['Warning', 'Reject'],
  disablereason: ['user_toggled', 'successive_build_failures', 'successive_build_internal_errors'],
  mediatype: [
    'text/plain', 'application/json', 'text/markdown', 'application/vnd.cnr.blob.v0.tar+gzip',
    'application/vnd.cnr.package-manifest.helm.v0.json', 'application/vnd.cnr.package-manifest.kpm.v0.json',
    'application/vnd.cnr.package-manifest.docker-compose.v0.json', 'application/vnd.cnr.package.kpm.v0.tar+gzip',
    'application/vnd.cnr.package.helm.v0.tar+gzip', 'application/vnd.cnr.package.docker-compose.v0.tar+gzip',
    'application/vnd.cnr.manifests.v0.json', 'application/vnd.cnr.manifest.list.v0.json',
    'application/vnd.docker.distribution.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
  ],
  tagkind: ['tag'],
  imagestoragelocation: [
    's3_us_east_1', 's3_eu_west_1', 's3_ap_southeast_1', 's3_ap_southeast_2', 's3_ap_northeast_1', 's3_sa_east_1',
    'local', 's3_us_west_1',
  ],
  labelsourcetype: ['manifest', 'api', 'internal'],
  logentrykind: [
    'account_change_cc', 'account_change_password', 'account_change_plan', 'account_convert',
    'add_repo_accesstoken', 'add_repo_notification', 'add_repo_permission', 'add_repo_webhook', 'build_dockerfile',
    'change_repo_permission', 'change_repo_visibility', 'create_application', 'create_prototype_permission',
    'create_repo', 'create_robot', 'create_tag', 'delete_application', 'delete_prototype_permission', 'delete_repo',
    'delete_repo_accesstoken', 'delete_repo_notification', 'delete_repo_permission', 'delete_repo_trigger',
    'delete_repo_webhook', 'delete_robot', 'delete_tag', 'manifest_label_add', 'manifest_label_delete',
    'modify_prototype_permission', 'move_tag', 'org_add_team_member', 'org_create_team', 'org_delete_team',
    'org_delete_team_member_invite', 'org_invite_team_member', 'org_remove_team_member', 'org_set_team_description',
    'org_set_team_role', 'org_team_member_invite_accepted', 'org_team_member_invite_declined', 'pull_repo',
    'push_repo', 'regenerate_robot_token', 'repo_verb', 'reset_application_client_secret', 'revert_tag',
    'service_key_approve', 'service_key_create', 'service_key_delete', 'service_key_extend', 'service_key_modify',
    'service_key_rotate', 'setup_repo_trigger', 'set_repo_description', 'take_ownership', 'update_application',
    'change_repo_trust', 'reset_repo_notification', 'change_tag_expiration', 'create_app_specific_token',
    'revoke_app_specific_token', 'toggle_repo_trigger', 'repo_mirror_enabled', 'repo_mirror_disabled',
    'repo_mirror_config_changed', 'repo_mirror_sync_started', 'repo_mirror_sync_failed', 'repo_mirror_sync_success',
    'repo_mirror_sync_now_requested', 'repo_mirror_sync_tag_success', 'repo_mirror_sync_tag_failed',
    'repo_mirror_sync_test_success', 'repo_mirror_sync_test_failed', 'repo_mirror_sync_test_started',
    'change_repo_state', 'create_proxy_cache_config', 'delete_proxy_cache_config', 'start_build_trigger',
    'cancel_build', 'org_create', 'org_delete', 'org_change_email', 'org_change_invoicing',
    'org_change_tag_expiration', 'org_change_name', 'user_create', 'user_delete', 'user_disable', 'user_enable',
    'user_change_email', 'user_change_password', 'user_change_name', 'user_change_invoicing',
    'user_change_tag_expiration', 'user_change_metadata', 'user_generate_client_key', 'login_success',
    'logout_success', 'permanently_delete_tag', 'autoprune_tag_delete', 'create_namespace_autoprune_policy',
    'update_namespace_autoprune_policy', 'delete_namespace_autoprune_policy', 'login_failure', 'push_repo_failed',
    'pull_repo_failed', 'delete_tag_failed', 'create_repository_autoprune_policy',
    'update_repository_autoprune_policy', 'delete_repository_autoprune_policy', 'enable_team_sync',
    'disable_team_sync', 'oauth_token_assigned', 'oauth_token_revoked', 'change_tag_immutability',
    'create_robot_federation', 'delete_robot_federation', 'federated_robot_token_exchange', 'export_logs_success',
    'export_logs_failure', 'org_create_quota', 'org_change_quota', 'org_delete_quota', 'org_create_quota_limit',
    'org_change_quota_limit', 'org_delete_quota_limit', 'org_mirror_enabled', 'org_mirror_disabled',
    'org_mirror_config_changed', 'org_mirror_sync_started', 'org_mirror_sync_failed', 'org_mirror_sync_success',
    'org_mirror_sync_now_requested', 'org_mirror_sync_cancelled', 'org_mirror_repo_created',
    'create_immutability_policy', 'update_immutability_policy', 'delete_immutability_policy',
    'org_mirror_repo_creation_failed', 'tag_made_immutable_by_policy', 'tags_made_immutable_by_policy',
    'create_oauth_api_token', 'revoke_oauth_api_token', 'create_namespace_notification',
    'delete_namespace_notification', 'reset_namespace_notification',
  ],
  externalnotificationevent: [
    'build_failure', 'build_queued', 'build_start', 'build_success', 'repo_push', 'vulnerability_found',
    'build_cancelled', 'repo_mirror_sync_started', 'repo_mirror_sync_success', 'repo_mirror_sync_failed',
    'repo_image_expiry', 'quota_warning', 'quota_error',
  ],
  externalnotificationmethod: ['email', 'flowdock', 'hipchat', 'quay_notification', 'slack', 'webhook'],
  notificationkind: [
    'build_failure', 'build_queued', 'build_start', 'build_success', 'expiring_license', 'maintenance',
    'org_team_invite', 'over_private_usage', 'password_required', 'repo_push', 'service_key_submitted',
    'vulnerability_found', 'build_cancelled', 'repo_mirror_sync_started', 'repo_mirror_sync_success',
    'repo_mirror_sync_failed', 'quota_warning', 'quota_error', 'assigned_authorization',
  ],
  buildtriggerservice: ['github', 'gitlab', 'bitbucket', 'custom-git'],
  userpromptkind: ['confirm_username', 'enter_name', 'enter_company'],
  imagestoragesignaturekind: ['gpg2'],
  imagestoragetransformation: ['squash', 'aci'],
  apprblobplacementlocation: ['local_eu', 'local_us'],
  apprtagkind: ['tag', 'release', 'channel'],
};

/**
 * Lookup tables whose rows Quay's migrations insert with explicit ids (1, 2,
 * ... in LOOKUP_ROWS order) instead of drawing them from the id sequence, so
 * in PostgreSQL the sequence stays unused (a later insert without an id would
 * collide with id 1). We insert them the same way, leaving the sequences as
 * Quay leaves them.
 */
export const EXPLICIT_ID_LOOKUPS: readonly string[] = ['repositorykind', 'disablereason', 'apprblobplacementlocation', 'apprtagkind'];

/** labelsourcetype.mutable per name (only labels added through the API may be changed). */
export const LABEL_SOURCE_MUTABLE: Readonly<Record<string, boolean>> = { manifest: false, api: true, internal: false };

/**
 * The storage locations created with the schema. Quay inserts one
 * imagestoragelocation row per DISTRIBUTED_STORAGE_CONFIG key at boot
 * (util/config/database.py); `local_us` is Quay's default key and ours.
 */
export const STORAGE_LOCATIONS: readonly string[] = ['local_us'];

/** The database is at another schema revision (or is not ours); code REG_SCHEMA_VERSION. */
export class SchemaVersionError extends Error {
  readonly code = 'REG_SCHEMA_VERSION';
  constructor(
    readonly expected: string,
    readonly found: string,
  ) {
    super(`database schema is at ${found}, expected Quay alembic revision ${expected}; refusing to create or change tables`);
    this.name = 'SchemaVersionError';
  }
}

export interface CreateQuaySchemaOptions {
  /** imagestoragelocation names to ensure besides the migration rows (default STORAGE_LOCATIONS). */
  storageLocations?: readonly string[];
}

/**
 * Lays Quay's schema down on an empty database, in one transaction: tables and
 * indexes, lookup rows, storage locations, alembic_version = head.
 *
 * Does nothing when alembic_version already holds the head. Throws
 * SchemaVersionError (code REG_SCHEMA_VERSION) when alembic_version holds
 * anything else: a database that Alembic (or someone else) owns never gets
 * DDL from us. A database with Quay's tables but no alembic_version (made by
 * Quay's initdb.py) is accepted, unchanged but for storage-location rows, when
 * compareQuayTables finds nothing missing; otherwise it is refused the same way.
 */
export function createQuaySchema(db: Database, options: CreateQuaySchemaOptions = {}): void {
  const locations = options.storageLocations ?? STORAGE_LOCATIONS;
  // IMMEDIATE: two processes racing on a new file serialise here; the loser
  // then sees the head and does nothing.
  db.transaction(() => {
    const found = readAlembicVersion(db);
    if (found === QUAY_ALEMBIC_HEAD) return;
    if (found !== undefined) throw new SchemaVersionError(QUAY_ALEMBIC_HEAD, found);
    const existing = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('user', 'repository', 'manifest', 'tag', 'imagestorage')")
      .pluck()
      .all() as string[];
    if (existing.length > 0) {
      // Quay's own initdb.py (its tests and development setups) makes tables
      // from its models and never stamps alembic_version. Such a database is
      // accepted when its tables hold what we read and write (checked here),
      // and left unstamped: stamping would tell a later `alembic upgrade` that
      // migrations ran which did not, and the database is not ours to mark.
      const problems = compareQuayTables(expectedQuayTables(), sqliteTables(db));
      if (problems.length > 0) throw new SchemaVersionError(QUAY_ALEMBIC_HEAD, unstampedMismatch(problems));
      ensureImageLocations(db, locations);
      return;
    }

    for (const sql of SCHEMA_SQL) db.exec(sql);
    for (const [table, names] of Object.entries(LOOKUP_ROWS)) {
      if (table === 'labelsourcetype') {
        const ins = db.prepare('INSERT INTO labelsourcetype (name, mutable) VALUES (?, ?)');
        for (const name of names) ins.run(name, LABEL_SOURCE_MUTABLE[name] ? 1 : 0);
        continue;
      }
      if (EXPLICIT_ID_LOOKUPS.includes(table)) {
        const ins = db.prepare(`INSERT INTO ${table} (id, name) VALUES (?, ?)`);
        names.forEach((name, i) => ins.run(i + 1, name));
        continue;
      }
      const ins = db.prepare(`INSERT INTO ${table} (name) VALUES (?)`);
      for (const name of names) ins.run(name);
    }
    ensureImageLocations(db, locations);
    db.prepare('INSERT INTO alembic_version (version_num) VALUES (?)').run(QUAY_ALEMBIC_HEAD);
  }).immediate();
}

/**
 * The revision recorded in alembic_version: undefined when the table is
 * absent; a description when it is empty or holds several rows.
 */
export function readAlembicVersion(db: Database): string | undefined {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").get();
  if (table === undefined) return undefined;
  const rows = db.prepare('SELECT version_num FROM alembic_version').pluck().all() as string[];
  if (rows.length === 1) return rows[0];
  return rows.length === 0 ? '(empty alembic_version)' : `several versions: ${rows.join(', ')}`;
}

/**
 * Makes sure an imagestoragelocation row exists for each name (what Quay's
 * boot does for its DISTRIBUTED_STORAGE_CONFIG keys). Plain DML, so it is
 * also fine on a database Alembic owns.
 */
export function ensureImageLocations(db: Database, names: readonly string[]): void {
  const ins = db.prepare('INSERT INTO imagestoragelocation (name) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM imagestoragelocation WHERE name = ?)');
  for (const name of names) ins.run(name, name);
}

/** A timestamp as Quay's columns hold it: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'. */
export function formatQuayTimestamp(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}.${String(d.getUTCMilliseconds()).padStart(3, '0')}000`;
}

/** A column as both databases describe it, enough to tell whether our reads and writes fit. */
export interface ColumnShape {
  readonly notNull: boolean;
  readonly hasDefault: boolean;
}

/** table -> column -> shape. */
export type TableShapes = ReadonlyMap<string, ReadonlyMap<string, ColumnShape>>;

let expected: TableShapes | undefined;

/**
 * The tables and columns the registry uses (REGISTRY_TABLES), read off
 * SCHEMA_SQL laid on a scratch database. Quay's other tables are not asked
 * of an unstamped database: Quay's initdb.py makes them from its models,
 * which lack some that the migrations keep (the app-registry tables).
 */
export function expectedQuayTables(): TableShapes {
  if (expected) return expected;
  const scratch = new Sqlite(':memory:');
  try {
    for (const sql of SCHEMA_SQL) scratch.exec(sql);
    const shapes = sqliteTables(scratch) as Map<string, ReadonlyMap<string, ColumnShape>>;
    for (const table of [...shapes.keys()]) if (!REGISTRY_TABLES.includes(table)) shapes.delete(table);
    expected = shapes;
    return shapes;
  } finally {
    scratch.close();
  }
}

/** The tables and columns of a SQLite database. */
export function sqliteTables(db: Database): TableShapes {
  const out = new Map<string, Map<string, ColumnShape>>();
  const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").pluck().all() as string[];
  for (const table of names) {
    const cols = new Map<string, ColumnShape>();
    for (const c of db.prepare(`PRAGMA table_info("${table.replace(/"/g, '""')}")`).all() as { name: string; notnull: number; dflt_value: unknown; pk: number }[]) {
      // An INTEGER PRIMARY KEY is the rowid: it is never null whatever the flag says, and fills itself.
      cols.set(c.name, { notNull: c.notnull === 1 || c.pk > 0, hasDefault: c.dflt_value !== null || c.pk > 0 });
    }
    out.set(table, cols);
  }
  return out;
}

/**
 * What keeps us from working on `found`: a table or column of ours that is
 * missing, or a column we do not know that refuses NULL and has no default
 * (our inserts would fail). Extra tables and nullable extra columns are fine;
 * column types are not compared (SQLite types by value; the PostgreSQL schema
 * is compared in full against Quay's migrations by the schema tests).
 */
export function compareQuayTables(want: TableShapes, found: TableShapes): string[] {
  const problems: string[] = [];
  for (const [table, cols] of want) {
    const have = found.get(table);
    if (!have) { problems.push(`table ${table} is missing`); continue; }
    for (const col of cols.keys()) if (!have.has(col)) problems.push(`column ${table}.${col} is missing`);
    for (const [col, shape] of have) {
      if (!cols.has(col) && shape.notNull && !shape.hasDefault) problems.push(`column ${table}.${col} is NOT NULL without a default and unknown to us`);
    }
  }
  return problems;
}

/** The SchemaVersionError text for an unstamped database that does not fit. */
export function unstampedMismatch(problems: readonly string[]): string {
  const shown = problems.slice(0, 5).join('; ');
  return `no alembic_version, and its tables differ from Quay's: ${shown}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`;
}
