/**
 * /api/v1 GET rows of API_QUOTA_READ (endpoints/api/namespacequota.py): an
 * organisation's or the signed-in user's quota and its limits. Quay
 * registers all eight only with SUPER_USERS and QUOTA_MANAGEMENT and
 * EDIT_QUOTA; the lists are bare JSON arrays.
 */
import { QuotaReads, type IdParam, type QuotaLimitRow, type QuotaRow } from '../../dal/portable/quota.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import type { ApiSettings } from '../wire/settings.js';
import { GUNICORN_500_HTML, ModelError, notFound, RawAnswer } from '../wire/errors.js';
import { gatedMethods } from './feature-off.js';
import { requireUser } from './guards.js';

/** The show_if pair on every quota resource (namespacequota.py:69-70 and the others). */
export const quotaRegistered = (s: ApiSettings): boolean => s.feature('SUPER_USERS') && s.feature('QUOTA_MANAGEMENT') && s.feature('EDIT_QUOTA');

/** Python's `'{:.1f}'.format(x)`: JS toFixed rounds an exact tie up, Python to the even digit. */
export function pyFixed1(x: number): string {
  if (Number.isFinite(x) && Number.isInteger(x * 4) && !Number.isInteger(x * 2)) {
    // x is k + .25 or k + .75: exactly halfway between two tenths.
    const lo = Math.floor(x * 10);
    const n = lo % 2 === 0 ? lo : lo + 1;
    const sign = n < 0 ? '-' : '';
    const a = Math.abs(n);
    return `${sign}${Math.floor(a / 10)}.${a % 10}`;
  }
  return x.toFixed(1);
}

/** bitmath.Byte(n).best_prefix().format("{value:.1f} {unit}") as the fixture's bitmath does it (binary units up to EiB). */
export function bestPrefix(bytes: number): string {
  const units: [string, number][] = [
    ['Byte', 1],
    ['KiB', 2 ** 10],
    ['MiB', 2 ** 20],
    ['GiB', 2 ** 30],
    ['TiB', 2 ** 40],
    ['PiB', 2 ** 50],
    ['EiB', 2 ** 60],
  ];
  let [unit, factor] = units[0]!;
  for (const [u, f] of units) if (Math.abs(bytes) >= f) [unit, factor] = [u, f];
  return `${pyFixed1(bytes / factor)} ${unit}`;
}

/** DEFAULT_SYSTEM_REJECT_QUOTA_BYTES (config.py default 0); Quay tests `!= 0`. */
function systemDefault(s: ApiSettings): { exists: boolean; bytes: number | null } {
  const v = Object.hasOwn(s.keys, 'DEFAULT_SYSTEM_REJECT_QUOTA_BYTES') ? s.keys.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES : 0;
  const exists = !(v === 0 || v === false);
  return { exists, bytes: typeof v === 'number' ? v : null };
}

/** limit_view (namespacequota.py:55). */
const limitView = (l: QuotaLimitRow): unknown => ({ id: l.id, type: l.type, limit_percent: l.percent });

/** quota_view (namespacequota.py:32); `null` is the system default quota (no id, no limits). */
export async function quotaView(c: ApiCall, q: QuotaRow | null, defaultConfig = false): Promise<unknown> {
  const sd = systemDefault(c.svc.settings);
  const limits = q ? await new QuotaReads(c.svc.sql).limits(q.id) : [];
  const limitBytes = q ? q.limitBytes : sd.bytes;
  return {
    id: q ? q.id : null,
    limit_bytes: limitBytes,
    limit: bestPrefix(limitBytes ?? 0),
    default_config: q ? defaultConfig : true,
    limits: limits.map(limitView),
    default_config_exists: sd.exists,
  };
}

/**
 * data/model/namespacequota.py get_quota_for_view: what the namespace holds
 * and its configured quota (its first quota, else the system default when
 * DEFAULT_SYSTEM_REJECT_QUOTA_BYTES is not 0), and the backfill's state.
 * `known`: the namespace's quotas when the caller has just read them.
 */
