/**
 * Quay's database layout, dialect-neutral: the tables (written once, in the
 * SQLite rendering: tables.ts and tables-quay-only.ts, which
 * ../postgres/schema.ts translates), the lookup rows Quay's migrations
 * insert, the Alembic head, Quay's column defaults, and the check both
 * dialects run on a database they did not create. Neither dialect imports
 * the other: both import this.
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
 *
 * Where PostgreSQL is shared with Python Quay, Alembic owns the schema and we
 * only read `alembic_version`. The dialects' createQuaySchema routines are for
 * databases we own (SQLite in mirror mode, tests, an empty PostgreSQL): they
 * create the tables, insert the lookup rows and stamp the Alembic head, so
 * that Quay would accept the database as current.
 *
 * Conventions of the rendering (details in tables.ts): TEXT for
 * varchar/text, INTEGER 0/1 for booleans, INTEGER for int/bigint, ids
 * AUTOINCREMENT (never reused), timestamps as TEXT 'YYYY-MM-DD HH:MM:SS.ffffff'
 * in naive UTC (../time.ts sqlTime). Only Quay's server-side defaults are
 * DEFAULT clauses; values Quay fills in from Python (uuid4, utcnow, ...) must
 * be written explicitly.
 */
import { REGISTRY_GROUPS } from './tables.js';
import { QUAY_ONLY_GROUPS } from './tables-quay-only.js';

/** Quay's whole schema as statements by group, in execution order. */
export const SCHEMA_GROUPS: Readonly<Record<string, readonly string[]>> = Object.freeze({ ...REGISTRY_GROUPS, ...QUAY_ONLY_GROUPS });

/** Every CREATE TABLE / CREATE INDEX statement, to be run in this order. */
export const SCHEMA_SQL: readonly string[] = Object.freeze(Object.values(SCHEMA_GROUPS).flat());

const tableNames = (groups: Readonly<Record<string, readonly string[]>>): string[] =>
  Object.values(groups)
    .flat()
    .map((sql) => /^CREATE TABLE "?(\w+)"? /.exec(sql)?.[1])
    .filter((t): t is string => t !== undefined);

/**
 * The tables the registry reads or writes (tables.ts; alembic_version
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
    'text/plain',
    'application/json',
    'text/markdown',
    'application/vnd.cnr.blob.v0.tar+gzip',
    'application/vnd.cnr.package-manifest.helm.v0.json',
    'application/vnd.cnr.package-manifest.kpm.v0.json',
    'application/vnd.cnr.package-manifest.docker-compose.v0.json',
    'application/vnd.cnr.package.kpm.v0.tar+gzip',
    'application/vnd.cnr.package.helm.v0.tar+gzip',
    'application/vnd.cnr.package.docker-compose.v0.tar+gzip',
    'application/vnd.cnr.manifests.v0.json',
    'application/vnd.cnr.manifest.list.v0.json',
    'application/vnd.docker.distribution.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
  ],
  tagkind: ['tag'],
  imagestoragelocation: ['s3_us_east_1', 's3_eu_west_1', 's3_ap_southeast_1', 's3_ap_southeast_2', 's3_ap_northeast_1', 's3_sa_east_1', 'local', 's3_us_west_1'],
  labelsourcetype: ['manifest', 'api', 'internal'],
  logentrykind: [
    'account_change_cc',
    'account_change_password',
    'account_change_plan',
    'account_convert',
    'add_repo_accesstoken',
    'add_repo_notification',
    'add_repo_permission',
    'add_repo_webhook',
    'build_dockerfile',
    'change_repo_permission',
    'change_repo_visibility',
    'create_application',
    'create_prototype_permission',
    'create_repo',
    'create_robot',
    'create_tag',
    'delete_application',
    'delete_prototype_permission',
    'delete_repo',
    'delete_repo_accesstoken',
    'delete_repo_notification',
    'delete_repo_permission',
    'delete_repo_trigger',
    'delete_repo_webhook',
    'delete_robot',
    'delete_tag',
    'manifest_label_add',
    'manifest_label_delete',
    'modify_prototype_permission',
    'move_tag',
    'org_add_team_member',
    'org_create_team',
    'org_delete_team',
    'org_delete_team_member_invite',
    'org_invite_team_member',
    'org_remove_team_member',
    'org_set_team_description',
    'org_set_team_role',
    'org_team_member_invite_accepted',
    'org_team_member_invite_declined',
    'pull_repo',
    'push_repo',
    'regenerate_robot_token',
    'repo_verb',
    'reset_application_client_secret',
    'revert_tag',
    'service_key_approve',
    'service_key_create',
    'service_key_delete',
    'service_key_extend',
    'service_key_modify',
    'service_key_rotate',
    'setup_repo_trigger',
    'set_repo_description',
    'take_ownership',
    'update_application',
    'change_repo_trust',
    'reset_repo_notification',
    'change_tag_expiration',
    'create_app_specific_token',
    'revoke_app_specific_token',
    'toggle_repo_trigger',
    'repo_mirror_enabled',
    'repo_mirror_disabled',
    'repo_mirror_config_changed',
    'repo_mirror_sync_started',
    'repo_mirror_sync_failed',
    'repo_mirror_sync_success',
    'repo_mirror_sync_now_requested',
    'repo_mirror_sync_tag_success',
    'repo_mirror_sync_tag_failed',
    'repo_mirror_sync_test_success',
    'repo_mirror_sync_test_failed',
    'repo_mirror_sync_test_started',
    'change_repo_state',
    'create_proxy_cache_config',
    'delete_proxy_cache_config',
    'start_build_trigger',
    'cancel_build',
    'org_create',
    'org_delete',
    'org_change_email',
    'org_change_invoicing',
    'org_change_tag_expiration',
    'org_change_name',
    'user_create',
    'user_delete',
    'user_disable',
    'user_enable',
    'user_change_email',
    'user_change_password',
    'user_change_name',
    'user_change_invoicing',
    'user_change_tag_expiration',
    'user_change_metadata',
    'user_generate_client_key',
    'login_success',
    'logout_success',
    'permanently_delete_tag',
    'autoprune_tag_delete',
    'create_namespace_autoprune_policy',
    'update_namespace_autoprune_policy',
    'delete_namespace_autoprune_policy',
    'login_failure',
    'push_repo_failed',
    'pull_repo_failed',
    'delete_tag_failed',
    'create_repository_autoprune_policy',
    'update_repository_autoprune_policy',
    'delete_repository_autoprune_policy',
    'enable_team_sync',
    'disable_team_sync',
    'oauth_token_assigned',
    'oauth_token_revoked',
    'change_tag_immutability',
    'create_robot_federation',
    'delete_robot_federation',
    'federated_robot_token_exchange',
    'export_logs_success',
    'export_logs_failure',
    'org_create_quota',
    'org_change_quota',
    'org_delete_quota',
    'org_create_quota_limit',
    'org_change_quota_limit',
    'org_delete_quota_limit',
    'org_mirror_enabled',
    'org_mirror_disabled',
    'org_mirror_config_changed',
    'org_mirror_sync_started',
    'org_mirror_sync_failed',
    'org_mirror_sync_success',
    'org_mirror_sync_now_requested',
    'org_mirror_sync_cancelled',
    'org_mirror_repo_created',
    'create_immutability_policy',
    'update_immutability_policy',
    'delete_immutability_policy',
    'org_mirror_repo_creation_failed',
    'tag_made_immutable_by_policy',
    'tags_made_immutable_by_policy',
    'create_oauth_api_token',
    'revoke_oauth_api_token',
    'create_namespace_notification',
    'delete_namespace_notification',
    'reset_namespace_notification',
  ],
  externalnotificationevent: [
    'build_failure',
    'build_queued',
    'build_start',
    'build_success',
    'repo_push',
    'vulnerability_found',
    'build_cancelled',
    'repo_mirror_sync_started',
    'repo_mirror_sync_success',
    'repo_mirror_sync_failed',
    'repo_image_expiry',
    'quota_warning',
    'quota_error',
  ],
  externalnotificationmethod: ['email', 'flowdock', 'hipchat', 'quay_notification', 'slack', 'webhook'],
  notificationkind: [
    'build_failure',
    'build_queued',
    'build_start',
    'build_success',
    'expiring_license',
    'maintenance',
    'org_team_invite',
    'over_private_usage',
    'password_required',
    'repo_push',
    'service_key_submitted',
    'vulnerability_found',
    'build_cancelled',
    'repo_mirror_sync_started',
    'repo_mirror_sync_success',
    'repo_mirror_sync_failed',
    'quota_warning',
    'quota_error',
    'assigned_authorization',
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

/** Quay's `user.removed_tag_expiration_s` default: the time-machine window (2 weeks). */
export const DEFAULT_TAG_EXPIRATION_S = 1_209_600;

