/**
 * /api/v1 GET rows: API_LOGS_READ (endpoints/api/logs.py) on Quay's table
 * logs model (LOGS_MODEL=database, data/logs_model/table_logs_model.py).
 *
 * Time. Quay reads "today" with naive local `datetime.today()` and writes
 * logentry3.datetime with naive local `datetime.now()`; the answer's dates
 * then treat those naive values as UTC (format_date). Here the same: the
 * process's local wall clock, written as if it were UTC (both are UTC in
 * Quay's container).
 *
 * Pages. A page is 20 rows of one table, newest first; the `next_page`
 * token is paginate()'s `{start_index, page_number, is_datetime, offset_val}`
 * or, when a table is exhausted, `{tti: <next table>}` (lookup_logs). Quirks
 * kept: a token made inside logentry2 carries no `tti`, so the next call
 * reads logentry3 again (table_logs_model.py:91-110); `offset_val` only
 * grows (modelutil.py:95-101).
 */
import { GUNICORN_500_HTML, notFound, RawAnswer, Abort } from '../wire/errors.js';
import { formatDate } from '../../domain/quay-dates.js';
import type { PyJson } from '../../lib/python-json.js';
import { actionLogView, parseLogDate } from '../../domain/action-logs.js';
import { ActionLogs, LOG_TABLES, logTimeParam, type LogFilter, type LogRow } from '../../dal/portable/logs.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import type { ParamSpec } from '../call/params.js';
import { allowIfGlobalReadonlySuperuser, allowIfSuperuserWithFullAccess, requireRepo, requireUser } from './guards.js';

/** LOGS_PER_PAGE / the limit lookup_logs passes to paginate. */
const PAGE_SIZE = 20;
/** SERVICE_LEVEL_LOG_KINDS (logs.py:43): left out of a user's own logs. */
const SERVICE_LEVEL_LOG_KINDS = ['service_key_create', 'service_key_approve', 'service_key_delete', 'service_key_modify', 'service_key_extend', 'service_key_rotate'];
/** MAXIMUM_RANGE_SIZE of the aggregated counts (table_logs_model.py:25): about a month. */
const MAX_AGGREGATE_RANGE_MS = 60 * 60 * 24 * 31 * 1000;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------
// Dates: naive datetimes as milliseconds read as UTC.

/** Python's naive `datetime.today()`: the local wall clock, as if UTC. */
export function naiveNow(c: ApiCall): number {
  const now = c.svc.now();
  return now - new Date(now).getTimezoneOffset() * 60_000;
}

/** A naive datetime as Python's sqlite3 adapter writes it (the export worker writes its windows the same way). */
export const sqlParam = logTimeParam;

/** The largest naive datetime Python can hold (datetime.max, to the millisecond). */
const PY_DATETIME_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Quay's answer when an exception escapes the view (here: OverflowError past datetime.max, an assert). */
const gunicorn500 = (): RawAnswer => new RawAnswer(500, 'text/html', GUNICORN_500_HTML);

/** _validate_logs_arguments, then `abort(400)` when the range is reversed. */
function logRange(c: ApiCall, start: string | null, end: string | null): { start: number; end: number } {
  const today = naiveNow(c);
  const s = parseLogDate(start) ?? today - DAY_MS;
  const e = (parseLogDate(end) ?? today) + DAY_MS;
  if (e > PY_DATETIME_MAX) throw gunicorn500();
  if (e < s) throw new Abort(400);
  return { start: s, end: e };
}

// ---------------------------------------------------------------------------
// The pager.

type Token = Record<string, unknown>;

/** A stored timestamp (`YYYY-MM-DD HH:MM:SS.ffffff`) as the token's start_index: `isoformat() + "Z"`. */
function tokenTime(t: string): string {
  const [date, time] = t.split(' ') as [string, string];
  const [hms, frac] = time.split('.') as [string, string | undefined];
  return `${date}T${hms}${frac && Number(frac) !== 0 ? `.${frac}` : ''}Z`;
}

