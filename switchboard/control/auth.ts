/**
 * Who may look at and change the switches (SWITCHBOARD.DASHBOARD):
 *
 *   ADMIN_TOKEN_FILE  one token (first line of the file): role operator, actor "admin-token"
 *   USERS_FILE        YAML list of {name, role: operator|read-only, password_bcrypt}
 *
 * Browsers log in once and get a signed session cookie (HttpOnly,
 * SameSite=Strict) that carries a CSRF token every form must send back.
 * Scripts send `Authorization: Bearer <token>` or Basic credentials of a user
 * with every request (no cookie, so no CSRF). Files are re-read when they
 * change, so a revoked user is out at the next request.
 *
 * Passwords are checked on the process's bcrypt worker pool (shared with the
 * embedded registry), one check per name at a time: a flood of wrong
 * passwords on the admin listener never runs bcrypt on the event loop.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { PasswordCheckBusy } from '../../lib/passwords/bcrypt-pool.js';
import { LoginQueue } from '../../lib/passwords/login-queue.js';

/**
 * Checked for a name nobody has, so an unknown name costs what a known one
 * does: a cost-10 hash of random bytes nobody kept (made once, offline; the
 * verdict is thrown away anyway).
 */
const UNKNOWN_NAME_HASH = '$2b$10$FdCjEiVKH6K4K0dabSOBbOq.mnCCnEezcG9RC34K.lVHYb9tD/F6O';

export type Role = 'operator' | 'read-only';

export interface Principal {
  readonly name: string;
  readonly role: Role;
  /** How the request proved it: a session cookie (then forms need the CSRF token), a bearer token or Basic credentials. */
  readonly via: 'session' | 'token' | 'basic';
  readonly csrf: string | null;
}

interface UserRow {
  readonly name: string;
  readonly role: Role;
  readonly hash: string;
}