export async function quotaReport(c: ApiCall, namespace: { readonly id: number; readonly username: string }, known?: readonly QuotaRow[]): Promise<unknown> {
  const reads = new QuotaReads(c.svc.sql);
  const quotas = known ?? (await reads.quotas(namespace.username));
  const sd = systemDefault(c.svc.settings);
  const configured = quotas.length > 0 ? quotas[0]!.limitBytes : sd.exists ? (c.svc.settings.keys.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES ?? null) : null;
  const size = await reads.namespaceSize(namespace.id);
  const started = size !== null && size.backfillStartMs !== null;
  const consumed = size !== null && size.sizeBytes !== null ? size.sizeBytes : 0;
  let status = '';
  if (size === null || (!started && !size.backfillComplete)) status = 'waiting';
  else if (started && !size.backfillComplete) status = 'running';
  else if (started && size.backfillComplete) status = 'complete';
  return { quota_bytes: consumed, configured_quota: configured, running_backfill: status, backfill_status: status };
}

/** Python's int() on text: any Unicode decimal digits (`１` is 1), `_` between digits, a sign, surrounding whitespace; null when it raises. */
export function pythonInt(text: string): number | null {
  const m = /^[\s\u001c-\u001f\u0085]*([+-]?)(\p{Nd}+(?:_\p{Nd}+)*)[\s\u001c-\u001f\u0085]*$/u.exec(text);
  if (!m) return null;
  const digits = m[2]!.replace(/_/g, '').replace(/\p{Nd}/gu, (d) => {
    // Unicode decimal digits come in runs of ten starting at zero.
    let cp = d.codePointAt(0)!;
    const at = cp;
    while (/\p{Nd}/u.test(String.fromCodePoint(cp - 1))) cp--;
    return String((at - cp) % 10);
  });
  return Number(`${m[1]}${digits}`);
}

/**
 * A path id as peewee binds it against an integer column: Python's int() of
 * the text, else the text (SQLite then applies the column's affinity:
 * `1.0` finds 1). An int past 64 bits makes Python's sqlite3 raise
 * OverflowError: gunicorn's 500 page.
 */
function idParam(c: ApiCall, raw: string | undefined): IdParam {
  const text = raw ?? '';
  const n = pythonInt(text);
  if (n === null) return text;
  if (Math.abs(n) > 2 ** 63 - 1 && c.svc.sql.dialect === 'sqlite') throw new RawAnswer(500, 'text/html', GUNICORN_500_HTML);
  return n;
}

/** get_quota (namespacequota.py:63): the namespace's quota with that id, else NotFound. */
async function getQuota(c: ApiCall, namespace: string, rawId: string | undefined): Promise<QuotaRow> {
  const q = await new QuotaReads(c.svc.sql).quota(namespace, idParam(c, rawId));
  if (!q) throw notFound();
  return q;
}

/**
 * get_namespace_quota_limit: the limit by id whatever its quota; one of
 * another quota raises InvalidNamespaceQuota() (a DataModelException with
 * no message): 400 `{"message":""}`, compact as the app's handler writes it
 * (endpoints/decorated.py).
 */
async function getQuotaLimit(c: ApiCall, quota: QuotaRow, rawId: string | undefined): Promise<QuotaLimitRow> {
  const l = await new QuotaReads(c.svc.sql).limit(idParam(c, rawId));
  if (!l) throw notFound();
  if (l.quotaId !== quota.id) throw new ModelError('');
  return l;
}

/**
 * OrganizationMemberPermission, or a global read-only superuser, or a
 * superuser with full access (namespacequota.py:108-115 and the others).
 */
async function requireOrgReader(c: ApiCall, org: string): Promise<void> {
  const { caller } = c;
  c.caller.loadGrants();
  if ((await caller.isOrgMember(org)) || caller.isGlobalReadonlySuperUser() || caller.hasFullAccess()) return;
  throw c.unauthorized();
}

