/**
 * /api/v1 GET rows: API_SERVICE_KEYS, API_SUPERUSER_READ
 * (endpoints/api/superuser.py, superuser_models_pre_oci.py,
 * superuser_models_interface.py).
 *
 * Quay's decorators, outermost first, are said in each handler's order:
 * require_fresh_login, verify_not_prod, @parse_args (400 on a bad value),
 * then the superuser check in the body (allow_if_any_superuser: a superuser
 * by session or by a token with super:user). FEATURE_SUPERUSERS_FULL_ACCESS
 * only matters for the app tokens row.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import type { ParamSpec } from '../call/params.js';
import { truthyBool } from '../call/params.js';
import { pythonJsonLoads, type PyJson } from '../../lib/python-json.js';
import { BuildData, type BuildRow } from '../../dal/portable/builds.js';
import { LOG_TABLES, SuperuserData, type SuLogRow, type SuNamespace, type SuQuota } from '../../dal/portable/superuser.js';
import { parseSqlTime, sqlTime } from '../../dal/model/time.js';
import { orgAvatar, userAvatar } from '../../domain/avatar.js';
import { formatDate } from '../../domain/quay-dates.js';
import { invalidRequest, invalidResponse, notFound, RawAnswer } from '../wire/errors.js';
import { durationSeconds } from '../wire/settings.js';
import { buildLogs, buildStatus, buildUserView, CORS_ON_SUCCESS, gunicorn500, jsonifyAnswer, loadsOrEmpty, logsOrLogUrl, pyTruthy, triggerView, userfileUrl } from './builds.js';
import { allowIfAnySuperuser, allowIfGlobalReadonlySuperuser, allowIfSuperuserWithFullAccess, requireFreshLogin, verifyNotProd } from './guards.js';
import { notYet } from './not-yet.js';
import { bestPrefix, quotaReport } from './quota.js';

const su = (c: ApiCall): SuperuserData => new SuperuserData(c.svc.sql);

/** The superuser check in the body of most rows: allow_if_any_superuser, else Unauthorized. */
function requireAnySuperuser(c: ApiCall): void {
  if (!allowIfAnySuperuser(c)) throw c.unauthorized();
}

// ---------------------------------------------------------------------------
// Views

/** DEFAULT_SYSTEM_REJECT_QUOTA_BYTES (config.py default 0). */
function systemDefaultQuota(c: ApiCall): unknown {
  return c.svc.settings.keys.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES ?? 0;
}

/** endpoints/api/namespacequota.py quota_view (with quota limits), for a stored quota. */
function namespaceQuotaView(c: ApiCall, q: SuQuota): PyJson {
  return {
    id: q.id,
    limit_bytes: q.limitBytes,
    limit: bestPrefix(q.limitBytes),
    default_config: false,
    limits: q.limits.map((l) => ({ id: l.id, type: l.type, limit_percent: l.percent })),
    default_config_exists: systemDefaultQuota(c) !== 0,
  };
}

/** superuser_models_interface.py quota_view. */
function suQuotaView(q: SuQuota): PyJson {
  return { id: q.id, limit_bytes: q.limitBytes, limits: q.limits.map((l) => ({ id: l.id, type: l.type, limit_percent: l.percent })) };
}

const quotaViews = (c: ApiCall): boolean => c.svc.settings.feature('QUOTA_MANAGEMENT') && c.svc.settings.feature('EDIT_QUOTA');

/** superuser_models_interface.py User.to_dict. */
async function suUserView(c: ApiCall, u: SuNamespace): Promise<PyJson> {
  const s = c.svc.settings;
  const view: Record<string, PyJson> = {
    kind: 'user',
    name: u.username,
    username: u.username,
    email: u.email,
    verified: u.verified,
    avatar: { ...userAvatar(u) },
    super_user: s.superUsers.includes(u.username),
    global_readonly_super_user: s.globalReadonlySuperUsers.includes(u.username),
    enabled: u.enabled,
  };
  if (quotaViews(c)) {
    const quotas = await su(c).quotas(u.id);
    view.quotas = quotas.map(suQuotaView);
    view.quota_report = (await quotaReport(c, u)) as PyJson;
  }
  return view;
}

