/**
 * Quay's process_oauth for /api/v1 (auth/decorators.py): a `Bearer` token
 * first, else the Flask session cookie. No Basic credentials: Quay's API
 * takes none, so a robot or an app-specific token is anonymous here, as
 * there. A token that fails (unknown, wrong secret, expired, disabled
 * granter) stops the search: the request goes on anonymous, even with a valid
 * cookie. A JWT-shaped bearer is an SSO token; with no OIDC login service
 * configured it is refused at once with 401 (util.http.abort).
 *
 * OAuth secrets are bcrypt hashes: checking one costs ~230 ms (Quay pays it
 * on every call). A verified token is remembered for TOKEN_CACHE_MS, keyed by
 * the SHA-256 of the token with its stored hash, and its row re-read on every
 * call: a revoked (deleted), expired or re-issued token stops working at
 * once; the cache only saves the bcrypt check of a token still in the table.
 */
import { createHash } from 'node:crypto';
import { verifyPassword } from '../../lib/passwords/passwords.js';
import { TOKEN_TOUCH_THRESHOLD_MS, type OAuthTokens, type OAuthTokenRow } from '../../dal/portable/oauth.js';
import { parseSqlTime } from '../../dal/model/time.js';
import { GUNICORN_500_HTML, HttpAbort, RawAnswer } from '../wire/errors.js';
import { Caller, type CallerDeps } from './caller.js';
import { FlaskSessionCodec, type SessionData } from './flask-session.js';
import { DIRECT_LOGIN, scopesFromString } from './scopes.js';

/** How long a verified token's bcrypt check is remembered. */
export const TOKEN_CACHE_MS = 60_000;
const TOKEN_CACHE_MAX = 10_000;

export interface Authenticated {
  readonly caller: Caller;
  /** The session as read (null: no valid cookie), to send back refreshed as Flask does. */
  readonly session: SessionData | null;
}

const UUID_RE = /^(urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;

/** The value of one cookie in a Cookie header (the last one wins, as Werkzeug's parser keeps the first: keep the first). */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return null;
}

/** PyJWT's base64url_decode: padded to a multiple of 4, characters outside the alphabet dropped; null when it cannot decode. */
function pyB64url(seg: string): Buffer | null {
  const clean = seg.replace(/[^A-Za-z0-9_-]/g, '');
  if (clean.length % 4 === 1) return null;
  return Buffer.from(clean, 'base64url');
}

/**
 * util/security/jwtutil.py is_jwt: PyJWT reads the header (a JSON object with
 * `typ` jwt or at+jwt) and base64-decodes the payload and signature; then
 * oauth/login_utils.py get_jwt_issuer reads `iss` from the payload. Undefined
 * when the token is not a JWT in that sense; `iss` null when it has none;
 * `bad` when the payload is not a JSON object (PyJWT raises: a 500 in Quay).
 */
function jwtIssuer(token: string): { iss: string | null; bad?: boolean } | undefined {
  const last = token.lastIndexOf('.');
  const first = token.indexOf('.');
  if (first < 0 || last === first) return undefined;
  const header = pyB64url(token.slice(0, first));
  const payload = pyB64url(token.slice(first + 1, last));
  if (!header || !payload || !pyB64url(token.slice(last + 1))) return undefined;
  let typ = '';
  try {
    const h = JSON.parse(header.toString('utf8')) as unknown;
    if (h === null || typeof h !== 'object' || Array.isArray(h)) return undefined;
    const t = (h as { typ?: unknown }).typ;
    typ = typeof t === 'string' ? t.toLowerCase() : '';
  } catch {
    return undefined;
  }
  if (typ !== 'jwt' && typ !== 'at+jwt') return undefined;
  try {
    const claims = JSON.parse(payload.toString('utf8')) as unknown;
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return { iss: null, bad: true };
    const iss = (claims as { iss?: unknown }).iss;
    return { iss: iss === undefined || iss === null ? null : String(iss) };
  } catch {
    return { iss: null, bad: true };
  }
}

