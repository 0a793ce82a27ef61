/**
 * Quay's database layout on PostgreSQL, and the routine that lays it down on
 * an empty database (the PostgreSQL twin of ../sqlite/schema.ts).
 *
 * The DDL is derived from the dialect-neutral tables (../schema/quay.ts
 * SCHEMA_SQL, written in the SQLite rendering), so both adapters
 * always have the same 105 tables, columns and indexes; what changes is the
 * types and names, which are put back the way Quay's Alembic migrations make
 * them on PostgreSQL (head 9fa37f66a9b6; the catalogs are compared by
 * dal/test/quay-alembic-schema.test.ts):
 *  - ids are `serial` (`bigserial` for logentry3, uploadedblob and
 *    manifestblob, see migrations 6ec8726c0ace / 3383aad1e992 / e8ed3fb547da;
 *    a bigint column on an integer sequence for logentry, WIDENED_ID_TABLES),
 *    with primary keys named `pk_<table>` and foreign keys named
 *    `fk_<table>_<column>_<referenced table>`, Alembic's naming convention
 *    (so later Quay migrations that drop constraints by name find them),
 *    except where a migration chose another name (PK_NAMES, FK_NAMES);
 *  - boolean columns are `boolean` (BOOLEAN_COLUMNS), DEFAULT 0/1 become
 *    false/true;
 *  - bigint columns are `bigint` (BIGINT_COLUMNS), other integers `integer`;
 *  - timestamps are `timestamp without time zone` (naive UTC;
 *    TIMESTAMP_COLUMNS), calendar days `date` (DATE_COLUMNS);
 *  - long text is `text` (TEXT_COLUMNS); every other string is `varchar(255)`
 *    unless the migrations gave another length (VARCHAR_LENGTHS);
 *  - blobupload.created gets the constant default Quay's migration froze
 *    into it (MIGRATION_TIME_DEFAULTS), the SQLite rendering has none;
 *  - the partial unique e-mail index uses `organization = false`;
 *  - `repository_name__fulltext` / `repository_description__fulltext` are GIN
 *    trigram indexes as in Quay (migration e2894a3a3c19), which needs the
 *    pg_trgm extension (Quay requires it too). When pg_trgm is not available
 *    on the server they fall back to a b-tree on name and a hash index on
 *    description (a b-tree would reject descriptions over ~2.7 kB).
 * alembic_version is `varchar(32)` with Alembic's `alembic_version_pkc` key.
 */
import { advisoryLockId } from '../model/advisory-lock.js';
import pg from 'pg';
import {
  EXPLICIT_ID_LOOKUPS,
  LABEL_SOURCE_MUTABLE,
  LOOKUP_ROWS,
  QUAY_ALEMBIC_HEAD,
  SCHEMA_SQL,
  STORAGE_LOCATIONS,
  SchemaVersionError,
  compareQuayTables,
  expectedQuayTables,
  unstampedMismatch,
  type ColumnShape,
  type TableShapes,
  type CreateQuaySchemaOptions,
} from '../schema/quay.js';

/*
 * Column types per table, as Quay's migrations leave them (checked by
 * dal/test/quay-alembic-schema.test.ts). Tables of tables.ts
 * first, then those of tables-quay-only.ts in alphabetical order.
 */

/** boolean columns (Peewee BooleanField). */
export const BOOLEAN_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  user: ['verified', 'organization', 'robot', 'invoice_email', 'enabled'],
  robotaccounttoken: ['fully_migrated'],
  repository: ['trust_enabled'],
  quotanamespacesize: ['backfill_complete'],
  quotarepositorysize: ['backfill_complete'],
  accesstoken: ['temporary'],
  imagestorage: ['uploading', 'cas_path'],
  queueitem: ['available'],
  labelsourcetype: ['mutable'],
  manifest: ['subject_backfilled', 'artifact_type_backfilled'],
  tag: ['immutable', 'hidden', 'reversion'],
  apprtag: ['hidden', 'reverted', 'protected'],
  emailconfirmation: ['pw_reset', 'email_confirm'],
  imagestoragesignature: ['uploading'],
  notification: ['dismissed'],
  oauthapplication: ['fully_migrated'],
  orgmirrorconfig: ['is_enabled', 'delete_stale_repos'],
  proxycacheconfig: ['insecure'],
  quayrelease: ['reverted'],
  quotanotificationstate: ['cleared'],
  quotaregistrysize: ['running', 'queued'],
  repomirrorconfig: ['is_enabled'],
  repositoryauthorizedemail: ['confirmed'],
  repositorybuild: ['logs_archived'],
  repositorybuildtrigger: ['enabled', 'fully_migrated'],
};

