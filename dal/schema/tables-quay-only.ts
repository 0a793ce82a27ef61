/**
 * The rest of Quay's schema: tables only Python Quay reads or writes (builds,
 * notifications, OAuth, mirroring, quotas and policies, statistics, the older
 * log tables, the app registry). The registry never reads or writes them
 * (besides the lookup rows laid down with the schema); they are there so that
 * a database we create is Quay's whole schema at QUAY_ALEMBIC_HEAD and Python
 * Quay can run on it. Same conventions as tables.ts, where the
 * tables the registry uses are; a table moves there when we start to use it
 * (an unstamped database is then checked for it, see compareQuayTables).
 *
 * What is written here is what `alembic upgrade head` leaves on PostgreSQL,
 * which is not always what Quay's Peewee models (and so initdb.py) make: e.g.
 * redhatsubscriptions.account_number is not unique here, and
 * proxycacheconfig.upstream_registry is varchar(2048), not varchar(270).
 * Columns are in the database's order (later migrations append).
 *
 * Statements run after tables.ts; foreign keys point only at tables
 * created earlier.
 */
import { indexes, lookup } from './tables.js';

/** Account-side extras: confirmations, invitations, prompts, sync, subscriptions. */
const ACCOUNTS: readonly string[] = [
  // A namespace being deleted by the namespace GC worker (the user row is renamed first).
  `CREATE TABLE deletednamespace (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  marked TEXT NOT NULL,
  original_username TEXT NOT NULL,
  original_email TEXT NOT NULL,
  queue_id TEXT
)`,
  'CREATE UNIQUE INDEX deletednamespace_namespace_id ON deletednamespace (namespace_id)',
  ...indexes('deletednamespace', ['original_email'], ['original_username'], ['queue_id']),

  // E-mail confirmation and password-reset codes.
  `CREATE TABLE emailconfirmation (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  code TEXT NOT NULL,                 -- Quay writes a random string
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  pw_reset INTEGER NOT NULL,
  new_email TEXT,
  email_confirm INTEGER NOT NULL,
  created TEXT NOT NULL,              -- Quay writes now (local time)
  verification_code TEXT
)`,
  'CREATE UNIQUE INDEX emailconfirmation_code ON emailconfirmation (code)',
  ...indexes('emailconfirmation', ['user_id']),

  // Pending invitations into a team, by user or by e-mail address.
  `CREATE TABLE teammemberinvite (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER REFERENCES "user" (id),
  email TEXT,
  team_id INTEGER NOT NULL REFERENCES team (id),
  inviter_id INTEGER NOT NULL REFERENCES "user" (id),
  invite_token TEXT NOT NULL
)`,
  ...indexes('teammemberinvite', ['inviter_id'], ['team_id'], ['user_id']),

  // A team kept in step with an external group (LDAP, OIDC, ...).
  `CREATE TABLE teamsync (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  team_id INTEGER NOT NULL REFERENCES team (id),
  transaction_id TEXT NOT NULL,
  last_updated TEXT,
  service_id INTEGER NOT NULL REFERENCES loginservice (id),
  config TEXT NOT NULL                -- JSON
)`,
  'CREATE UNIQUE INDEX teamsync_team_id ON teamsync (team_id)',
  ...indexes('teamsync', ['last_updated'], ['service_id']),

  // Questions the UI still has to ask a user (userpromptkind).
  `CREATE TABLE userprompt (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  kind_id INTEGER NOT NULL REFERENCES userpromptkind (id)
)`,
  'CREATE UNIQUE INDEX userprompt_user_id_kind_id ON userprompt (user_id, kind_id)',
  ...indexes('userprompt', ['kind_id'], ['user_id']),

  // Storage locations a user's content should be replicated to.
  `CREATE TABLE userregion (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  location_id INTEGER NOT NULL REFERENCES imagestoragelocation (id)
)`,
  ...indexes('userregion', ['location_id'], ['user_id']),

  // An organisation's contact address.
  `CREATE TABLE organizationcontactemail (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES "user" (id),
  contact_email TEXT
)`,
  'CREATE UNIQUE INDEX organizationcontactemail_organization_id ON organizationcontactemail (organization_id)',
  ...indexes('organizationcontactemail', ['contact_email']),

  // Red Hat account numbers of users (quay.io billing).
  `CREATE TABLE redhatsubscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  account_number INTEGER NOT NULL
)`,

  // Subscription SKUs bound to organisations (quay.io billing).
  `CREATE TABLE organizationrhskus (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subscription_id INTEGER NOT NULL,
  org_id INTEGER NOT NULL REFERENCES "user" (id),
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  quantity INTEGER
)`,
  'CREATE UNIQUE INDEX organizationrhskus_subscription_id_org_id ON organizationrhskus (subscription_id, org_id)',
  'CREATE UNIQUE INDEX organizationrhskus_subscription_id_org_id_user_id ON organizationrhskus (subscription_id, org_id, user_id)',
  ...indexes('organizationrhskus', ['subscription_id']),
];

