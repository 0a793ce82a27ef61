/**
 * Who a request is about, for canary selectors. Decoded only for routing:
 * nothing here verifies a credential.
 */
export interface Subject {
  /** Namespace (org or user) from the path: the repository's first segment, {orgname} or {namespace}. */
  readonly namespace: string | null;
  /** `namespace/name` from a {repository} path parameter. */
  readonly repo: string | null;
}

export function subjectFromParams(params: Readonly<Record<string, string>>, libraryNamespace: string): Subject {
  const repository = params.repository;
  if (repository !== undefined && repository !== '') {
    const slash = repository.indexOf('/');
    if (slash < 0) return { namespace: libraryNamespace, repo: `${libraryNamespace}/${repository}` };
    return { namespace: repository.slice(0, slash), repo: repository };
  }
  const ns = params.orgname ?? params.namespace;
  return { namespace: ns !== undefined && ns !== '' ? ns : null, repo: null };
}

function b64decode(s: string, url: boolean): string | null {
  try {
    return Buffer.from(s, url ? 'base64url' : 'base64').toString('utf8');
  } catch {
    return null;
  }
}

/**
 * The user named by an Authorization header: the Basic auth user, or the `sub`
 * claim of a bearer JWT (Quay's registry tokens carry the username there).
 */
export function userFromAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  const sp = header.indexOf(' ');
  if (sp < 0) return null;
  const scheme = header.slice(0, sp).toLowerCase();
  const cred = header.slice(sp + 1).trim();
  if (scheme === 'basic') {
    const decoded = b64decode(cred, false);
    if (decoded === null) return null;
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    return user === '' ? null : user;
  }
  if (scheme === 'bearer') {
    const parts = cred.split('.');
    if (parts.length !== 3 || !parts[1]) return null;
    const payload = b64decode(parts[1], true);
    if (payload === null) return null;
    try {
      const claims = JSON.parse(payload) as { sub?: unknown };
      return typeof claims.sub === 'string' && claims.sub !== '' && claims.sub !== '(anonymous)' ? claims.sub : null;
    } catch {
      return null;
    }
  }
  return null;
}