/** superuser_models_interface.py Organization.to_dict. */
async function suOrgView(c: ApiCall, o: SuNamespace): Promise<PyJson> {
  const view: Record<string, PyJson> = { name: o.username, email: o.email, avatar: { ...orgAvatar(o) } };
  if (quotaViews(c)) {
    const quotas = await su(c).quotas(o.id);
    view.quotas = quotas.map(suQuotaView);
    view.quota_report = (await quotaReport(c, o)) as PyJson;
  }
  return view;
}

/** Werkzeug's http_date, how Flask's jsonify writes a datetime: `Fri, 04 Dec 2026 01:59:39 GMT`. */
function httpDate(text: string | null): PyJson {
  return text === null ? null : new Date(Math.floor(parseSqlTime(text) / 1000) * 1000).toUTCString();
}

// ---------------------------------------------------------------------------
// Pages (modelutil.paginate by id)

type PageToken = Record<string, unknown> | null;

function pageToken(c: ApiCall, next: unknown): PageToken {
  return c.svc.pages.decrypt(typeof next === 'string' ? next : null, c.svc.now());
}

/** modelutil.paginate over users or organisations (ascending id), Python's list arithmetic included. */
async function namespacePage(c: ApiCall, o: { organizations: boolean; enabledOnly: boolean; limit: number; token: PageToken }): Promise<[SuNamespace[], PageToken]> {
  const t = o.token;
  const startIndex = t && t.start_index !== undefined && t.start_index !== null ? Number(t.start_index) : null;
  const offsetVal = t ? Number(t.offset_val ?? 0) : 0;
  if (startIndex !== null && !Number.isFinite(startIndex)) throw gunicorn500(); // not a token Quay makes for id pages
  const pageNumber = t && t.page_number ? Number(t.page_number) : null;
  // LIMIT limit+1: SQLite reads a negative LIMIT as none at all, PostgreSQL refuses it.
  if (o.limit + 1 < 0 && c.svc.sql.dialect === 'postgresql') throw gunicorn500();
  const rows = await su(c).namespaces({
    organizations: o.organizations,
    enabledOnly: o.enabledOnly,
    page: { limit: o.limit, startId: startIndex, offset: offsetVal > 0 ? offsetVal : 0 },
  });
  let next: PageToken = null;
  if (rows.length > o.limit) {
    const idx = o.limit < 0 ? rows.length + o.limit : o.limit;
    const at = rows[idx];
    if (!at) throw gunicorn500(); // IndexError
    next = { start_index: at.id, page_number: pageNumber ? pageNumber + 1 : 1, is_datetime: false, offset_val: offsetVal };
  }
  return [rows.slice(0, o.limit), next];
}

function withNextPage(c: ApiCall, body: Record<string, PyJson>, next: PageToken): Record<string, PyJson> {
  if (next !== null) body.next_page = c.svc.pages.encrypt(next as Record<string, PyJson>, c.svc.now());
  return body;
}

// ---------------------------------------------------------------------------
// Logs

/** endpoints/api/logs.py _parse_datetime: `%m/%d/%Y` (+ " UTC"), midnight; anything else is None. */
function parseLogDate(s: unknown): number | null {
  if (typeof s !== 'string' || !s) return null;
  const m = /^(1[0-2]|0[1-9]|[1-9])\/(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])\/(\d{4})$/.exec(s);
  if (!m) return null;
  const [mo, d, y] = [Number(m[1]), Number(m[2]!.trim()), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  if (y < 100) back.setUTCFullYear(y);
  return back.getTime();
}