export interface AuthFiles {
  readonly tokenFile: string | null;
  readonly usersFile: string | null;
  readonly sessionHours: number;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A file's contents, re-read when its mtime or size changes. */
class Watched<T> {
  private key = '';
  private value: T | null = null;
  constructor(
    private readonly file: string,
    private readonly parse: (text: string) => T,
  ) {}
  get(): T {
    const st = statSync(this.file);
    const key = `${st.mtimeMs}:${st.size}`;
    if (this.value === null || key !== this.key) {
      this.value = this.parse(readFileSync(this.file, 'utf8'));
      this.key = key;
    }
    return this.value;
  }
}

export function parseUsers(text: string, file: string): UserRow[] {
  let doc: unknown;
  try {
    doc = parseYaml(text) as unknown;
  } catch (e) {
    // Never the parser's message: it quotes the file, password hashes included.
    const line = (e as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new Error(`${file} is not valid YAML${line ? ` (line ${line})` : ''}`);
  }
  if (!Array.isArray(doc)) throw new Error(`${file}: must be a YAML list of {name, role, password_bcrypt}`);
  return doc.map((u: unknown, i) => {
    const r = u as { name?: unknown; role?: unknown; password_bcrypt?: unknown };
    if (typeof r.name !== 'string' || !r.name) throw new Error(`${file}: entry ${i + 1}: name missing`);
    if (r.name === 'admin-token') throw new Error(`${file}: entry ${i + 1}: the name admin-token is reserved for the admin token`);
    if (r.role !== 'operator' && r.role !== 'read-only') throw new Error(`${file}: ${r.name}: role must be operator or read-only`);
    if (typeof r.password_bcrypt !== 'string' || !/^\$2[aby]\$\d\d\$/.test(r.password_bcrypt))
      throw new Error(`${file}: ${r.name}: password_bcrypt must be a bcrypt hash ($2b$...)`);
    return { name: r.name, role: r.role, hash: r.password_bcrypt };
  });
}

/** The name and password of an `Authorization: Basic ...` header; null for any other header or a malformed one. */
export function basicCredentials(authorization: string | undefined): { name: string; password: string } | null {
  if (!authorization || !/^basic /i.test(authorization)) return null;
  const dec = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const i = dec.indexOf(':');
  return i <= 0 ? null : { name: dec.slice(0, i), password: dec.slice(i + 1) };
}

export class DashboardAuth {
  private readonly secret = randomBytes(32);
  private readonly checks = new LoginQueue();
  /** Live sessions by id: logging out deletes one; each remembers the credential it was made from. */
  private readonly sessions = new Map<string, { name: string; role: Role; expires: number; csrf: string; credential: string }>();
  private readonly token: Watched<string> | null;
  private readonly users: Watched<UserRow[]> | null;

  constructor(readonly files: AuthFiles) {
    for (const f of [files.tokenFile, files.usersFile]) {
      if (f !== null && !existsSync(f)) throw new Error(`SWITCHBOARD.DASHBOARD: ${f} does not exist`);
    }
    this.token = files.tokenFile
      ? new Watched(files.tokenFile, (t) => {
          const tok = t.split('\n')[0]!.trim();
          if (tok.length < 16) throw new Error(`${files.tokenFile}: the admin token must be at least 16 characters`);
          return tok;
        })
      : null;
    this.users = files.usersFile ? new Watched(files.usersFile, (t) => parseUsers(t, files.usersFile!)) : null;
    // Fail at start, not at the first login.
    this.token?.get();
    this.users?.get();
  }

  /** Whether NAME is someone (for logs: a mistyped password in the name field is never logged). */
  knows(name: string): boolean {
    return (name === 'admin-token' && this.token !== null) || (this.users?.get().some((u) => u.name === name) ?? false);
  }

  /**
   * Checks a login: a user's name and password, or the admin token (as the
   * password of name "admin-token", or alone). Null when wrong, and when the
   * password checker is saturated (the limiter's `busy` refusal normally
   * answers those first, with a 429).
   */
  async login(name: string, password: string): Promise<{ name: string; role: Role } | null> {
    if (this.token && (name === '' || name === 'admin-token') && equal(password, this.token.get())) return { name: 'admin-token', role: 'operator' };
    try {
      return await this.checks.run(name, async (turn) => {
        // Looked up in the turn: a user removed (or re-passworded) while this attempt waited is seen.
        const u = this.users?.get().find((x) => x.name === name);
        // Same cost whether or not the user exists.
        const ok = await turn.verify(password, u?.hash ?? UNKNOWN_NAME_HASH);
        return u && ok ? { name: u.name, role: u.role } : null;
      });
    } catch (e) {
      if (e instanceof PasswordCheckBusy) return null;
      throw e;
    }
  }

  /** What a session was made from: the token, or the user's role and password hash. Changing either ends the session. */
  private credential(name: string): string | null {
    if (name === 'admin-token') return this.token ? createHmac('sha256', this.secret).update(this.token.get()).digest('base64url') : null;
    const u = this.users?.get().find((x) => x.name === name);
    return u ? createHmac('sha256', this.secret).update(`${u.role}\0${u.hash}`).digest('base64url') : null;
  }

  /** A new session for a logged-in principal: the cookie value (a random id, signed). */
  session(who: { name: string; role: Role }): string {
    const now = Date.now();
    for (const [id, s] of this.sessions) if (s.expires < now) this.sessions.delete(id);
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, {
      name: who.name,
      role: who.role,
      expires: now + this.files.sessionHours * 3_600_000,
      csrf: randomBytes(18).toString('base64url'),
      credential: this.credential(who.name) ?? '',
    });
    return `${id}.${this.sign(id)}`;
  }

  /** Ends the session a Cookie header names. */
  logout(cookieHeader: string | undefined): void {
    const id = this.sessionId(cookieHeader);
    if (id) this.sessions.delete(id);
  }

  private sessionId(cookieHeader: string | undefined): string | null {
    const m = /(?:^|;\s*)sb_session=([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)/.exec(cookieHeader ?? '');
    return m && equal(m[2]!, this.sign(m[1]!)) ? m[1]! : null;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }

  /** The principal of a request, or null. */
  async identify(headers: Record<string, string | string[] | undefined>): Promise<Principal | null> {
    const auth = typeof headers.authorization === 'string' ? headers.authorization : '';
    if (/^bearer /i.test(auth)) {
      const tok = auth.slice(7).trim();
      return this.token && equal(tok, this.token.get()) ? { name: 'admin-token', role: 'operator', via: 'token', csrf: null } : null;
    }
    const basic = basicCredentials(auth);
    if (basic) {
      const who = await this.login(basic.name, basic.password);
      return who ? { ...who, via: 'basic', csrf: null } : null;
    }
    if (/^basic /i.test(auth)) return null;
    const id = this.sessionId(typeof headers.cookie === 'string' ? headers.cookie : undefined);
    const s = id ? this.sessions.get(id) : undefined;
    if (!id || !s) return null;
    // Expired, or the user was removed, given another role or a new password, or the token changed: out at once.
    if (s.expires < Date.now() || this.credential(s.name) !== s.credential) {
      this.sessions.delete(id);
      return null;
    }
    return { name: s.name, role: s.role, via: 'session', csrf: s.csrf };
  }
}