export class ApiAuthenticator {
  readonly sessions: FlaskSessionCodec | null;
  private readonly verified = new Map<string, number>();
  /** bcrypt checks running, by the same key: concurrent calls with one token share one check. */
  private readonly checking = new Map<string, Promise<boolean>>();

  constructor(
    private readonly deps: CallerDeps,
    private readonly tokens: OAuthTokens,
    private readonly now: () => number = Date.now,
  ) {
    this.sessions = deps.settings.secretKey ? new FlaskSessionCodec(deps.settings.secretKey, deps.settings.sessionLifetimeS) : null;
  }

  async authenticate(headers: { readonly authorization?: string | undefined; readonly cookie?: string | undefined }): Promise<Authenticated> {
    const nowMs = this.now();
    const session = this.readSession(headers.cookie, nowMs);
    const anonymous: Authenticated = { caller: Caller.anonymous(this.deps), session };
    // validate_bearer_auth: split on spaces; `Bearer <token>` exactly, else "missing".
    const parts = (headers.authorization ?? '').split(' ').filter((p) => p !== '');
    if (parts.length === 2 && parts[0]!.toLowerCase() === 'bearer') {
      const token = parts[1]!;
      const jwt = jwtIssuer(token);
      if (jwt?.bad) throw new RawAnswer(500, 'text/html', GUNICORN_500_HTML);
      // No OIDC login service is configured on the go side: every issuer is unknown.
      if (jwt) throw new HttpAbort(401, jwt.iss === null || jwt.iss === '' ? 'Token does not contain issuer' : `Issuer ${jwt.iss} not configured`);
      const row = await this.validToken(token, nowMs);
      if (!row) return anonymous;
      const user = await this.deps.accounts.byId(row.authorizedUserId);
      if (!user || !user.enabled) return anonymous;
      return { caller: new Caller(this.deps, user, 'oauth', scopesFromString(row.scope), row, session), session };
    }
    // validate_session_cookie: `_user_id` must be a UUID of an enabled user that is not an organisation.
    const id = session?._user_id;
    if (typeof id !== 'string' || !UUID_RE.test(id)) return anonymous;
    const user = await this.deps.accounts.byUuid(id);
    if (!user || !user.enabled || user.organization) return anonymous;
    return { caller: new Caller(this.deps, user, 'session', new Set([DIRECT_LOGIN]), null, session), session };
  }

  /** The session a Cookie header carries (null: none, or not a valid one). */
  readSession(cookie: string | undefined, nowMs: number = this.now()): SessionData | null {
    if (!this.sessions) return null;
    const v = cookieValue(cookie, this.deps.settings.sessionCookie.name);
    return v ? this.sessions.decode(v, nowMs) : null;
  }

  /** validate_access_token + validate_app_oauth_token: the row of a valid, unexpired token, else null. */
  private async validToken(token: string, nowMs: number): Promise<OAuthTokenRow | null> {
    const name = token.slice(0, 20);
    const code = token.slice(20);
    if (!name || !code) return null;
    const row = await this.tokens.byName(name);
    if (!row || !row.tokenCode) return null;
    const key = createHash('sha256').update(token).update('\0').update(row.tokenCode).digest('base64');
    const until = this.verified.get(key);
    if (until === undefined || until <= nowMs) {
      let check = this.checking.get(key);
      if (!check) {
        check = verifyPassword(code, row.tokenCode).finally(() => this.checking.delete(key));
        this.checking.set(key, check);
      }
      if (!(await check)) return null;
      if (this.verified.size >= TOKEN_CACHE_MAX) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(key, nowMs + TOKEN_CACHE_MS);
    }
    // Quay updates last_accessed (debounced) while the token has not expired, then checks expiry.
    if (parseSqlTime(row.expiresAt) <= nowMs) return null;
    // The row just read says whether the debounced write would change anything: skip the round trip when not.
    const last = row.lastAccessed === null ? null : parseSqlTime(row.lastAccessed);
    if (last === null || last < nowMs - TOKEN_TOUCH_THRESHOLD_MS) void this.tokens.touch(row.id, nowMs).catch(() => undefined);
    return row;
  }
}