/** _validate_logs_arguments: [start, end) in ms; defaults now-1d and now, end + 1 day. */
function logsWindow(c: ApiCall, starttime: unknown, endtime: unknown): [number, number] {
  const now = c.svc.now();
  const start = parseLogDate(starttime) ?? now - 86_400_000;
  const end = (parseLogDate(endtime) ?? now) + 86_400_000;
  return [start, end];
}

/** A naive datetime's text as Python prints it (`str(datetime)`): microseconds only when not zero. */
function pyDatetimeText(text: string, sep: ' ' | 'T'): string {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(text);
  if (!m) return text;
  const frac = (m[3] ?? '').padEnd(6, '0').slice(0, 6);
  return `${m[1]}${sep}${m[2]}${/^0*$/.test(frac) ? '' : `.${frac}`}`;
}

/** dateutil.parser.parse(s, ignoretz=True) of a token's start_index, as the SQL parameter. */
function tokenDatetime(v: unknown): string {
  if (typeof v !== 'string') throw gunicorn500();
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)(?:Z|[+-]\d\d:?\d\d)?$/.exec(v.trim());
  if (!m) throw gunicorn500();
  return pyDatetimeText(`${m[1]} ${m[2]}`, ' ');
}

/** data/logs_model/datatypes.py Log.to_dict(include_namespace=True). */
function logView(l: SuLogRow, kinds: Map<number, string>): PyJson {
  let metadata: PyJson;
  try {
    metadata = pythonJsonLoads(l.metadataJson || '{}');
  } catch {
    throw gunicorn500();
  }
  const view: Record<string, PyJson> = { kind: kinds.get(l.kindId) ?? 'unknown', metadata, ip: l.ip, datetime: formatDate(parseSqlTime(l.datetime)) };
  if (l.performerUsername) {
    view.performer = {
      kind: 'user',
      name: l.performerUsername,
      is_robot: l.performerRobot,
      avatar: { ...userAvatar({ username: l.performerUsername, email: l.performerEmail, robot: l.performerRobot === true }) },
    };
  }
  if (l.accountUsername) {
    const account = { username: l.accountUsername, email: l.accountEmail, robot: l.accountRobot === true };
    view.namespace = l.accountOrganization
      ? { kind: 'org', name: l.accountUsername, avatar: { ...orgAvatar(account) } }
      : { kind: 'user', name: l.accountUsername, avatar: { ...userAvatar(account) } };
  }
  return view;
}

/** table_logs_model.py lookup_logs for the whole system: one page (20) over the three tables, Quay's `tti` tokens. */
async function lookupLogs(c: ApiCall, start: number, end: number, token: PageToken): Promise<[SuLogRow[], PageToken]> {
  const data = su(c);
  const limit = 20;
  const logs: SuLogRow[] = [];
  let next: PageToken = token && Object.keys(token).length > 0 ? token : null;
  let tableIndex = 0;
  const last = LOG_TABLES.length - 1;
  while (logs.length === 0 && tableIndex < last) {
    if (next !== null && next.tti !== undefined && next.tti !== null) {
      const tti = next.tti;
      if (typeof tti !== 'number' || !Number.isInteger(tti) || tti < -LOG_TABLES.length || tti > last) throw gunicorn500();
      tableIndex = tti < 0 ? LOG_TABLES.length + tti : tti;
    }
    // modelutil.paginate, descending by datetime.
    const t = next;
    const startIndex = t && t.start_index !== undefined && t.start_index !== null ? (t.is_datetime ? tokenDatetime(t.start_index) : String(t.start_index)) : null;
    const offsetVal = t ? Number(t.offset_val ?? 0) : 0;
    const pageNumber = t && t.page_number ? Number(t.page_number) : null;
    const rows = await data.logPage(LOG_TABLES[tableIndex]!, { start: sqlTime(start), end: sqlTime(end), startIndex, offset: offsetVal > 0 ? offsetVal : 0, limit });
    let pageToken: PageToken = null;
    if (rows.length > limit) {
      const at = pyDatetimeText(rows[limit]!.datetime, 'T');
      const before = pyDatetimeText(rows[limit - 1]!.datetime, 'T');
      pageToken = { start_index: `${at}Z`, page_number: pageNumber ? pageNumber + 1 : 1, is_datetime: true, offset_val: at === before ? limit + offsetVal : offsetVal };
    }
    logs.push(...rows.slice(0, limit));
    next = pageToken;
    if (next === null && tableIndex < last) next = { tti: tableIndex + 1 };
    if (tableIndex >= last) break;
  }
  return [logs, next];
}

