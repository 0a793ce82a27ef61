/**
 * The three log-export requests of API_LOGS_EXPORT (endpoints/api/logs.py
 * ExportRepositoryLogs, ExportUserLogs, ExportOrgLogs `post`, registered
 * with FEATURE_LOG_EXPORT): each checks its permission and its JSON body,
 * queues an `exportactionlogs` item (dal/portable/logs-export.ts) that Quay's
 * exportactionlogsworker consumes, and writes the `export_logs_success` /
 * `export_logs_failure` audit rows Quay writes.
 *
 * Per request, in Quay's order: the permission (the repository's admin; the
 * user itself; the organisation's admin, a global read-only superuser or a
 * full-access superuser), the body (an object whose `callback_url` and
 * `callback_email` are strings), the repository (404), the callback URL
 * (lib/ssrf.ts, worded as Quay's endpoint words it) and e-mail (an `@`), the dates (`%m/%d/%Y` UTC; a
 * missing or unreadable one is yesterday / today; the end takes its whole
 * day), then the item.
 *
 * A body that fails validation is answered with Quay's status and error
 * type and the first line of Quay's detail (`1 is not of type 'string'`);
 * the rest of Quay's detail reprints its schema, descriptions included, and
 * ours names the failing keyword and path without them.
 */
import type { PyJson } from '../../lib/python-json.js';
import { queueLogsExport } from '../../dal/portable/logs-export.js';
import { quayQueueName } from '../../dal/portable/quay-queues.js';
import { logAction } from '../call/audit.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { invalidRequest, notFound } from '../wire/errors.js';
import { ssrfRefusal, type Resolver } from '../../lib/ssrf.js';
import { allowIfGlobalReadonlySuperuser, allowIfSuperuserWithFullAccess, requireRepo, requireUser } from './guards.js';

const DAY_MS = 86_400_000;

