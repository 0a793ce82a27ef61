/**
 * Quay's permission decorators for /api/v1, said once
 * (endpoints/api/__init__.py): require_repo_read/write/admin,
 * require_user_read/admin and the allow_if_* helpers. Each throws Quay's
 * Unauthorized (401 anonymous, 403 signed in) when the caller may not pass.
 */
import { untagDate } from '../auth/flask-session.js';
import type { ApiCall, RepoPath } from '../call/context.js';
import { freshLoginRequired, notFound } from '../wire/errors.js';

export interface RepoGuardOptions {
  /** allow_for_superuser: a superuser with FEATURE_SUPERUSERS_FULL_ACCESS passes. */
  readonly allowForSuperuser?: boolean;
  /** allow_for_global_readonly_superuser: a global read-only superuser passes (reads). */
  readonly allowForGlobalReadonlySuperuser?: boolean;
}

/** repository_is_public. */
export async function repositoryIsPublic(c: ApiCall, r: RepoPath): Promise<boolean> {
  const row = await c.svc.sql.one<{ name: string }>(
    `SELECT v.name FROM repository r JOIN "user" n ON n.id = r.namespace_user_id JOIN visibility v ON v.id = r.visibility_id
     WHERE n.username = @ns AND r.name = @repo`,
    { ns: r.namespace, repo: r.repository },
  );
  return row?.name === 'public';
}

/** allow_if_global_readonly_superuser. */
export function allowIfGlobalReadonlySuperuser(c: ApiCall): boolean {
  return c.caller.isGlobalReadonlySuperUser();
}

/** allow_if_superuser (SuperUserPermission). */
export function allowIfSuperuser(c: ApiCall): boolean {
  return c.caller.isSuperUser();
}

/** allow_if_superuser_with_full_access. */
export function allowIfSuperuserWithFullAccess(c: ApiCall): boolean {
  return c.caller.hasFullAccess();
}

/** allow_if_any_superuser. */
export function allowIfAnySuperuser(c: ApiCall): boolean {
  return allowIfSuperuser(c) || allowIfGlobalReadonlySuperuser(c);
}

/** require_repo_read/write/admin on the call's repository; returns it. */
export async function requireRepo(c: ApiCall, need: 'read' | 'write' | 'admin', o: RepoGuardOptions = {}): Promise<RepoPath> {
  const r = c.repo();
  const { caller } = c;
  const can =
    need === 'read'
      ? await caller.canReadRepo(r.namespace, r.repository)
      : need === 'write'
        ? await caller.canWriteRepo(r.namespace, r.repository)
        : await caller.canAdminRepo(r.namespace, r.repository);
  if (can) return r;
  if (need === 'read' && ((await repositoryIsPublic(c, r)) || caller.isGlobalReadonlySuperUser())) return r;
  if (o.allowForSuperuser && caller.user) {
    if (o.allowForGlobalReadonlySuperuser && c.svc.settings.feature('SUPERUSERS_FULL_ACCESS') && allowIfAnySuperuser(c)) return r;
    if (!o.allowForGlobalReadonlySuperuser && allowIfSuperuserWithFullAccess(c)) return r;
  }
  if (o.allowForGlobalReadonlySuperuser && allowIfGlobalReadonlySuperuser(c)) return r;
  throw c.unauthorized();
}

/** require_user_read/admin: the signed-in user holds read/admin over itself (or a full-access superuser, when allowed). */
export function requireUser(c: ApiCall, need: 'read' | 'admin', o: { readonly allowForSuperuser?: boolean } = {}): NonNullable<ApiCall['caller']['user']> {
  const user = c.caller.user;
  if (!user) throw c.unauthorized();
  const can = need === 'read' ? c.caller.canReadUser(user.username) : c.caller.canAdminUser(user.username);
  if (can) return user;
  if (o.allowForSuperuser && allowIfSuperuserWithFullAccess(c)) return user;
  throw c.unauthorized();
}

/** verify_not_prod: 404 on Quay's hosted stack (SERVER_HOSTNAME containing quay.io). */
export function verifyNotProd(c: ApiCall): void {
  if (c.svc.settings.serverHostname.includes('quay.io')) throw notFound();
}

/**
 * require_fresh_login: a signed-in user (not a robot); an OAuth token passes;
 * a session passes when its `login_time` is within FRESH_LOGIN_TIMEOUT, or
 * the user has no password (Database auth supports fresh login); else 401
 * fresh_login_required.
 */
export function requireFreshLogin(c: ApiCall): void {
  const user = c.caller.user;
  if (!user || user.robot) throw c.unauthorized();
  if (c.caller.via === 'oauth') return;
  const last = untagDate(c.caller.session?.login_time) ?? Number.NEGATIVE_INFINITY;
  // Database auth: has_password_set is `password_hash is not None`.
  if (last >= c.svc.now() - c.svc.settings.freshLoginTimeoutMs || user.passwordHash === null) return;
  throw freshLoginRequired();
}