const LOG_ARGS_HELP = {
  starttime: 'Earliest time from which to get logs (%m/%d/%Y %Z)',
  endtime: 'Latest time to which to get logs (%m/%d/%Y %Z)',
};

// ---------------------------------------------------------------------------
// Handlers

async function aggregateLogs(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  verifyNotProd(c);
  const a = c.args([
    { name: 'endtime', help: 'Latest time to which to get logs. (%m/%d/%Y %Z)', type: 'str' },
    { name: 'starttime', help: 'Earliest time from which to get logs. (%m/%d/%Y %Z)', type: 'str' },
  ]);
  requireAnySuperuser(c);
  const [start, end] = logsWindow(c, a.starttime, a.endtime);
  // InvalidLogsDateRangeError is not caught by the view: an unhandled exception.
  if (end - start > 31 * 86_400_000) throw gunicorn500();
  const data = su(c);
  const kinds = await data.logKinds();
  const s = new Date(start);
  const entries = new Map<string, { kindId: number; count: number; date: number }>();
  for (const table of LOG_TABLES) {
    for (const e of await data.aggregate(table, { start: sqlTime(start), end: sqlTime(end) })) {
      // datetime(start.year, start.month, day): a day the month does not have is a ValueError.
      const inMonth = new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth() + 1, 0)).getUTCDate();
      if (e.day < 1 || e.day > inMonth) throw gunicorn500();
      let d = Date.UTC(s.getUTCFullYear(), s.getUTCMonth(), e.day);
      if (e.day < s.getUTCDate()) {
        // relativedelta(months=1): the same day next month, clamped to its last day.
        const lastNext = new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth() + 2, 0)).getUTCDate();
        d = Date.UTC(s.getUTCFullYear(), s.getUTCMonth() + 1, Math.min(e.day, lastNext));
      }
      const key = `${e.kindId}-${e.day}`;
      const prev = entries.get(key);
      entries.set(key, { kindId: e.kindId, count: e.count + (prev?.count ?? 0), date: d });
    }
  }
  return { aggregated: [...entries.values()].map((e) => ({ kind: kinds.get(e.kindId) ?? 'unknown', count: e.count, datetime: formatDate(e.date) })) };
}

async function superuserLogs(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  verifyNotProd(c);
  const a = c.args([
    { name: 'next_page', help: 'The page token for the next page', type: 'str' },
    { name: 'page', help: 'The page number for the logs', type: 'int', default: 1 },
    { name: 'endtime', help: LOG_ARGS_HELP.endtime, type: 'str' },
    { name: 'starttime', help: LOG_ARGS_HELP.starttime, type: 'str' },
  ]);
  const token = pageToken(c, a.next_page);
  requireAnySuperuser(c);
  const [start, end] = logsWindow(c, a.starttime, a.endtime);
  const [logs, next] = await lookupLogs(c, start, end, token);
  const kinds = await su(c).logKinds();
  return withNextPage(c, { start_time: formatDate(start), end_time: formatDate(end), logs: logs.map((l) => logView(l, kinds)) }, next);
}