/** pagination_start: the token's start_index, a datetime parsed back (dateutil, ignoretz) as the sqlite3 adapter writes it. */
function paginationStart(token: Token | null): unknown {
  if (token === null) return null;
  const s = token.start_index ?? null;
  if (!token.is_datetime || typeof s !== 'string') return s;
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?/.exec(s);
  if (!m) return s;
  const frac = (m[3] ?? '').padEnd(6, '0');
  return `${m[1]} ${m[2]}${Number(frac) !== 0 ? `.${frac}` : ''}`;
}

const truthy = (v: unknown): boolean => v !== null && v !== undefined && v !== false && v !== 0 && v !== '';

interface PageResult {
  readonly rows: LogRow[];
  readonly next: Token | null;
}

/** modelutil.paginate over one table, descending by datetime, 20 a page. */
async function paginate(dal: ActionLogs, table: (typeof LOG_TABLES)[number], f: LogFilter, token: Token | null): Promise<PageResult> {
  const startIndex = paginationStart(token);
  const offsetVal = token ? ((token.offset_val as number | undefined) ?? 0) : 0;
  const pageNumber = token && truthy(token.page_number) ? (token.page_number as number) : null;
  const rows = await dal.page(table, f, { startIndex, offset: token && offsetVal > 0 ? offsetVal : 0, limit: PAGE_SIZE + 1 });
  if (rows.length <= PAGE_SIZE) return { rows, next: null };
  const boundary = rows[PAGE_SIZE]!;
  const offset = boundary.datetime === rows[PAGE_SIZE - 1]!.datetime ? PAGE_SIZE + offsetVal : offsetVal;
  return {
    rows: rows.slice(0, PAGE_SIZE),
    next: { start_index: tokenTime(boundary.datetime), page_number: pageNumber ? pageNumber + 1 : 1, is_datetime: true, offset_val: offset },
  };
}

/** TableLogsModel.lookup_logs: skips empty tables, hands the next table's index on as `tti`. */
async function lookupLogs(dal: ActionLogs, f: LogFilter, pageToken: Token | null): Promise<PageResult> {
  let tableIndex = 0;
  const logs: LogRow[] = [];
  let next: Token | null = pageToken && Object.keys(pageToken).length > 0 ? pageToken : null;
  while (logs.length === 0 && tableIndex < LOG_TABLES.length - 1) {
    if (next !== null && next.tti !== undefined && next.tti !== null) tableIndex = next.tti as number;
    const table = LOG_TABLES[tableIndex];
    if (table === undefined) throw gunicorn500();
    const page = await paginate(dal, table, f, next);
    logs.push(...page.rows);
    next = page.next;
    if (next === null && tableIndex < LOG_TABLES.length - 1) next = { tti: tableIndex + 1 };
  }
  return { rows: logs, next };
}

interface LogQuery {
  readonly namespace: string;
  readonly repository?: string;
  readonly performer?: string | null;
  readonly ignore?: readonly string[];
}

/** The filter of _logs_query: the repository when named, else the namespace's account. */
async function logFilter(dal: ActionLogs, q: LogQuery, range: { start: number; end: number }, kinds: Map<number, string>, performerId: number | null): Promise<LogFilter> {
  let repositoryId: number | null = null;
  let accountId: number | null = null;
  if (q.repository !== undefined) repositoryId = await dal.repositoryId(q.namespace, q.repository);
  if (repositoryId === null) {
    accountId = await dal.userOrOrgId(q.namespace);
    // DataModelException("Invalid namespace requested: …") (log.py:58): unreachable with the callers' permission checks.
    if (accountId === null) throw new Abort(400, `Invalid namespace requested: ${q.namespace}`);
  }
  const byName = new Map([...kinds].map(([id, name]) => [name, id]));
  return {
    start: sqlParam(range.start),
    end: sqlParam(range.end),
    repositoryId,
    performerId,
    accountId,
    ignoreKindIds: (q.ignore ?? []).map((k) => byName.get(k)!).filter((id) => id !== undefined),
  };
}