async function listOrgQuota(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  await requireOrgReader(c, orgname);
  const org = await c.svc.accounts.byName(orgname);
  if (!org || !org.organization) throw notFound();
  const quotas = await new QuotaReads(c.svc.sql).quotas(orgname);
  // No quota of its own: the system default, when one is configured (namespacequota.py:121-124).
  if (quotas.length === 0 && systemDefault(c.svc.settings).exists) return [await quotaView(c, null, true)];
  return Promise.all(quotas.map((q) => quotaView(c, q)));
}

async function getOrgQuota(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  await requireOrgReader(c, orgname);
  // Quay looks the quota up by namespace name only: a user's own namespace answers too.
  return quotaView(c, await getQuota(c, orgname, c.params.quota_id));
}

async function listOrgQuotaLimits(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  await requireOrgReader(c, orgname);
  const quota = await getQuota(c, orgname, c.params.quota_id);
  return (await new QuotaReads(c.svc.sql).limits(quota.id)).map(limitView);
}

async function getOrgQuotaLimit(c: ApiCall): Promise<unknown> {
  const orgname = c.params.orgname ?? '';
  await requireOrgReader(c, orgname);
  const quota = await getQuota(c, orgname, c.params.quota_id);
  return limitView(await getQuotaLimit(c, quota, c.params.limit_id));
}

async function listUserQuota(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const quotas = await new QuotaReads(c.svc.sql).quotas(user.username);
  return Promise.all(quotas.map((q) => quotaView(c, q)));
}

async function getUserQuota(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  return quotaView(c, await getQuota(c, user.username, c.params.quota_id));
}

async function listUserQuotaLimits(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const quota = await getQuota(c, user.username, c.params.quota_id);
  return (await new QuotaReads(c.svc.sql).limits(quota.id)).map(limitView);
}

async function getUserQuotaLimit(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const quota = await getQuota(c, user.username, c.params.quota_id);
  await getQuotaLimit(c, quota, c.params.limit_id);
  // Quay's quirk (namespacequota.py:581): the answer is the quota's view, not the limit's.
  return quotaView(c, quota);
}

export const QUOTA_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0136 /api/v1/organization/{orgname}/quota
  { quayHandler: 'OrganizationQuotaList.get', handle: listOrgQuota, registered: quotaRegistered },
  // ROUTE_0139 /api/v1/organization/{orgname}/quota/{quota_id}
  { quayHandler: 'OrganizationQuota.get', handle: getOrgQuota, registered: quotaRegistered },
  // ROUTE_0141 /api/v1/organization/{orgname}/quota/{quota_id}/limit
  { quayHandler: 'OrganizationQuotaLimitList.get', handle: listOrgQuotaLimits, registered: quotaRegistered },
  // ROUTE_0144 /api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}
  { quayHandler: 'OrganizationQuotaLimit.get', handle: getOrgQuotaLimit, registered: quotaRegistered },
  // ROUTE_0337 /api/v1/user/quota
  { quayHandler: 'UserQuotaList.get', handle: listUserQuota, registered: quotaRegistered },
  // ROUTE_0338 /api/v1/user/quota/{quota_id}
  { quayHandler: 'UserQuota.get', handle: getUserQuota, registered: quotaRegistered },
  // ROUTE_0339 /api/v1/user/quota/{quota_id}/limit
  { quayHandler: 'UserQuotaLimitList.get', handle: listUserQuotaLimits, registered: quotaRegistered },
  // ROUTE_0340 /api/v1/user/quota/{quota_id}/limit/{limit_id}
  { quayHandler: 'UserQuotaLimit.get', handle: getUserQuotaLimit, registered: quotaRegistered },
  // The mutations leave the route table with the GETs when the flags are off.
  ...gatedMethods(quotaRegistered, 'OrganizationQuotaList.post', 'OrganizationQuota.delete', 'OrganizationQuota.put'),
  ...gatedMethods(quotaRegistered, 'OrganizationQuotaLimitList.post', 'OrganizationQuotaLimit.delete', 'OrganizationQuotaLimit.put'),
];
