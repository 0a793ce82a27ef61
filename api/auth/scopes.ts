/**
 * OAuth scopes as Quay's permission loader uses them (auth/scopes.py,
 * auth/permissions.py): a token's scope string becomes a set (empty when any
 * part is unknown), and every role the identity holds is capped to the most
 * the scopes allow. A browser session holds `direct_user_login`, which
 * allows everything.
 */
export const DIRECT_LOGIN = 'direct_user_login';

/** ALL_SCOPES: the scopes a token may carry. */
export const ALL_SCOPES = ['repo:read', 'repo:write', 'repo:admin', 'repo:create', 'user:read', 'user:admin', 'org:admin', 'super:user'] as const;

/** scopes_from_scope_string: split on one space or comma; any unknown part (an empty one included) makes the set empty. */
export function scopesFromString(s: string): Set<string> {
  const parts = s.split(/[ ,]/);
  const known = new Set<string>(ALL_SCOPES);
  return parts.every((p) => known.has(p)) ? new Set(parts) : new Set();
}

export const REPO_ROLES = [null, 'read', 'write', 'admin'] as const;
export const TEAM_ROLES = [null, 'member', 'creator', 'admin'] as const;
export const USER_ROLES = [null, 'read', 'admin'] as const;

const MAX_REPO: Readonly<Record<string, string>> = { 'repo:read': 'read', 'repo:write': 'write', 'repo:admin': 'admin', [DIRECT_LOGIN]: 'admin' };
const MAX_TEAM: Readonly<Record<string, string>> = { 'repo:create': 'creator', 'org:admin': 'admin', [DIRECT_LOGIN]: 'admin' };
const MAX_USER: Readonly<Record<string, string>> = { 'user:read': 'read', 'user:admin': 'admin', [DIRECT_LOGIN]: 'admin' };

/**
 * An empty scope set has no maximum: Python's max() of nothing raises, and
 * the request fails with a 500. The go side says so with this error.
 */
export class EmptyScopeSet extends Error {
  constructor() {
    super('the OAuth token has no valid scope');
    this.name = 'EmptyScopeSet';
  }
}

function cap<T extends string | null>(order: readonly (string | null)[], max: Readonly<Record<string, string>>, scopes: ReadonlySet<string>, role: T): T {
  if (scopes.size === 0) throw new EmptyScopeSet();
  let best = 0;
  for (const s of scopes) best = Math.max(best, order.indexOf(max[s] ?? null));
  return (best < order.indexOf(role) ? order[best] : role) as T;
}

export const capRepoRole = <T extends string | null>(scopes: ReadonlySet<string>, role: T): T => cap(REPO_ROLES, MAX_REPO, scopes, role);
export const capTeamRole = <T extends string | null>(scopes: ReadonlySet<string>, role: T): T => cap(TEAM_ROLES, MAX_TEAM, scopes, role);
export const capUserRole = <T extends string | null>(scopes: ReadonlySet<string>, role: T): T => cap(USER_ROLES, MAX_USER, scopes, role);