/** _get_logs with @page_support: the page and its `next_page`. */
async function getLogs(c: ApiCall, args: Record<string, unknown>, q: LogQuery): Promise<unknown> {
  const pageToken = c.svc.pages.decrypt(args.next_page as string | null, c.svc.now());
  const range = logRange(c, args.starttime as string | null, args.endtime as string | null);
  const dal = new ActionLogs(c.svc.sql);
  let performerId: number | null = null;
  if (q.performer) {
    performerId = await dal.userId(q.performer);
    if (performerId === null) throw gunicorn500(); // `assert performer` (table_logs_model.py:66)
  }
  const kinds = await dal.kinds();
  const f = await logFilter(dal, q, range, kinds, performerId);
  const page = await lookupLogs(dal, f, pageToken);
  const out: Record<string, PyJson> = {
    start_time: formatDate(range.start),
    end_time: formatDate(range.end),
    logs: page.rows.map((l) => actionLogView(l, kinds)),
  };
  if (page.next !== null) out.next_page = c.svc.pages.encrypt(page.next as Record<string, PyJson>, c.svc.now());
  return out;
}

/** Python's datetime(y, m, d) + relativedelta(months=1): the day clamped to the next month's length. */
function plusOneMonth(y: number, m: number, d: number): [number, number, number] {
  const [ny, nm] = m === 12 ? [y + 1, 1] : [y, m + 1];
  const last = new Date(Date.UTC(ny, nm, 0)).getUTCDate();
  return [ny, nm, Math.min(d, last)];
}

/** _get_aggregate_logs over get_aggregated_log_counts: counts per kind and day, merged over the three tables. */
async function getAggregateLogs(c: ApiCall, args: Record<string, unknown>, q: LogQuery): Promise<unknown> {
  const range = logRange(c, args.starttime as string | null, args.endtime as string | null);
  if (range.end - range.start > MAX_AGGREGATE_RANGE_MS) throw new Abort(400, 'Invalid date range for logs');
  const dal = new ActionLogs(c.svc.sql);
  // Unknown performers are ignored here (no assert, table_logs_model.py:158-160).
  const performerId = q.performer ? await dal.userId(q.performer) : null;
  const kinds = await dal.kinds();
  const f = await logFilter(dal, q, range, kinds, performerId);
  const start = new Date(range.start);
  const [sy, sm, sd] = [start.getUTCFullYear(), start.getUTCMonth() + 1, start.getUTCDate()];
  const entries = new Map<string, { kindId: number; count: number; when: number }>();
  for (const table of LOG_TABLES) {
    for (const e of await dal.aggregated(table, f)) {
      // datetime(start.year, start.month, day, tzinfo=localzone): a day the start's month lacks is a ValueError.
      if (e.day > new Date(Date.UTC(sy, sm, 0)).getUTCDate() || e.day < 1) throw gunicorn500();
      let [y, m, d] = [sy, sm, e.day];
      if (d < sd) [y, m, d] = plusOneMonth(y, m, d);
      const when = new Date(y, m - 1, d).getTime(); // local midnight, written in UTC
      const key = `${e.kindId}-${e.day}`;
      const prior = entries.get(key);
      entries.set(key, { kindId: e.kindId, count: e.count + (prior?.count ?? 0), when });
    }
  }
  return { aggregated: [...entries.values()].map((e) => ({ kind: kinds.get(e.kindId) ?? 'unknown', count: e.count, datetime: formatDate(e.when) })) };
}

// ---------------------------------------------------------------------------
// The rows. @query_param specs, the last decorator first (page_support's next_page is innermost).