async function appTokens(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  const a = c.args([{ name: 'expiring', help: 'If true, only returns those tokens expiring soon', type: truthyBool }]);
  if (!(allowIfGlobalReadonlySuperuser(c) || allowIfSuperuserWithFullAccess(c))) throw c.unauthorized();
  const expiring = a.expiring as boolean | null;
  let window: { now: string; soon: string } | null = null;
  if (expiring) {
    const seconds = Math.ceil(durationSeconds(c.svc.settings.keys.APP_SPECIFIC_TOKEN_EXPIRATION || '4w', 28 * 86400) * 0.1) || 1;
    const now = c.svc.now();
    window = { now: sqlTime(now), soon: sqlTime(now + seconds * 1000) };
  }
  const tokens = await su(c).appTokens(window);
  const date = (t: string | null): PyJson => (t === null ? null : formatDate(parseSqlTime(t)));
  return {
    tokens: tokens.map((t) => ({ uuid: t.uuid, title: t.title, last_accessed: date(t.lastAccessed), created: date(t.created), expiration: date(t.expiration) })),
    only_expiring: expiring,
  };
}

/**
 * Where Quay reads CHANGELOG.md: its ROOT_DIR (the directory of its code),
 * where its config also lives by default (ROOT_DIR/conf/stack/config.yaml).
 * The go side knows its config file, so it reads `<config dir>/../../CHANGELOG.md`.
 */
function changelogPath(c: ApiCall): string | null {
  const config = c.svc.configFile;
  return config ? resolve(dirname(config), '..', '..', 'CHANGELOG.md') : null;
}

async function changeLog(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  verifyNotProd(c);
  requireAnySuperuser(c);
  const path = changelogPath(c);
  // open() of a missing file: FileNotFoundError escapes the view (gunicorn's 500).
  if (path === null || !existsSync(path)) throw gunicorn500();
  try {
    return { log: readFileSync(path, 'utf8') };
  } catch {
    throw gunicorn500();
  }
}

async function dumpConfig(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  if (allowIfAnySuperuser(c) && c.svc.settings.feature('SUPERUSER_CONFIGDUMP')) {
    // The dump is Quay's whole app.config (defaults included), its environment and its config schema: not built.
    return notYet(c);
  }
  throw c.unauthorized();
}

async function userQuotaList(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  verifyNotProd(c);
  requireAnySuperuser(c);
  const name = c.params.namespace ?? '';
  // get_user_or_org answers None for a name that is not ASCII.
  const n = /^[\x00-\x7f]*$/.test(name) ? await su(c).userOrOrg(name) : null;
  if (!n) throw notFound();
  return (await su(c).quotas(n.id)).map((q) => namespaceQuotaView(c, q));
}

const LIMIT_SPEC: ParamSpec = { name: 'limit', help: 'Limit to the number of results to return per page. Max 100.', type: 'int', default: null };
const NEXT_PAGE_SPEC: ParamSpec = { name: 'next_page', help: 'The page token for the next page', type: 'str' };

async function organizationList(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  verifyNotProd(c);
  const a = c.args([NEXT_PAGE_SPEC, LIMIT_SPEC]);
  const token = pageToken(c, a.next_page);
  requireAnySuperuser(c);
  const limit = a.limit as number | null;
  if (limit !== null && limit > 100) throw invalidRequest('Page limit cannot be above 100');
  if (limit === null) {
    const orgs = await su(c).namespaces({ organizations: true, enabledOnly: false });
    const out: PyJson[] = [];
    for (const o of orgs) out.push(await suOrgView(c, o));
    return { organizations: out };
  }
  const [orgs, next] = await namespacePage(c, { organizations: true, enabledOnly: false, limit, token });
  const out: PyJson[] = [];
  for (const o of orgs) out.push(await suOrgView(c, o));
  return withNextPage(c, { organizations: out }, next);
}

async function registrySize(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  verifyNotProd(c);
  requireAnySuperuser(c);
  const r = await su(c).registrySize();
  if (r) return { size_bytes: r.sizeBytes, last_ran: r.completedMs, queued: r.queued, running: r.running };
  return { size_bytes: 0, last_ran: null, running: false, queued: false };
}

