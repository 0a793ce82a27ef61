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
  return { namespace: namespaceFromParams(params, libraryNamespace), repo: repoFromParams(params, libraryNamespace) };
}

/** Subject.namespace alone: the canary's hot path needs no subject object. */
export function namespaceFromParams(params: Readonly<Record<string, string>>, libraryNamespace: string): string | null {
  const repository = params.repository;
  if (repository !== undefined && repository !== '') {
    const slash = repository.indexOf('/');
    return slash < 0 ? libraryNamespace : repository.slice(0, slash);
  }
  const ns = params.orgname ?? params.namespace;
  return ns !== undefined && ns !== '' ? ns : null;
}

/** Subject.repo alone. */
export function repoFromParams(params: Readonly<Record<string, string>>, libraryNamespace: string): string | null {
  const repository = params.repository;
  if (repository === undefined || repository === '') return null;
  return repository.includes('/') ? repository : `${libraryNamespace}/${repository}`;
}

function b64decode(s: string, url: boolean): string | null {
  try {
    return Buffer.from(s, url ? 'base64url' : 'base64').toString('utf8');
  } catch {
    return null;
  }
}

const BASE64_RUN = /^[A-Za-z0-9+/]*/;

/**
 * The user of Basic credentials, read exactly as nginx reads `$remote_user`
 * (so the rendered nginx front door sees the same user): "Basic " in any case,
 * spaces, then base64 whose characters up to the first "=" must all be valid
 * (what follows "=" is ignored) and whose length is not 1 mod 4; the user is
 * what precedes the first ":", and there must be one (Quay requires it too).
 */
function basicUser(header: string): string | null {
  const cred = header.slice(6).replace(/^ +/, '');
  const eq = cred.indexOf('=');
  const b64 = eq < 0 ? cred : cred.slice(0, eq);
  if (b64 === '' || BASE64_RUN.exec(b64)![0].length !== b64.length || b64.length % 4 === 1) return null;
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : null;
}

/**
 * The user named by an Authorization header: the Basic auth user, or the `sub`
 * claim of a bearer JWT (Quay's registry tokens carry the username there).
 */
export function userFromAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  if (header.length >= 6 && header.slice(0, 6).toLowerCase() === 'basic ') return basicUser(header);
  const sp = header.indexOf(' ');
  if (sp < 0) return null;
  const scheme = header.slice(0, sp).toLowerCase();
  const cred = header.slice(sp + 1).trim();
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