/** bigint columns (BigIntegerField, and columns Alembic widened to bigint). */
export const BIGINT_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  user: ['removed_tag_expiration_s'],
  quotanamespacesize: ['size_bytes', 'backfill_start_ms'],
  quotarepositorysize: ['size_bytes', 'backfill_start_ms'],
  imagestorage: ['image_size', 'uncompressed_size'],
  manifest: ['layers_compressed_size'],
  tag: ['lifetime_start_ms', 'lifetime_end_ms'],
  blobupload: ['byte_count', 'uncompressed_byte_count'],
  apprblob: ['size', 'uncompressed_size'],
  apprtag: ['lifetime_start', 'lifetime_end'],
  autoprunetaskstatus: ['last_ran_ms'],
  manifestpullstatistics: ['manifest_pull_count'],
  namespacenotification: ['last_ran_ms'],
  orgmirrorconfig: ['skopeo_timeout'],
  quotaregistrysize: ['size_bytes', 'completed_ms'],
  repomirrorconfig: ['skopeo_timeout'],
  repositorynotification: ['last_ran_ms'],
  repositorysearchscore: ['score'],
  tagpullstatistics: ['tag_pull_count'],
  userorganizationquota: ['limit_bytes'],
};

/** Tables whose `id` is a bigint (bigserial). */
export const BIGSERIAL_TABLES: readonly string[] = ['logentry3', 'uploadedblob', 'manifestblob'];

/**
 * Tables whose `id` Alembic widened to bigint after creation without touching
 * its sequence (migration 6c21e2cfb8b6): the column is bigint, the sequence
 * stays integer. Created as serial, then altered, the same way.
 */
const WIDENED_ID_TABLES: readonly string[] = ['logentry'];

/** `timestamp without time zone` columns (DateTimeField). */
export const TIMESTAMP_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  user: ['last_invalid_login', 'creation_date', 'last_accessed'],
  appspecificauthtoken: ['created', 'expiration', 'last_accessed'],
  servicekeyapproval: ['approved_date'],
  servicekey: ['created_date', 'expiration_date'],
  deletedrepository: ['marked'],
  accesstoken: ['created'],
  uploadedblob: ['uploaded_at', 'expires_at'],
  blobupload: ['created'],
  queueitem: ['available_after', 'processing_expires'],
  logentry3: ['datetime'],
  deletednamespace: ['marked'],
  emailconfirmation: ['created'],
  logentry: ['datetime'],
  logentry2: ['datetime'],
  manifestpullstatistics: ['last_manifest_pull_date'],
  manifestsecuritystatus: ['last_indexed'],
  notification: ['created'],
  oauthaccesstoken: ['expires_at', 'last_accessed', 'created'],
  orgmirrorconfig: ['creation_date', 'sync_start_date', 'sync_expiration_date'],
  orgmirrorrepository: ['discovery_date', 'sync_start_date', 'sync_expiration_date', 'last_sync_date', 'creation_date'],
  proxycacheconfig: ['creation_date'],
  quayrelease: ['created'],
  quotanotificationstate: ['last_notified_at'],
  repomirrorconfig: ['creation_date', 'sync_start_date', 'sync_expiration_date'],
  repomirrorrule: ['creation_date'],
  repositorybuild: ['started'],
  repositorybuildtrigger: ['disabled_datetime'],
  repositorysearchscore: ['last_updated'],
  star: ['created'],
  tagpullstatistics: ['last_tag_pull_date'],
  teamsync: ['last_updated'],
};

/** `date` columns (DateField). */
export const DATE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  repositoryactioncount: ['date'],
};