const START: ParamSpec = { name: 'starttime', help: 'Earliest time for logs. Format: "%m/%d/%Y" in UTC.', type: 'str' };
const END: ParamSpec = { name: 'endtime', help: 'Latest time for logs. Format: "%m/%d/%Y" in UTC.', type: 'str' };
const PERFORMER: ParamSpec = { name: 'performer', help: 'Username for which to filter logs.', type: 'str' };
const NEXT_PAGE: ParamSpec = { name: 'next_page', help: 'The page token for the next page', type: 'str' };

/** RepositoryLogs.get: repo admin (or a global read-only superuser / full-access superuser); 404 for a missing repository. */
async function repositoryLogs(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'admin', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
  const args = c.args([NEXT_PAGE, END, START]);
  if ((await new ActionLogs(c.svc.sql).repositoryId(r.namespace, r.repository)) === null) throw notFound();
  return getLogs(c, args, { namespace: r.namespace, repository: r.repository });
}

/** UserLogs.get: the caller's own namespace, without the service-key kinds. */
async function userLogs(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const args = c.args([NEXT_PAGE, PERFORMER, END, START]);
  return getLogs(c, args, { namespace: user.username, performer: args.performer as string | null, ignore: SERVICE_LEVEL_LOG_KINDS });
}

/** AdministerOrganizationPermission, a global read-only superuser, or a full-access superuser. */
async function orgLogsAllowed(c: ApiCall, org: string): Promise<void> {
  if ((await c.caller.canAdminOrg(org)) || allowIfGlobalReadonlySuperuser(c) || allowIfSuperuserWithFullAccess(c)) return;
  throw c.unauthorized();
}

/** OrgLogs.get: the arguments are parsed before the permission check (decorator order). */
async function orgLogs(c: ApiCall): Promise<unknown> {
  const org = c.params.orgname ?? '';
  const args = c.args([NEXT_PAGE, PERFORMER, END, START]);
  await orgLogsAllowed(c, org);
  return getLogs(c, args, { namespace: org, performer: args.performer as string | null });
}

async function repositoryAggregateLogs(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'admin', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
  const args = c.args([END, START]);
  if ((await new ActionLogs(c.svc.sql).repositoryId(r.namespace, r.repository)) === null) throw notFound();
  return getAggregateLogs(c, args, { namespace: r.namespace, repository: r.repository });
}

async function userAggregateLogs(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const args = c.args([PERFORMER, END, START]);
  return getAggregateLogs(c, args, { namespace: user.username, performer: args.performer as string | null, ignore: SERVICE_LEVEL_LOG_KINDS });
}

async function orgAggregateLogs(c: ApiCall): Promise<unknown> {
  const org = c.params.orgname ?? '';
  const args = c.args([PERFORMER, END, START]);
  await orgLogsAllowed(c, org);
  return getAggregateLogs(c, args, { namespace: org, performer: args.performer as string | null });
}

const aggregated = (s: { feature(name: string): boolean }): boolean => s.feature('AGGREGATED_LOG_COUNT_RETRIEVAL');

export const LOGS_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0198 /api/v1/repository/{repository:apirepopath}/logs
  { quayHandler: 'RepositoryLogs.get', handle: repositoryLogs },
  // ROUTE_0322 /api/v1/user/logs
  { quayHandler: 'UserLogs.get', handle: userLogs },
  // ROUTE_0103 /api/v1/organization/{orgname}/logs
  { quayHandler: 'OrgLogs.get', handle: orgLogs },
  // ROUTE_0175 /api/v1/repository/{repository:apirepopath}/aggregatelogs
  { quayHandler: 'RepositoryAggregateLogs.get', handle: repositoryAggregateLogs, registered: aggregated },
  // ROUTE_0297 /api/v1/user/aggregatelogs
  { quayHandler: 'UserAggregateLogs.get', handle: userAggregateLogs, registered: aggregated },
  // ROUTE_0075 /api/v1/organization/{orgname}/aggregatelogs
  { quayHandler: 'OrgAggregateLogs.get', handle: orgAggregateLogs, registered: aggregated },
];