/** A column as both databases describe it, enough to tell whether our reads and writes fit. */
export interface ColumnShape {
  readonly notNull: boolean;
  readonly hasDefault: boolean;
}

/** table -> column -> shape. */
export type TableShapes = ReadonlyMap<string, ReadonlyMap<string, ColumnShape>>;

let expected: TableShapes | undefined;

/** `name TYPE rest` of one column line of a CREATE TABLE in SCHEMA_SQL (one column per line). */
const COLUMN_LINE = /^("?\w+"?) (INTEGER|TEXT)(.*)$/;

/**
 * The tables and columns the registry uses (REGISTRY_TABLES), read off
 * SCHEMA_SQL's CREATE TABLE statements as a database would describe them: a
 * primary key column is NOT NULL and fills itself. Quay's other tables are
 * not asked of an unstamped database: Quay's initdb.py makes them from its
 * models, which lack some that the migrations keep (the app-registry tables).
 */
export function expectedQuayTables(): TableShapes {
  if (expected) return expected;
  const shapes = new Map<string, ReadonlyMap<string, ColumnShape>>();
  for (const sql of SCHEMA_SQL) {
    const head = /^CREATE TABLE "?(\w+)"? \(\n([\s\S]*)\n\)$/.exec(sql.trim());
    if (!head || !REGISTRY_TABLES.includes(head[1]!)) continue;
    const cols = new Map<string, ColumnShape>();
    for (const raw of head[2]!.split('\n')) {
      const line = raw.replace(/--.*$/, '').trim().replace(/,$/, '');
      if (!line) continue;
      const m = COLUMN_LINE.exec(line);
      if (!m) throw new Error(`unexpected column in ${head[1]}: ${line}`);
      const pk = / PRIMARY KEY\b/.test(m[3]!);
      cols.set(m[1]!.replace(/"/g, ''), { notNull: pk || / NOT NULL\b/.test(m[3]!), hasDefault: pk || / DEFAULT\b/.test(m[3]!) });
    }
    shapes.set(head[1]!, cols);
  }
  expected = shapes;
  return shapes;
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
    if (!have) {
      problems.push(`table ${table} is missing`);
      continue;
    }
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