/** `text` columns (TextField and its subclasses: JSON, resumable hasher, base64, full-text indexed). */
export const TEXT_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  federatedlogin: ['metadata_json'],
  robotaccountmetadata: ['unstructured_json'],
  team: ['description'],
  servicekeyapproval: ['notes'],
  servicekey: ['jwk', 'metadata'],
  repository: ['description'],
  manifest: ['manifest_bytes'],
  label: ['value'],
  blobupload: ['sha_state', 'storage_metadata', 'piece_sha_state', 'piece_hashes'],
  queueitem: ['body'],
  logentry3: ['metadata_json'],
  apprmanifest: ['manifest_json'],
  apprmanifestlist: ['manifest_list_json'],
  apprmanifestlistmanifest: ['platform_json'],
  autoprunetaskstatus: ['status'],
  imagestoragesignature: ['signature'],
  logentry: ['metadata_json'],
  logentry2: ['metadata_json'],
  manifestsecuritystatus: ['error_json', 'metadata_json'],
  messages: ['content'],
  namespaceautoprunepolicy: ['policy'],
  namespaceimmutabilitypolicy: ['policy'],
  namespacenotification: ['config_json', 'event_config_json'],
  notification: ['metadata_json'],
  oauthaccesstoken: ['data'],
  oauthapplication: ['description'],
  oauthauthorizationcode: ['data'],
  orgmirrorconfig: ['external_registry_config', 'repository_filters', 'architecture_filter'],
  orgmirrorrepository: ['status_message'],
  repomirrorconfig: ['external_registry_config', 'external_reference', 'architecture_filter'],
  repomirrorrule: ['rule_value'],
  repositoryautoprunepolicy: ['policy'],
  repositorybuild: ['job_config'],
  repositorybuildtrigger: ['config', 'secure_private_key'],
  repositoryimmutabilitypolicy: ['policy'],
  repositorynotification: ['config_json', 'event_config_json'],
  teamsync: ['config'],
};

/** varchar columns longer or shorter than Quay's default 255 (the migrations' lengths, not always the models'). */
export const VARCHAR_LENGTHS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  user: { uuid: 36 },
  appspecificauthtoken: { uuid: 36 },
  queueitem: { queue_name: 1024 },
  alembic_version: { version_num: 32 },
  manifestsecuritystatus: { indexer_hash: 128 },
  messages: { uuid: 36 },
  namespaceautoprunepolicy: { uuid: 36 },
  namespaceimmutabilitypolicy: { uuid: 36 },
  orgmirrorconfig: { external_registry_url: 2048, external_registry_username: 4096, external_registry_password: 9000, sync_transaction_id: 36 },
  orgmirrorrepository: { sync_transaction_id: 36 },
  proxycacheconfig: { upstream_registry: 2048, upstream_registry_username: 4096, upstream_registry_password: 4096 },
  repomirrorconfig: { external_registry_username: 4096, sync_transaction_id: 36, external_registry_password: 9000 },
  repomirrorrule: { uuid: 36 },
  repositoryautoprunepolicy: { uuid: 36 },
  repositoryimmutabilitypolicy: { uuid: 36 },
};

/** Primary keys the migrations named other than pk_<table>. */
const PK_NAMES: Readonly<Record<string, string>> = {
  quotanamespacesize: 'pk_quotanamespacesizeid',
  quotarepositorysize: 'pk_quotarepositorysizeid',
  alembic_version: 'alembic_version_pkc',
  autoprunetaskstatus: 'pk_autoprunetaskstatusid',
  namespaceautoprunepolicy: 'pk_namespaceautoprunepolicyid',
  namespaceimmutabilitypolicy: 'pk_namespaceimmutabilitypolicyid',
  proxycacheconfig: 'pk_proxy_cache_config',
  quotaregistrysize: 'pk_quotaregistrysizeid',
  repositoryautoprunepolicy: 'pk_repositoryautoprunepolicyid',
  repositoryimmutabilitypolicy: 'pk_repositoryimmutabilitypolicyid',
  tagnotificationsuccess: 'pk_tag_notification_success',
};