/** Python's repr of a JSON value (the instance in jsonschema's message). */
export function pyRepr(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === 'string') {
    const quote = v.includes("'") && !v.includes('"') ? '"' : "'";
    const body = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
    return `${quote}${quote === "'" ? body.replace(/'/g, "\\'") : body}${quote}`;
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
    .join(', ')}}`;
}

function typeError(instance: unknown, type: string, schemaPath: string, instancePath: string): never {
  throw invalidRequest(`${pyRepr(instance)} is not of type '${type}'\n\nFailed validating 'type' in ${schemaPath}\n\nOn ${instancePath}:\n    ${pyRepr(instance)}`);
}

interface ExportOptions {
  readonly callbackUrl: string | null;
  readonly callbackEmail: string | null;
}

/** @validate_json_request("ExportLogs"). */
function exportBody(c: ApiCall): ExportOptions {
  const v = c.json();
  if (v === null || typeof v !== 'object' || Array.isArray(v)) typeError(v, 'object', 'schema', 'instance');
  const o = v as Record<string, unknown>;
  for (const key of ['callback_url', 'callback_email'] as const) {
    if (key in o && typeof o[key] !== 'string') typeError(o[key], 'string', `schema['properties']['${key}']`, `instance['${key}']`);
  }
  return { callbackUrl: (o.callback_url as string | undefined) ?? null, callbackEmail: (o.callback_email as string | undefined) ?? null };
}

/** _parse_datetime: `%m/%d/%Y` in UTC, null when absent or unreadable. */
export function parseExportDate(s: string | null): number | null {
  if (!s) return null;
  // strptime: the format's space before %Z matches any run of whitespace, so trailing blanks pass.
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(s);
  if (!m) return null;
  const [mo, d, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms : null;
}

const mdY = (ms: number): string => {
  const d = new Date(ms);
  return `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${d.getUTCFullYear()}`;
};

/** Why a request was refused, as Quay words it in export_logs_failure and in the answer. */
/**
 * _validate_callback_url: null when the callback URL passes Quay's SSRF
 * check, else the endpoint's answer: "Invalid callback URL" for a blocked
 * destination (Quay hides which one), the check's own message otherwise.
 */
export async function callbackUrlProblem(url: string, allowedHosts: readonly string[], resolve?: Resolver): Promise<string | null> {
  const refusal = await ssrfRefusal(url, allowedHosts, resolve);
  if (!refusal) return null;
  return refusal.kind === 'blocked' ? 'Invalid callback URL' : refusal.message;
}

class ExportRefused extends Error {
  constructor(
    readonly logged: string,
    readonly answer: string,
  ) {
    super(answer);
  }
}

/** _queue_logs_export: the export id; ExportRefused for a bad callback, date span or target. */
async function queueExport(c: ApiCall, opts: ExportOptions, namespace: string, repository: string | null): Promise<string> {
  if (opts.callbackUrl) {
    const allow = Array.isArray(c.svc.settings.keys.SSRF_ALLOWED_HOSTS)
      ? (c.svc.settings.keys.SSRF_ALLOWED_HOSTS as unknown[]).filter((x): x is string => typeof x === 'string')
      : [];
    const problem = await callbackUrlProblem(opts.callbackUrl, allow);
    if (problem) throw new ExportRefused('invalid request', problem);
  }
  if (opts.callbackEmail && !opts.callbackEmail.includes('@')) throw new ExportRefused('invalid request', 'Invalid callback e-mail');
  const now = c.svc.now();
  const a = c.args([
    { name: 'endtime', help: 'Latest time for logs. Format: "%m/%d/%Y" in UTC.', type: 'str' },
    { name: 'starttime', help: 'Earliest time for logs. Format: "%m/%d/%Y" in UTC.', type: 'str' },
  ]);
  const start = parseExportDate(a.starttime as string | null) ?? now - DAY_MS;
  const end = (parseExportDate(a.endtime as string | null) ?? now) + DAY_MS;
  if (end < start) throw new ExportRefused('Invalid time span selected', 'Invalid time span selected');
  const queueName = quayQueueName(c.svc.settings.keys, 'exportactionlogs');
  const id = await queueLogsExport(
    c.svc.sql,
    { namespace, repository, startTime: mdY(start), endTime: mdY(end), callbackUrl: opts.callbackUrl, callbackEmail: opts.callbackEmail },
    { queueName, now: c.svc.now },
  );
  if (id === null) throw new ExportRefused('invalid request', 'Invalid export request');
  return id;
}

/** _log_export_success / _log_export_failure. */
function exportLog(c: ApiCall, opts: ExportOptions, namespace: string, outcome: { exportId: string } | { error: string }, repository: string | null): Promise<void> {
  const stamp = Math.floor(c.svc.now() / 1000);
  const meta: Record<string, PyJson> =
    'exportId' in outcome
      ? { 'date/time': stamp, export_id: outcome.exportId, message: 'queued for export', url: opts.callbackUrl || null, email: opts.callbackEmail || null }
      : { 'date/time': stamp, error: outcome.error, url: opts.callbackUrl || null, email: opts.callbackEmail || null };
  if (repository) meta.repo = repository;
  return logAction(c, 'exportId' in outcome ? 'export_logs_success' : 'export_logs_failure', namespace, meta);
}

/** The shared tail of the three posts: queue, log, answer. */
async function exportFor(c: ApiCall, opts: ExportOptions, namespace: string, repository: string | null): Promise<unknown> {
  let exportId: string;
  try {
    exportId = await queueExport(c, opts, namespace, repository);
  } catch (e) {
    if (!(e instanceof ExportRefused)) throw e;
    await exportLog(c, opts, namespace, { error: e.logged }, repository);
    throw invalidRequest(e.answer);
  }
  await exportLog(c, opts, namespace, { exportId }, repository);
  return { export_id: exportId };
}

async function exportRepositoryLogs(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'admin', { allowForSuperuser: true });
  const opts = exportBody(c);
  const repo = await c.svc.sql.one('SELECT r.id FROM repository r JOIN "user" n ON n.id = r.namespace_user_id WHERE n.username = @ns AND r.name = @name AND r.state <> 3', {
    ns: r.namespace,
    name: r.repository,
  });
  if (!repo) {
    await exportLog(c, opts, r.namespace, { error: 'non-existent repository' }, r.repository);
    throw notFound();
  }
  return exportFor(c, opts, r.namespace, r.repository);
}

async function exportUserLogs(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  return exportFor(c, exportBody(c), user.username, null);
}

async function exportOrgLogs(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname!;
  const opts = exportBody(c);
  if ((await c.caller.canAdminOrg(orgname)) || allowIfGlobalReadonlySuperuser(c) || allowIfSuperuserWithFullAccess(c)) return exportFor(c, opts, orgname, null);
  await exportLog(c, opts, orgname, { error: 'unauthorized' }, null);
  throw c.unauthorized();
}

const registered = (s: { feature(name: string): boolean }): boolean => s.feature('LOG_EXPORT');

export const LOG_EXPORT_ROUTES: readonly ApiRouteRecord[] = [
  { quayHandler: 'ExportRepositoryLogs.post', handle: exportRepositoryLogs, registered },
  { quayHandler: 'ExportUserLogs.post', handle: exportUserLogs, registered },
  { quayHandler: 'ExportOrgLogs.post', handle: exportOrgLogs, registered },
];