/** OAuth applications and their codes and tokens (the /api/v1 credentials). */
const OAUTH: readonly string[] = [
  // An OAuth application owned by an organisation.
  `CREATE TABLE oauthapplication (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id TEXT NOT NULL,            -- Quay writes a random 20-char string
  redirect_uri TEXT NOT NULL,
  application_uri TEXT NOT NULL,
  organization_id INTEGER NOT NULL REFERENCES "user" (id),
  name TEXT NOT NULL,
  description TEXT NOT NULL,          -- Quay writes ''
  gravatar_email TEXT,
  secure_client_secret TEXT,          -- encrypted
  fully_migrated INTEGER NOT NULL DEFAULT 0
)`,
  ...indexes('oauthapplication', ['client_id'], ['organization_id']),

  // An access token: public token_name prefix + encrypted token_code.
  `CREATE TABLE oauthaccesstoken (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,                 -- Quay writes uuid4
  application_id INTEGER NOT NULL REFERENCES oauthapplication (id),
  authorized_user_id INTEGER NOT NULL REFERENCES "user" (id),
  scope TEXT NOT NULL,
  token_type TEXT NOT NULL,           -- Quay writes 'Bearer'
  expires_at TEXT NOT NULL,
  data TEXT NOT NULL,
  token_code TEXT NOT NULL,
  token_name TEXT NOT NULL,
  last_accessed TEXT,
  created TEXT,
  display_name TEXT
)`,
  'CREATE UNIQUE INDEX oauthaccesstoken_token_name ON oauthaccesstoken (token_name)',
  ...indexes('oauthaccesstoken', ['application_id'], ['application_id', 'last_accessed'], ['authorized_user_id'], ['uuid']),

  // An authorisation code waiting to be exchanged for a token.
  `CREATE TABLE oauthauthorizationcode (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  application_id INTEGER NOT NULL REFERENCES oauthapplication (id),
  scope TEXT NOT NULL,
  data TEXT NOT NULL,
  code_credential TEXT NOT NULL,
  code_name TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX oauthauthorizationcode_code_name ON oauthauthorizationcode (code_name)',
  ...indexes('oauthauthorizationcode', ['application_id']),

  // A token an organisation administrator created for another user, waiting for that user.
  `CREATE TABLE oauthassignedtoken (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  assigned_user_id INTEGER NOT NULL REFERENCES "user" (id),
  application_id INTEGER NOT NULL REFERENCES oauthapplication (id),
  redirect_uri TEXT,
  scope TEXT NOT NULL,
  response_type TEXT
)`,
  'CREATE INDEX oauthassignedtoken_assigned_user ON oauthassignedtoken (assigned_user_id)',
  'CREATE UNIQUE INDEX oauthassignedtoken_uuid ON oauthassignedtoken (uuid)',
  ...indexes('oauthassignedtoken', ['application_id']),
];

/** Per-repository extras: stars, counters, search score, statistics, scan status. */
const REPOSITORY_EXTRAS: readonly string[] = [
  // A user's starred repositories.
  `CREATE TABLE star (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES "user" (id),
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  created TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX star_user_id_repository_id ON star (user_id, repository_id)',
  ...indexes('star', ['repository_id'], ['user_id']),

  // Actions per repository and day. date is a calendar day ('YYYY-MM-DD'; `date` in PostgreSQL).
  `CREATE TABLE repositoryactioncount (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  count INTEGER NOT NULL,
  date TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX repositoryactioncount_repository_id_date ON repositoryactioncount (repository_id, date)',
  ...indexes('repositoryactioncount', ['date'], ['repository_id']),

  // Popularity used to order search results.
  `CREATE TABLE repositorysearchscore (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  score INTEGER NOT NULL,
  last_updated TEXT
)`,
  'CREATE UNIQUE INDEX repositorysearchscore_repository_id ON repositorysearchscore (repository_id)',
  ...indexes('repositorysearchscore', ['score']),

  // Addresses allowed to receive a repository's e-mail notifications.
  `CREATE TABLE repositoryauthorizedemail (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  email TEXT NOT NULL,
  code TEXT NOT NULL,
  confirmed INTEGER NOT NULL
)`,
  'CREATE UNIQUE INDEX repositoryauthorizedemail_code ON repositoryauthorizedemail (code)',
  'CREATE UNIQUE INDEX repositoryauthorizedemail_email_repository_id ON repositoryauthorizedemail (email, repository_id)',
  ...indexes('repositoryauthorizedemail', ['repository_id']),

  // Pull counters per tag name.
  `CREATE TABLE tagpullstatistics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  tag_name TEXT NOT NULL,
  tag_pull_count INTEGER NOT NULL,    -- Quay writes 0 at creation
  last_tag_pull_date TEXT NOT NULL,
  current_manifest_digest TEXT
)`,
  'CREATE UNIQUE INDEX tagpullstatistics_repository_id_tag_name ON tagpullstatistics (repository_id, tag_name)',

  // Pull counters per manifest digest.
  `CREATE TABLE manifestpullstatistics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  manifest_digest TEXT NOT NULL,
  manifest_pull_count INTEGER NOT NULL, -- Quay writes 0 at creation
  last_manifest_pull_date TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX manifestpullstatistics_repository_id_manifest_digest ON manifestpullstatistics (repository_id, manifest_digest)',

  // Security scanner progress per manifest.
  `CREATE TABLE manifestsecuritystatus (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  manifest_id INTEGER NOT NULL REFERENCES manifest (id),
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  index_status INTEGER NOT NULL,
  error_json TEXT NOT NULL,
  last_indexed TEXT NOT NULL,
  indexer_hash TEXT NOT NULL,         -- varchar(128)
  indexer_version INTEGER NOT NULL,
  metadata_json TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX manifestsecuritystatus_manifest_id ON manifestsecuritystatus (manifest_id)',
  ...indexes('manifestsecuritystatus', ['index_status'], ['indexer_hash'], ['indexer_version'], ['last_indexed'], ['repository_id']),

  // Legacy blob signatures.
  `CREATE TABLE imagestoragesignature (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  storage_id INTEGER NOT NULL REFERENCES imagestorage (id),
  kind_id INTEGER NOT NULL REFERENCES imagestoragesignaturekind (id),
  signature TEXT,
  uploading INTEGER
)`,
  'CREATE UNIQUE INDEX imagestoragesignature_kind_id_storage_id ON imagestoragesignature (kind_id, storage_id)',
  ...indexes('imagestoragesignature', ['kind_id'], ['storage_id']),
];

/** Build triggers and builds. */
const BUILDS: readonly string[] = [
  // A trigger that starts builds from a source repository (GitHub, GitLab, ...).
  `CREATE TABLE repositorybuildtrigger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  service_id INTEGER NOT NULL REFERENCES buildtriggerservice (id),
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  connected_user_id INTEGER NOT NULL REFERENCES "user" (id),
  config TEXT NOT NULL,               -- JSON; Quay writes '{}'
  write_token_id INTEGER REFERENCES accesstoken (id),
  pull_robot_id INTEGER REFERENCES "user" (id),
  disabled_reason_id INTEGER REFERENCES disablereason (id),
  enabled INTEGER NOT NULL DEFAULT 1,
  successive_failure_count INTEGER NOT NULL DEFAULT 0,
  successive_internal_error_count INTEGER NOT NULL DEFAULT 0,
  disabled_datetime TEXT,
  secure_auth_token TEXT,
  secure_private_key TEXT,
  fully_migrated INTEGER NOT NULL DEFAULT 0
)`,
  ...indexes(
    'repositorybuildtrigger',
    ['connected_user_id'],
    ['disabled_datetime'],
    ['disabled_reason_id'],
    ['pull_robot_id'],
    ['repository_id'],
    ['service_id'],
    ['uuid'],
    ['write_token_id'],
  ),

  // One build; phase is Quay's build phase name ('waiting', 'complete', ...).
  `CREATE TABLE repositorybuild (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  access_token_id INTEGER NOT NULL REFERENCES accesstoken (id),
  resource_key TEXT,
  job_config TEXT NOT NULL,
  phase TEXT NOT NULL,
  started TEXT NOT NULL,
  display_name TEXT NOT NULL,
  trigger_id INTEGER REFERENCES repositorybuildtrigger (id),
  pull_robot_id INTEGER REFERENCES "user" (id),
  logs_archived INTEGER NOT NULL DEFAULT 0,
  queue_id TEXT
)`,
  ...indexes(
    'repositorybuild',
    ['access_token_id'],
    ['logs_archived'],
    ['pull_robot_id'],
    ['queue_id'],
    ['repository_id'],
    ['repository_id', 'started', 'phase'],
    ['resource_key'],
    ['started'],
    ['started', 'logs_archived', 'phase'],
    ['trigger_id'],
    ['uuid'],
  ),
];

/** In-app notifications, repository and namespace notifications, global messages. */
const NOTIFICATIONS: readonly string[] = [
  // A notification shown to a user in the UI.
  `CREATE TABLE notification (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  kind_id INTEGER NOT NULL REFERENCES notificationkind (id),
  target_id INTEGER NOT NULL REFERENCES "user" (id),
  metadata_json TEXT NOT NULL,        -- Quay writes '{}'
  created TEXT NOT NULL,
  dismissed INTEGER NOT NULL,
  lookup_path TEXT
)`,
  ...indexes('notification', ['created'], ['kind_id'], ['lookup_path'], ['target_id'], ['uuid']),

  // A repository event (externalnotificationevent) delivered by a method (webhook, e-mail, ...).
  `CREATE TABLE repositorynotification (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  event_id INTEGER NOT NULL REFERENCES externalnotificationevent (id),
  method_id INTEGER NOT NULL REFERENCES externalnotificationmethod (id),
  title TEXT,
  config_json TEXT NOT NULL,
  event_config_json TEXT NOT NULL,    -- no DB default here (unlike namespacenotification); Quay writes '{}'
  number_of_failures INTEGER NOT NULL DEFAULT 0,
  last_ran_ms INTEGER
)`,
  ...indexes('repositorynotification', ['event_id'], ['last_ran_ms'], ['method_id'], ['repository_id'], ['uuid']),

  // The same for a whole namespace.
  `CREATE TABLE namespacenotification (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  event_id INTEGER NOT NULL REFERENCES externalnotificationevent (id),
  method_id INTEGER NOT NULL REFERENCES externalnotificationmethod (id),
  title TEXT,
  config_json TEXT NOT NULL,
  event_config_json TEXT NOT NULL DEFAULT '{}',
  number_of_failures INTEGER NOT NULL DEFAULT 0,
  last_ran_ms INTEGER
)`,
  ...indexes('namespacenotification', ['namespace_id'], ['uuid']),

  // Which tags a notification has already been sent for (e.g. expiry warnings).
  `CREATE TABLE tagnotificationsuccess (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id INTEGER NOT NULL REFERENCES repositorynotification (id),
  tag_id INTEGER NOT NULL REFERENCES tag (id),
  method_id INTEGER NOT NULL REFERENCES externalnotificationmethod (id)
)`,
  ...indexes('tagnotificationsuccess', ['notification_id'], ['tag_id']),

  // Banners shown to every user (superuser messages).
  `CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  content TEXT NOT NULL,
  uuid TEXT NOT NULL DEFAULT '',      -- varchar(36); Quay writes uuid4
  media_type_id INTEGER NOT NULL DEFAULT 1 REFERENCES mediatype (id),
  severity TEXT NOT NULL DEFAULT 'info'
)`,
  ...indexes('messages', ['media_type_id'], ['severity'], ['uuid']),
];

/** Repository and organisation mirroring, proxy-cache organisations. */
const MIRRORING: readonly string[] = [
  // A node of a repository mirror's tag filter (a tree of rules).
  `CREATE TABLE repomirrorrule (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,                 -- varchar(36)
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  creation_date TEXT NOT NULL,
  rule_type INTEGER NOT NULL,
  rule_value TEXT NOT NULL,           -- JSON
  left_child_id INTEGER REFERENCES repomirrorrule (id),
  right_child_id INTEGER REFERENCES repomirrorrule (id)
)`,
  'CREATE UNIQUE INDEX repomirrorrule_uuid ON repomirrorrule (uuid)',
  ...indexes('repomirrorrule', ['left_child_id'], ['repository_id'], ['right_child_id'], ['rule_type']),

  // A repository mirrored from an external registry (repository.state 2).
  `CREATE TABLE repomirrorconfig (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  creation_date TEXT NOT NULL,
  is_enabled INTEGER NOT NULL,
  mirror_type INTEGER NOT NULL,
  internal_robot_id INTEGER NOT NULL REFERENCES "user" (id),
  external_registry_username TEXT,    -- varchar(4096), encrypted
  external_registry_config TEXT NOT NULL, -- JSON
  sync_interval INTEGER NOT NULL DEFAULT 60,
  sync_start_date TEXT,
  sync_expiration_date TEXT,
  sync_retries_remaining INTEGER NOT NULL DEFAULT 3,
  sync_status INTEGER NOT NULL,
  sync_transaction_id TEXT,           -- varchar(36)
  root_rule_id INTEGER NOT NULL REFERENCES repomirrorrule (id),
  external_reference TEXT NOT NULL,
  external_registry_password TEXT,    -- varchar(9000), encrypted
  skopeo_timeout INTEGER NOT NULL DEFAULT '300',
  architecture_filter TEXT            -- JSON list
)`,
  'CREATE UNIQUE INDEX repomirrorconfig_repository_id ON repomirrorconfig (repository_id)',
  ...indexes('repomirrorconfig', ['internal_robot_id'], ['mirror_type'], ['root_rule_id'], ['sync_status'], ['sync_transaction_id']),

  // An organisation mirrored from an external registry's namespace.
  `CREATE TABLE orgmirrorconfig (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES "user" (id),
  creation_date TEXT NOT NULL,
  is_enabled INTEGER NOT NULL DEFAULT 1,
  mirror_type INTEGER NOT NULL DEFAULT 1,
  external_registry_type INTEGER NOT NULL,
  external_registry_url TEXT NOT NULL, -- varchar(2048)
  external_namespace TEXT NOT NULL,
  external_registry_username TEXT,    -- varchar(4096), encrypted
  external_registry_password TEXT,    -- varchar(9000), encrypted
  external_registry_config TEXT NOT NULL, -- JSON
  internal_robot_id INTEGER NOT NULL REFERENCES "user" (id),
  repository_filters TEXT NOT NULL,   -- JSON list
  visibility_id INTEGER NOT NULL REFERENCES visibility (id),
  delete_stale_repos INTEGER NOT NULL DEFAULT 0,
  sync_interval INTEGER NOT NULL,
  sync_start_date TEXT,
  sync_expiration_date TEXT,
  sync_retries_remaining INTEGER NOT NULL DEFAULT 3,
  sync_status INTEGER NOT NULL DEFAULT 0,
  sync_transaction_id TEXT,           -- varchar(36)
  skopeo_timeout INTEGER NOT NULL DEFAULT '300',
  architecture_filter TEXT NOT NULL DEFAULT '[]'
)`,
  'CREATE UNIQUE INDEX orgmirrorconfig_organization_id ON orgmirrorconfig (organization_id)',
  ...indexes('orgmirrorconfig', ['internal_robot_id'], ['sync_start_date'], ['sync_status']),

  // A repository an organisation mirror discovered (repository_id set once created).
  `CREATE TABLE orgmirrorrepository (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  org_mirror_config_id INTEGER NOT NULL REFERENCES orgmirrorconfig (id),
  repository_name TEXT NOT NULL,
  repository_id INTEGER REFERENCES repository (id),
  discovery_date TEXT NOT NULL,
  sync_status INTEGER NOT NULL DEFAULT 0,
  sync_start_date TEXT,
  sync_expiration_date TEXT,
  last_sync_date TEXT,
  status_message TEXT,
  creation_date TEXT NOT NULL,
  sync_retries_remaining INTEGER NOT NULL DEFAULT 3,
  sync_transaction_id TEXT            -- varchar(36)
)`,
  'CREATE UNIQUE INDEX orgmirrorrepository_config_repo_name ON orgmirrorrepository (org_mirror_config_id, repository_name)',
  'CREATE INDEX orgmirrorrepository_config_status ON orgmirrorrepository (org_mirror_config_id, sync_status)',
  ...indexes('orgmirrorrepository', ['org_mirror_config_id'], ['repository_id'], ['sync_status']),

  // An organisation that is a pull-through cache of an upstream registry; no index but the key.
  `CREATE TABLE proxycacheconfig (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id INTEGER NOT NULL REFERENCES "user" (id),
  creation_date TEXT NOT NULL,
  upstream_registry TEXT NOT NULL,    -- varchar(2048)
  upstream_registry_username TEXT,    -- varchar(4096), encrypted
  upstream_registry_password TEXT,    -- varchar(4096), encrypted
  expiration_s INTEGER DEFAULT 86400,
  insecure INTEGER NOT NULL DEFAULT 0
)`,
];

/** Quotas, auto-prune and immutability policies. */
const POLICIES: readonly string[] = [
  // A namespace's storage quota.
  `CREATE TABLE userorganizationquota (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  limit_bytes INTEGER NOT NULL
)`,
  'CREATE UNIQUE INDEX userorganizationquota_organization ON userorganizationquota (namespace_id)',

  // Warning / reject thresholds of a quota (quotatype), in percent.
  `CREATE TABLE quotalimits (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  quota_id INTEGER NOT NULL REFERENCES userorganizationquota (id),
  quota_type_id INTEGER NOT NULL REFERENCES quotatype (id),
  percent_of_limit INTEGER NOT NULL
)`,
  ...indexes('quotalimits', ['quota_id']),

  // Which quota thresholds a namespace has already been told about.
  `CREATE TABLE quotanotificationstate (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  threshold_percent INTEGER NOT NULL,
  last_notified_at TEXT,
  cleared INTEGER NOT NULL DEFAULT 1
)`,
  'CREATE UNIQUE INDEX quotanotificationstate_namespace_threshold ON quotanotificationstate (namespace_id, threshold_percent)',
  ...indexes('quotanotificationstate', ['namespace_id']),

  // The registry-wide total, recomputed on request.
  `CREATE TABLE quotaregistrysize (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  size_bytes INTEGER NOT NULL DEFAULT '0',
  running INTEGER NOT NULL DEFAULT 0,
  queued INTEGER NOT NULL DEFAULT 0,
  completed_ms INTEGER
)`,

  // Tag auto-prune policy of a namespace (JSON policy).
  `CREATE TABLE namespaceautoprunepolicy (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,                 -- varchar(36)
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  policy TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX namespaceautoprunepolicy_uuid ON namespaceautoprunepolicy (uuid)',
  ...indexes('namespaceautoprunepolicy', ['namespace_id']),

  // Tag auto-prune policy of a repository.
  `CREATE TABLE repositoryautoprunepolicy (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,                 -- varchar(36)
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  policy TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX repositoryautoprunepolicy_uuid ON repositoryautoprunepolicy (uuid)',
  ...indexes('repositoryautoprunepolicy', ['namespace_id'], ['repository_id']),

  // When the auto-prune worker last ran for a namespace.
  `CREATE TABLE autoprunetaskstatus (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  last_ran_ms INTEGER,
  status TEXT
)`,
  'CREATE UNIQUE INDEX autoprunetaskstatus_namespace_id ON autoprunetaskstatus (namespace_id)',
  ...indexes('autoprunetaskstatus', ['last_ran_ms']),

  // Tag immutability policy of a namespace (JSON policy).
  `CREATE TABLE namespaceimmutabilitypolicy (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,                 -- varchar(36)
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  policy TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX namespaceimmutabilitypolicy_uuid ON namespaceimmutabilitypolicy (uuid)',
  ...indexes('namespaceimmutabilitypolicy', ['namespace_id']),

  // Tag immutability policy of a repository.
  `CREATE TABLE repositoryimmutabilitypolicy (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,                 -- varchar(36)
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  namespace_id INTEGER NOT NULL REFERENCES "user" (id),
  policy TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX repositoryimmutabilitypolicy_uuid ON repositoryimmutabilitypolicy (uuid)',
  ...indexes('repositoryimmutabilitypolicy', ['namespace_id'], ['repository_id']),
];

/** The action-log tables before logentry3, and deploy records. */
const OLD_LOGS_RELEASES: readonly string[] = [
  // First action-log table (in PG a bigint id on an integer sequence), with a foreign key to logentrykind unlike logentry3.
  `CREATE TABLE logentry (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind_id INTEGER NOT NULL REFERENCES logentrykind (id),
  account_id INTEGER NOT NULL,
  performer_id INTEGER,
  repository_id INTEGER,
  datetime TEXT NOT NULL,
  ip TEXT,
  metadata_json TEXT NOT NULL
)`,
  ...indexes(
    'logentry',
    ['account_id'],
    ['account_id', 'datetime'],
    ['datetime'],
    ['kind_id'],
    ['performer_id'],
    ['performer_id', 'datetime'],
    ['repository_id'],
    ['repository_id', 'datetime'],
    ['repository_id', 'datetime', 'kind_id'],
  ),

  // Second action-log table (id integer).
  `CREATE TABLE logentry2 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind_id INTEGER NOT NULL REFERENCES logentrykind (id),
  account_id INTEGER NOT NULL,
  performer_id INTEGER,
  repository_id INTEGER,
  datetime TEXT NOT NULL,
  ip TEXT,
  metadata_json TEXT NOT NULL
)`,
  ...indexes(
    'logentry2',
    ['account_id'],
    ['account_id', 'datetime'],
    ['datetime'],
    ['kind_id'],
    ['performer_id'],
    ['performer_id', 'datetime'],
    ['repository_id'],
    ['repository_id', 'datetime'],
    ['repository_id', 'datetime', 'kind_id'],
  ),

  // Deploy records written at boot when a region and git head are configured.
  ...lookup('quayservice'),
  ...lookup('quayregion'),
  `CREATE TABLE quayrelease (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  service_id INTEGER NOT NULL REFERENCES quayservice (id),
  version TEXT NOT NULL,
  region_id INTEGER NOT NULL REFERENCES quayregion (id),
  reverted INTEGER NOT NULL,
  created TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX quayrelease_service_id_version_region_id ON quayrelease (service_id, version, region_id)',
  ...indexes('quayrelease', ['created'], ['region_id'], ['service_id'], ['service_id', 'region_id', 'created']),
];

/** The app registry (CNR / Helm packages of repository kind "application"), legacy. */
const APP_REGISTRY: readonly string[] = [
  // Where app-registry blobs are stored; rows come with explicit ids (see EXPLICIT_ID_LOOKUPS).
  ...lookup('apprblobplacementlocation'),
  // App-registry tag kinds (tag, release, channel); explicit ids too.
  ...lookup('apprtagkind'),

  `CREATE TABLE apprblob (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  digest TEXT NOT NULL,
  media_type_id INTEGER NOT NULL REFERENCES mediatype (id),
  size INTEGER NOT NULL,
  uncompressed_size INTEGER
)`,
  'CREATE UNIQUE INDEX apprblob_digest ON apprblob (digest)',
  ...indexes('apprblob', ['media_type_id']),

  `CREATE TABLE apprblobplacement (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  blob_id INTEGER NOT NULL REFERENCES apprblob (id),
  location_id INTEGER NOT NULL REFERENCES apprblobplacementlocation (id)
)`,
  'CREATE UNIQUE INDEX apprblobplacement_blob_id_location_id ON apprblobplacement (blob_id, location_id)',
  ...indexes('apprblobplacement', ['blob_id'], ['location_id']),

  `CREATE TABLE apprmanifest (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  digest TEXT NOT NULL,
  media_type_id INTEGER NOT NULL REFERENCES mediatype (id),
  manifest_json TEXT NOT NULL
)`,
  'CREATE UNIQUE INDEX apprmanifest_digest ON apprmanifest (digest)',
  ...indexes('apprmanifest', ['media_type_id']),

  `CREATE TABLE apprmanifestblob (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  manifest_id INTEGER NOT NULL REFERENCES apprmanifest (id),
  blob_id INTEGER NOT NULL REFERENCES apprblob (id)
)`,
  'CREATE UNIQUE INDEX apprmanifestblob_manifest_id_blob_id ON apprmanifestblob (manifest_id, blob_id)',
  ...indexes('apprmanifestblob', ['blob_id'], ['manifest_id']),

  `CREATE TABLE apprmanifestlist (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  digest TEXT NOT NULL,
  manifest_list_json TEXT NOT NULL,
  schema_version TEXT NOT NULL,
  media_type_id INTEGER NOT NULL REFERENCES mediatype (id)
)`,
  'CREATE UNIQUE INDEX apprmanifestlist_digest ON apprmanifestlist (digest)',
  ...indexes('apprmanifestlist', ['media_type_id']),

  `CREATE TABLE apprmanifestlistmanifest (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  manifest_list_id INTEGER NOT NULL REFERENCES apprmanifestlist (id),
  manifest_id INTEGER NOT NULL REFERENCES apprmanifest (id),
  operating_system TEXT,
  architecture TEXT,
  platform_json TEXT,
  media_type_id INTEGER NOT NULL REFERENCES mediatype (id)
)`,
  // Quay shortened this name to fit identifier limits.
  'CREATE INDEX apprmanifestlistmanifest_manifest_list_id_operating_system_arch ON apprmanifestlistmanifest (manifest_list_id, operating_system, architecture, media_type_id)',
  ...indexes('apprmanifestlistmanifest', ['manifest_id'], ['manifest_list_id'], ['manifest_list_id', 'media_type_id'], ['media_type_id']),

  // Tag history of app-registry packages (Quay's models no longer define these tables).
  `CREATE TABLE apprtag (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  repository_id INTEGER NOT NULL REFERENCES repository (id),
  manifest_list_id INTEGER REFERENCES apprmanifestlist (id),
  lifetime_start INTEGER NOT NULL,
  lifetime_end INTEGER,
  hidden INTEGER NOT NULL,
  reverted INTEGER NOT NULL,
  protected INTEGER NOT NULL,
  tag_kind_id INTEGER NOT NULL REFERENCES apprtagkind (id),
  linked_tag_id INTEGER REFERENCES apprtag (id)
)`,
  'CREATE UNIQUE INDEX apprtag_repository_id_name_lifetime_end ON apprtag (repository_id, name, lifetime_end)',
  ...indexes(
    'apprtag',
    ['lifetime_end'],
    ['linked_tag_id'],
    ['manifest_list_id'],
    ['repository_id'],
    ['repository_id', 'name'],
    ['repository_id', 'name', 'hidden'],
    ['tag_kind_id'],
  ),
];

/** The statements by group, in execution order (after tables.ts's groups). */
export const QUAY_ONLY_GROUPS: Readonly<Record<string, readonly string[]>> = {
  accounts: ACCOUNTS,
  oauth: OAUTH,
  repositoryExtras: REPOSITORY_EXTRAS,
  builds: BUILDS,
  notifications: NOTIFICATIONS,
  mirroring: MIRRORING,
  policies: POLICIES,
  oldLogsReleases: OLD_LOGS_RELEASES,
  appRegistry: APP_REGISTRY,
};