/** Foreign keys (`<table>.<column>`) the migrations named other than fk_<table>_<column>_<referenced table>. */
const FK_NAMES: Readonly<Record<string, string>> = {
  'namespacenotification.namespace_id': 'fk_namespacenotification_namespace_id',
  'namespacenotification.event_id': 'fk_namespacenotification_event_id',
  'namespacenotification.method_id': 'fk_namespacenotification_method_id',
  'oauthassignedtoken.assigned_user_id': 'fk_oauthassignedtoken_assigned_user_user',
  'oauthassignedtoken.application_id': 'fk_oauthassignedtoken_application_oauthapplication',
  'organizationrhskus.org_id': 'fk_organizationrhskus_orgid',
  'organizationrhskus.user_id': 'fk_organizationrhskus_userid',
  'proxycacheconfig.organization_id': 'fk_proxy_cache_config_organization_id',
  'quotalimits.quota_id': 'fk_quotalimit_id',
  'quotalimits.quota_type_id': 'fk_quotalimit_type',
  'quotanotificationstate.namespace_id': 'fk_quotanotificationstate_namespace_id',
  'redhatsubscriptions.user_id': 'fk_redhatsubscriptions',
  'tagnotificationsuccess.notification_id': 'fk_tag_notification_success_notification_id',
  'tagnotificationsuccess.tag_id': 'fk_tag_notification_success_tag_id',
  'tagnotificationsuccess.method_id': 'fk_tag_notification_success_method_id',
  'userorganizationquota.namespace_id': 'fk_userorganizationquota_organization',
};

/**
 * Columns whose server default is the moment the migration ran, frozen into
 * the schema as a constant (migration c156deb8845d wrote `now` as a literal).
 * We write the moment the schema is created, as Alembic would have.
 */
const MIGRATION_TIME_DEFAULTS: Readonly<Record<string, readonly string[]>> = {
  blobupload: ['created'],
};