async function userList(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  verifyNotProd(c);
  const a = c.args([NEXT_PAGE_SPEC, LIMIT_SPEC, { name: 'disabled', help: 'If false, only enabled users will be returned.', type: truthyBool, default: true }]);
  const token = pageToken(c, a.next_page);
  requireAnySuperuser(c);
  const limit = a.limit as number | null;
  if (limit !== null && limit > 100) throw invalidRequest('Page limit cannot be above 100');
  const enabledOnly = !(a.disabled as boolean);
  if (limit === null) {
    const users = await su(c).namespaces({ organizations: false, enabledOnly });
    const out: PyJson[] = [];
    for (const u of users) out.push(await suUserView(c, u));
    return { users: out };
  }
  const [users, next] = await namespacePage(c, { organizations: false, enabledOnly, limit, token });
  const out: PyJson[] = [];
  for (const u of users) out.push(await suUserView(c, u));
  return withNextPage(c, { users: out }, next);
}

async function userManagement(c: ApiCall): Promise<unknown> {
  requireFreshLogin(c);
  verifyNotProd(c);
  requireAnySuperuser(c);
  const name = c.params.username ?? '';
  const u = /^[\x00-\x7f]*$/.test(name) ? await su(c).nonRobotUser(name) : null;
  if (!u) throw notFound();
  return suUserView(c, u);
}

// --- builds, as the superuser model shows them

/**
 * superuser_models_pre_oci.py get_repository_build + RepositoryBuild.to_dict.
 * Quay quirk (superuser_models_pre_oci.py:94): `get_job_config(build.job_config)`
 * passes the column's text where the build is expected, so the job config is
 * always {}: no subdirectory, tags, trigger metadata or archive_url from it.
 */
async function suBuildView(c: ApiCall, b: BuildRow, data: BuildData): Promise<PyJson> {
  const logs = buildLogs(c);
  try {
    const canRead = await c.caller.canReadRepo(b.namespace, b.repository);
    const canWrite = await c.caller.canWriteRepo(b.namespace, b.repository);
    const canAdmin = await c.caller.canAdminRepo(b.namespace, b.repository);
    const job = loadsOrEmpty(null);
    const { phase, status, error } = await buildStatus(c, b, logs, data);
    const url = b.resourceKey !== null ? userfileUrl(c, b.resourceKey) : '';
    const trigger = b.trigger ? triggerView(c, b.trigger, { canRead, canAdmin, forBuild: true, superuser: true }) : null;
    const resp: Record<string, PyJson> = {
      id: b.uuid,
      phase,
      started: formatDate(parseSqlTime(b.started)),
      display_name: b.displayName,
      status: pyTruthy(status) ? status : {},
      subdirectory: job.build_subdir ?? '',
      dockerfile_path: job.build_subdir ?? '',
      context: job.context ?? '',
      tags: job.docker_tags ?? [],
      manual_user: job.manual_user ?? null,
      is_writer: canWrite,
      trigger,
      trigger_metadata: canRead ? (job.trigger_metadata ?? null) : null,
      resource_key: b.resourceKey,
      pull_robot: b.pullRobot ? buildUserView(b.pullRobot) : null,
      repository: { namespace: b.namespace, name: b.repository },
      error,
    };
    if (canWrite && b.resourceKey !== null) resp.archive_url = url;
    return resp;
  } finally {
    logs.close();
  }
}

function superuserBuildGuards(c: ApiCall): void {
  requireFreshLogin(c);
  verifyNotProd(c);
  requireAnySuperuser(c);
}

async function suBuild(c: ApiCall): Promise<unknown> {
  superuserBuildGuards(c);
  const data = new BuildData(c.svc.sql);
  const b = await data.build(c.params.build_uuid ?? '');
  if (!b) throw notFound();
  return suBuildView(c, b, data);
}

async function suBuildStatus(c: ApiCall): Promise<unknown> {
  superuserBuildGuards(c);
  const data = new BuildData(c.svc.sql);
  const uuid = c.params.build_uuid ?? '';
  const b = await data.build(uuid);
  if (!b) throw invalidResponse(`Unable to locate a build by id: ${uuid}`);
  return suBuildView(c, b, data);
}

