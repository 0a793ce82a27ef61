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
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { parse as parseYaml } from 'yaml';

export type Role = 'operator' | 'read-only';

export interface Principal {
  readonly name: string;
  readonly role: Role;
  /** How the request proved it: a session cookie (then forms need the CSRF token), a bearer token or Basic credentials. */
  readonly via: 'session' | 'token' | 'basic';
  readonly csrf: string | null;
}

interface UserRow { readonly name: string; readonly role: Role; readonly hash: string }

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
  constructor(private readonly file: string, private readonly parse: (text: string) => T) {}
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
  const doc = parseYaml(text) as unknown;
  if (!Array.isArray(doc)) throw new Error(`${file}: must be a YAML list of {name, role, password_bcrypt}`);
  return doc.map((u: unknown, i) => {
    const r = u as { name?: unknown; role?: unknown; password_bcrypt?: unknown };
    if (typeof r.name !== 'string' || !r.name) throw new Error(`${file}: entry ${i + 1}: name missing`);
    if (r.role !== 'operator' && r.role !== 'read-only') throw new Error(`${file}: ${r.name}: role must be operator or read-only`);
    if (typeof r.password_bcrypt !== 'string' || !/^\$2[aby]\$\d\d\$/.test(r.password_bcrypt)) throw new Error(`${file}: ${r.name}: password_bcrypt must be a bcrypt hash ($2b$...)`);
    return { name: r.name, role: r.role, hash: r.password_bcrypt };
  });
}

export class DashboardAuth {
  private readonly secret = randomBytes(32);
  private dummyHash: string | null = null;
  private readonly token: Watched<string> | null;
  private readonly users: Watched<UserRow[]> | null;

  constructor(readonly files: AuthFiles) {
    for (const f of [files.tokenFile, files.usersFile]) {
      if (f !== null && !existsSync(f)) throw new Error(`SWITCHBOARD.DASHBOARD: ${f} does not exist`);
    }
    this.token = files.tokenFile ? new Watched(files.tokenFile, (t) => {
      const tok = t.split('\n')[0]!.trim();
      if (tok.length < 16) throw new Error(`${files.tokenFile}: the admin token must be at least 16 characters`);
      return tok;
    }) : null;
    this.users = files.usersFile ? new Watched(files.usersFile, (t) => parseUsers(t, files.usersFile!)) : null;
    // Fail at start, not at the first login.
    this.token?.get();
    this.users?.get();
  }

  /** Checks a login: a user's name and password, or the admin token (as the password of name "admin-token", or alone). */
  async login(name: string, password: string): Promise<{ name: string; role: Role } | null> {
    if (this.token && (name === '' || name === 'admin-token') && equal(password, this.token.get())) return { name: 'admin-token', role: 'operator' };
    const u = this.users?.get().find((x) => x.name === name);
    if (!u) {
      // Same cost whether or not the user exists.
      this.dummyHash ??= bcrypt.hashSync(randomBytes(9).toString('hex'), 10);
      await bcrypt.compare(password, this.dummyHash);
      return null;
    }
    return (await bcrypt.compare(password, u.hash)) ? { name: u.name, role: u.role } : null;
  }

  /** A signed session cookie value for a logged-in principal. */
  session(who: { name: string; role: Role }): string {
    const payload = Buffer.from(JSON.stringify({ u: who.name, r: who.role, e: Date.now() + this.files.sessionHours * 3_600_000, c: randomBytes(18).toString('base64url') })).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
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
    if (/^basic /i.test(auth)) {
      const dec = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const i = dec.indexOf(':');
      if (i <= 0) return null;
      const who = await this.login(dec.slice(0, i), dec.slice(i + 1));
      return who ? { ...who, via: 'basic', csrf: null } : null;
    }
    const cookie = typeof headers.cookie === 'string' ? headers.cookie : '';
    const m = /(?:^|;\s*)sb_session=([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)/.exec(cookie);
    if (!m || !equal(m[2]!, this.sign(m[1]!))) return null;
    let p: { u: string; r: Role; e: number; c: string };
    try { p = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as typeof p; } catch { return null; }
    if (typeof p.e !== 'number' || p.e < Date.now()) return null;
    // A user removed from the file, or given another role, is out at once.
    if (p.u !== 'admin-token') {
      const u = this.users?.get().find((x) => x.name === p.u);
      if (!u || u.role !== p.r) return null;
    } else if (!this.token) return null;
    return { name: p.u, role: p.r, via: 'session', csrf: p.c };
  }
}