const has = (m: Readonly<Record<string, readonly string[]>>, table: string, col: string): boolean => m[table]?.includes(col) ?? false;
const unquote = (s: string): string => s.replace(/"/g, '');
const quoteTable = (t: string): string => (t === 'user' ? '"user"' : t);

/** The PostgreSQL type of a column the SQLite rendering declares as INTEGER or TEXT. */
export function pgColumnType(table: string, column: string, sqliteType: string): string {
  if (sqliteType === 'INTEGER') {
    if (has(BOOLEAN_COLUMNS, table, column)) return 'boolean';
    if (has(BIGINT_COLUMNS, table, column)) return 'bigint';
    return 'integer';
  }
  if (sqliteType === 'TEXT') {
    if (has(TIMESTAMP_COLUMNS, table, column)) return 'timestamp without time zone';
    if (has(DATE_COLUMNS, table, column)) return 'date';
    if (has(TEXT_COLUMNS, table, column)) return 'text';
    return `varchar(${VARCHAR_LENGTHS[table]?.[column] ?? 255})`;
  }
  throw new Error(`no PostgreSQL type for ${table}.${column} ${sqliteType}`);
}

/**
 * Translate one SQLite CREATE TABLE statement (one column per line, as
 * ../schema/tables.ts writes them); `migratedAt` is the literal for
 * MIGRATION_TIME_DEFAULTS.
 */
function translateTable(sql: string, migratedAt: string): string {
  const head = /^CREATE TABLE ("?\w+"?) \(\n([\s\S]*)\n\)$/.exec(sql.trim());
  if (!head) throw new Error(`unexpected CREATE TABLE shape: ${sql.slice(0, 60)}`);
  const table = unquote(head[1]!);
  const cols: string[] = [];
  const constraints: string[] = [];
  for (const raw of head[2]!.split('\n')) {
    const line = raw.replace(/--.*$/, '').trim().replace(/,$/, '').trim();
    if (!line) continue;
    const m = /^("?\w+"?) (INTEGER|TEXT)(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected column in ${table}: ${line}`);
    const colSql = m[1]!;
    const col = unquote(colSql);
    let rest = m[3]!;
    if (/PRIMARY KEY AUTOINCREMENT/.test(rest)) {
      cols.push(`${colSql} ${BIGSERIAL_TABLES.includes(table) ? 'bigserial' : 'serial'} NOT NULL`);
      constraints.push(`CONSTRAINT ${PK_NAMES[table] ?? `pk_${table}`} PRIMARY KEY (${colSql})`);
      continue;
    }
    let pk = false;
    if (/ PRIMARY KEY/.test(rest)) {
      pk = true;
      rest = rest.replace(/ PRIMARY KEY/, '');
    }
    const ref = / REFERENCES ("?\w+"?) \(id\)/.exec(rest);
    if (ref) {
      rest = rest.replace(ref[0], '');
      const target = unquote(ref[1]!);
      const name = FK_NAMES[`${table}.${col}`] ?? `fk_${table}_${col}_${target}`;
      constraints.push(`CONSTRAINT ${name} FOREIGN KEY (${colSql}) REFERENCES ${quoteTable(target)} (id)`);
    }
    const type = pgColumnType(table, col, m[2]!);
    if (type === 'boolean') rest = rest.replace(/DEFAULT 0\b/, 'DEFAULT false').replace(/DEFAULT 1\b/, 'DEFAULT true');
    if (has(MIGRATION_TIME_DEFAULTS, table, col)) rest += ` DEFAULT '${migratedAt}'`;
    cols.push(`${colSql} ${type}${rest.replace(/\s+/g, ' ').trimEnd()}`);
    if (pk) constraints.push(`CONSTRAINT ${PK_NAMES[table] ?? `pk_${table}`} PRIMARY KEY (${colSql})`);
  }
  return `CREATE TABLE ${quoteTable(table)} (\n  ${[...cols, ...constraints].join(',\n  ')}\n)`;
}

/** Translate one CREATE INDEX statement; `trgm` says whether pg_trgm is usable. */
function translateIndex(sql: string, trgm: boolean): string {
  if (/^CREATE INDEX repository_(name|description)__fulltext /.test(sql)) {
    const col = sql.includes('repository_name__') ? 'name' : 'description';
    if (trgm) return `CREATE INDEX repository_${col}__fulltext ON repository USING gin (${col} gin_trgm_ops)`;
    return col === 'name' ? 'CREATE INDEX repository_name__fulltext ON repository (name)' : 'CREATE INDEX repository_description__fulltext ON repository USING hash (description)';
  }
  return sql.replace(/WHERE organization = 0$/, 'WHERE organization = false');
}

/**
 * The PostgreSQL DDL, in execution order (tables and indexes of SCHEMA_SQL).
 * `trgm` (default true): pg_trgm is usable. `migratedAt` (default now): the
 * moment written into MIGRATION_TIME_DEFAULTS, to the second like Alembic's.
 */
export function pgSchemaSql(options: { trgm?: boolean; migratedAt?: Date } = {}): string[] {
  const trgm = options.trgm ?? true;
  const migratedAt = (options.migratedAt ?? new Date()).toISOString().slice(0, 19).replace('T', ' ');
  return SCHEMA_SQL.flatMap((s) => {
    if (!s.startsWith('CREATE TABLE')) return [translateIndex(s, trgm)];
    const table = unquote(/^CREATE TABLE ("?\w+"?)/.exec(s)![1]!);
    const widen = WIDENED_ID_TABLES.includes(table) ? [`ALTER TABLE ${quoteTable(table)} ALTER COLUMN id TYPE bigint`] : [];
    return [translateTable(s, migratedAt), ...widen];
  });
}

/** Quay's advisory lock id (../model/advisory-lock.ts), for this package's callers. */
export { advisoryLockId };

/** The lock creators of the schema take (ours; Quay's Alembic takes none). */
const CREATE_SCHEMA_LOCK = advisoryLockId('registryd_create_schema', 0);

type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Lays Quay's schema down on an empty PostgreSQL database, in one transaction:
 * tables and indexes, lookup rows, storage locations, alembic_version = head.
 * Same rules as createQuaySchema (SQLite): nothing happens at head; a database
 * at another revision is refused with SchemaVersionError (code
 * REG_SCHEMA_VERSION); one with Quay's tables but no alembic_version (Quay's
 * initdb.py) is accepted unstamped when its tables fit, refused otherwise. Concurrent creators
 * serialise on a transaction advisory lock; the loser then sees the head.
 * Works in the connection's current schema (search_path).
 */
export async function createQuaySchemaPg(db: pg.Pool | pg.ClientBase, options: CreateQuaySchemaOptions = {}): Promise<void> {
  if (db instanceof pg.Pool) {
    const client = await db.connect();
    try {
      await createQuaySchemaPg(client, options);
    } finally {
      client.release();
    }
    return;
  }
  const locations = options.storageLocations ?? STORAGE_LOCATIONS;
  await db.query('BEGIN');
  try {
    await db.query('SELECT pg_advisory_xact_lock($1::bigint)', [CREATE_SCHEMA_LOCK]);
    const found = await readAlembicVersionPg(db);
    if (found === QUAY_ALEMBIC_HEAD) {
      await db.query('COMMIT');
      return;
    }
    if (found !== undefined) throw new SchemaVersionError(QUAY_ALEMBIC_HEAD, found);
    const existing = (
      await db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_name IN ('user', 'repository', 'manifest', 'tag', 'imagestorage') ORDER BY table_name`)
    ).rows;
    if (existing.length > 0) {
      // Made by Quay's initdb.py: accepted unstamped when it fits (see createQuaySchema).
      const problems = compareQuayTables(expectedQuayTables(), await pgTables(db));
      if (problems.length > 0) throw new SchemaVersionError(QUAY_ALEMBIC_HEAD, unstampedMismatch(problems));
      await ensureImageLocationsPg(db, locations);
      await db.query('COMMIT');
      return;
    }
    const trgm = await ensureTrgm(db);
    for (const sql of pgSchemaSql({ trgm })) await db.query(sql);
    for (const [table, names] of Object.entries(LOOKUP_ROWS)) {
      if (table === 'labelsourcetype') {
        for (const name of names) await db.query('INSERT INTO labelsourcetype (name, mutable) VALUES ($1, $2)', [name, LABEL_SOURCE_MUTABLE[name] ?? false]);
        continue;
      }
      if (EXPLICIT_ID_LOOKUPS.includes(table)) {
        // Explicit ids, as Quay's migrations: the id sequence stays unused.
        await db.query(`INSERT INTO ${table} (id, name) VALUES ${names.map((_, i) => `(${i + 1}, $${i + 1})`).join(', ')}`, [...names]);
        continue;
      }
      // One multi-row VALUES list: ids follow the migration order, as in a fresh Quay.
      await db.query(`INSERT INTO ${table} (name) VALUES ${names.map((_, i) => `($${i + 1})`).join(', ')}`, [...names]);
    }
    await ensureImageLocationsPg(db, locations);
    await db.query('INSERT INTO alembic_version (version_num) VALUES ($1)', [QUAY_ALEMBIC_HEAD]);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** pg_trgm installed or installable (it is a trusted extension from PostgreSQL 13 on). */
async function ensureTrgm(db: Queryable): Promise<boolean> {
  const r = await db.query<{ installed: string | null }>("SELECT installed_version AS installed FROM pg_available_extensions WHERE name = 'pg_trgm'");
  if (r.rows.length === 0) return false;
  if (r.rows[0]!.installed !== null) return true;
  await db.query('SAVEPOINT trgm');
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await db.query('RELEASE SAVEPOINT trgm');
    return true;
  } catch {
    await db.query('ROLLBACK TO SAVEPOINT trgm');
    return false;
  }
}

/**
 * The revision recorded in alembic_version (current schema): undefined when
 * the table is absent; a description when it is empty or holds several rows.
 */
export async function readAlembicVersionPg(db: Queryable): Promise<string | undefined> {
  const t = await db.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'alembic_version'`);
  if (t.rows.length === 0) return undefined;
  const rows = (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows.map((r) => r.version_num);
  if (rows.length === 1) return rows[0];
  return rows.length === 0 ? '(empty alembic_version)' : `several versions: ${rows.join(', ')}`;
}

/** An imagestoragelocation row for each name (what Quay's boot does); plain DML. */
export async function ensureImageLocationsPg(db: Queryable, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await db.query('INSERT INTO imagestoragelocation (name) SELECT $1::varchar WHERE NOT EXISTS (SELECT 1 FROM imagestoragelocation WHERE name = $1::varchar)', [name]);
  }
}

/** The tables and columns of the connection's current schema. */
export async function pgTables(db: Queryable): Promise<TableShapes> {
  const out = new Map<string, Map<string, ColumnShape>>();
  const rows = (
    await db.query<{ table_name: string; column_name: string; is_nullable: string; column_default: string | null }>(
      `SELECT table_name, column_name, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
    )
  ).rows;
  for (const r of rows) {
    let cols = out.get(r.table_name);
    if (!cols) {
      cols = new Map();
      out.set(r.table_name, cols);
    }
    cols.set(r.column_name, { notNull: r.is_nullable === 'NO', hasDefault: r.column_default !== null });
  }
  return out;
}