/** What get_repository_build works out beyond the row before a logs row answers: the status (a Redis read). */
async function touchStatus(c: ApiCall, b: BuildRow, data: BuildData): Promise<void> {
  const logs = buildLogs(c);
  try {
    await buildStatus(c, b, logs, data);
  } finally {
    logs.close();
  }
}

async function suBuildLogs(c: ApiCall): Promise<unknown> {
  superuserBuildGuards(c);
  const data = new BuildData(c.svc.sql);
  const uuid = c.params.build_uuid ?? '';
  const b = await data.build(uuid);
  if (!b) throw invalidResponse(`Unable to locate a build by id: ${uuid}`);
  await touchStatus(c, b, data);
  const logs = buildLogs(c);
  try {
    return await logsOrLogUrl(c, b, logs);
  } finally {
    logs.close();
  }
}

/** LOG_ARCHIVE_PATH (config.py default "logarchive/"). */
function logArchivePath(c: ApiCall): string {
  const p = c.svc.settings.keys.LOG_ARCHIVE_PATH;
  return typeof p === 'string' ? p : 'logarchive/';
}

async function suBuildLogsArchive(c: ApiCall): Promise<unknown> {
  superuserBuildGuards(c);
  const data = new BuildData(c.svc.sql);
  const uuid = c.params.build_uuid ?? '';
  const b = await data.build(uuid);
  if (!b) throw invalidResponse(`Unable to locate a build by id: ${uuid}`);
  await touchStatus(c, b, data);
  // log_archive.get_file_id_path: os.path.join(LOG_ARCHIVE_PATH, basename(uuid)), read from storage and gunzipped.
  const prefix = logArchivePath(c);
  const base = uuid.split('/').pop() ?? uuid;
  const key = prefix === '' ? base : prefix.endsWith('/') ? `${prefix}${base}` : `${prefix}/${base}`;
  let gz: Buffer;
  try {
    gz = await c.svc.storage.readAll(key);
  } catch {
    throw invalidResponse('Archived logs not available');
  }
  let text: string;
  try {
    text = gunzipSync(gz).toString('utf8');
  } catch {
    throw gunicorn500();
  }
  throw new RawAnswer(200, 'application/json', text, CORS_ON_SUCCESS);
}

// --- service keys (jsonify: sorted keys, compact, Werkzeug http dates)

async function serviceKeyView(c: ApiCall, k: Awaited<ReturnType<SuperuserData['serviceKeys']>>[number]): Promise<PyJson> {
  const json = (t: string): PyJson => {
    try {
      return pythonJsonLoads(t);
    } catch {
      throw gunicorn500();
    }
  };
  let approval: PyJson = null;
  if (k.approval) {
    const approver = k.approval.approverId === null ? null : await su(c).userById(k.approval.approverId);
    approval = {
      approver: approver ? await suUserView(c, approver) : null,
      approval_type: k.approval.approvalType,
      approved_date: httpDate(k.approval.approvedDate),
      notes: k.approval.notes,
    };
  }
  return {
    name: k.name,
    kid: k.kid,
    service: k.service,
    jwk: json(k.jwk),
    metadata: json(k.metadata),
    created_date: httpDate(k.createdDate),
    expiration_date: httpDate(k.expirationDate),
    rotation_duration: k.rotationDuration,
    approval,
  };
}

/** EXPIRED_SERVICE_KEY_TTL_SEC (config.py: one week) before now, as the query's parameter. */
function staleBefore(c: ApiCall): string {
  const ttl = c.svc.settings.keys.EXPIRED_SERVICE_KEY_TTL_SEC;
  return sqlTime(c.svc.now() - (typeof ttl === 'number' ? ttl : 7 * 86400) * 1000);
}

async function serviceKeys(c: ApiCall): Promise<unknown> {
  verifyNotProd(c);
  requireAnySuperuser(c);
  const keys = await su(c).serviceKeys(null, staleBefore(c));
  const out: PyJson[] = [];
  for (const k of keys) out.push(await serviceKeyView(c, k));
  throw jsonifyAnswer(200, { keys: out });
}

async function serviceKey(c: ApiCall): Promise<unknown> {
  verifyNotProd(c);
  requireAnySuperuser(c);
  const [k] = await su(c).serviceKeys(c.params.kid ?? '', staleBefore(c));
  if (!k) throw notFound();
  throw jsonifyAnswer(200, await serviceKeyView(c, k));
}

const superUsers = (s: Parameters<NonNullable<ApiRouteRecord['registered']>>[0]): boolean => s.feature('SUPER_USERS');

export const SUPERUSER_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0253 /api/v1/superuser/aggregatelogs
  { quayHandler: 'SuperUserAggregateLogs.get', handle: aggregateLogs, registered: superUsers },
  // ROUTE_0255 /api/v1/superuser/apptokens
  { quayHandler: 'SuperUserAppTokens.get', handle: appTokens, registered: (s) => s.feature('APP_SPECIFIC_TOKENS') && s.feature('SUPER_USERS') },
  // ROUTE_0256 /api/v1/superuser/changelog/
  { quayHandler: 'ChangeLog.get', handle: changeLog, registered: superUsers },
  // ROUTE_0257 /api/v1/superuser/config
  { quayHandler: 'SuperUserDumpConfig.get', handle: dumpConfig, registered: superUsers },
  // ROUTE_0263 /api/v1/superuser/logs
  { quayHandler: 'SuperUserLogs.get', handle: superuserLogs, registered: superUsers },
  // ROUTE_0265 /api/v1/superuser/organization/{namespace}/quota (and /superuser/users/{namespace}/quota)
  {
    quayHandler: 'SuperUserUserQuotaList.get',
    handle: userQuotaList,
    rules: 2,
    registered: (s) => s.feature('SUPER_USERS') && s.feature('QUOTA_MANAGEMENT') && s.feature('EDIT_QUOTA'),
  },
  // ROUTE_0269 /api/v1/superuser/organizations/
  { quayHandler: 'SuperUserOrganizationList.get', handle: organizationList, registered: superUsers },
  // ROUTE_0272 /api/v1/superuser/registrysize/
  { quayHandler: 'SuperUserRegistrySize.get', handle: registrySize, registered: superUsers },
  // ROUTE_0277 /api/v1/superuser/users/
  { quayHandler: 'SuperUserList.get', handle: userList, registered: superUsers },
  // ROUTE_0284 /api/v1/superuser/users/{username}
  { quayHandler: 'SuperUserManagement.get', handle: userManagement, registered: superUsers },
  // ROUTE_0286 /api/v1/superuser/{build_uuid}/build
  { quayHandler: 'SuperUserRepositoryBuildResource.get', handle: suBuild, registered: superUsers },
  // ROUTE_0287 /api/v1/superuser/{build_uuid}/logs
  { quayHandler: 'SuperUserRepositoryBuildLogs.get', handle: suBuildLogs, registered: superUsers },
  // ROUTE_0288 /api/v1/superuser/{build_uuid}/logs/archive
  { quayHandler: 'SuperUserRepositoryBuildLogsArchive.get', handle: suBuildLogsArchive, registered: superUsers },
  // ROUTE_0289 /api/v1/superuser/{build_uuid}/status
  { quayHandler: 'SuperUserRepositoryBuildStatus.get', handle: suBuildStatus, registered: superUsers },
  // ROUTE_0258 /api/v1/superuser/keys
  { quayHandler: 'SuperUserServiceKeyManagement.get', handle: serviceKeys, registered: superUsers },
  // ROUTE_0261 /api/v1/superuser/keys/{kid}
  { quayHandler: 'SuperUserServiceKey.get', handle: serviceKey, registered: superUsers },
];
