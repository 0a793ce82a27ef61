/**
 * Contract tests of Quay's REST API (/api/v1) between real Quay ("python")
 * and our runtime ("go") on ONE database and storage: real Quay with its
 * initdb test data, and `quay serve` on Quay's own config.yaml.
 *
 * Every identity is one set of request headers that both sides receive
 * verbatim: a Flask session cookie *made by Python* (signed in on real
 * Quay), an OAuth bearer token stored the way Quay stores them, a robot
 * credential as a bearer, or nothing. Both sides also get the same `Host`
 * (Quay's SERVER_HOSTNAME) and `User-Agent`, so URLs Quay builds from the
 * request (the `type` of error bodies) and the session's `_id` hash agree.
 */
import { createDecipheriv, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import Database from 'better-sqlite3';
import bcrypt from 'bcryptjs';
import pg from 'pg';
import { request, tempDir, type TLike } from './proc.js';
import { startQuayPython, startQuayServe, type QuayPython } from './quay-python.js';
import { QuayWebSession } from './quay-api.js';

/** The two implementations. */
export type Side = 'python' | 'go';

/** Session-cookie identities: these users signed in on real Quay (password `password`). */
export const SESSION_USERS = ['devtable', 'reader', 'freshuser', 'public'] as const;

/**
 * OAuth tokens inserted into `oauthaccesstoken` (application `deadbeef`):
 * identity name → [user, scope string]. `devtable-token` is initdb's own
 * (`b`×40 + `c`×40, repo:admin) and is not inserted.
 */
export const EXTRA_TOKENS = {
  'devtable-user-read': ['devtable', 'user:read'],
  'reader-repo-read': ['reader', 'repo:read'],
  'devtable-org-admin': ['devtable', 'org:admin'],
  'devtable-super': ['devtable', 'super:user user:admin'],
  /** An empty scope string: Quay parses it to the empty scope set. */
  'devtable-empty-scope': ['devtable', ''],
} as const satisfies Record<string, readonly [string, string]>;

export type IdentityName =
  | 'anonymous'
  | (typeof SESSION_USERS)[number]
  | 'devtable-token'
  | keyof typeof EXTRA_TOKENS
  /** devtable+dtrobot's token as `Authorization: Bearer` (Quay: a failed app-token lookup → anonymous). */
  | 'robot-bearer';

/** How one caller authenticates: the headers sent to both sides. */
export interface Identity {
  readonly name: IdentityName;
  readonly kind: 'anonymous' | 'session' | 'oauth' | 'robot';
  /** The user behind it (robot: `devtable+dtrobot`). */
  readonly user?: string;
  /** OAuth scope string as stored. */
  readonly scope?: string;
  /** The credential itself: cookie value, token or robot token. */
  readonly secret?: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** One side's answer to a GET. */
export interface Answer {
  readonly status: number;
  /** The Content-Type header as sent ('' when absent). */
  readonly contentType: string;
  /** Parsed JSON when the body parses as JSON (whatever the Content-Type), else the text. */
  readonly body: unknown;
  /** The body exactly as sent. */
  readonly text: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface CallOptions {
  /** Extra request headers; they override the identity's and the defaults. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The method (default GET). */
  readonly method?: string;
  /** A request body, sent as given. */
  readonly body?: string;
}

export interface ApiPair {
  /** Real Quay (state dir, config, database…). */
  readonly quay: QuayPython;
  /** Base URLs (no trailing slash). */
  readonly urls: Readonly<Record<Side, string>>;
  /** The Host header both sides get: Quay's SERVER_HOSTNAME. */
  readonly host: string;
  readonly identities: Readonly<Record<IdentityName, Identity>>;
  /**
   * GET `path` (with query) on one side as `identity`. Request headers: Host,
   * User-Agent (CONTRACT_USER_AGENT), `Accept: application/json`, then the
   * identity's, then `opts.headers`. Redirects are not followed.
   */
  call(side: Side, path: string, identity: IdentityName, opts?: CallOptions): Promise<Answer>;
  /** GET `path` on both sides (python first, then go) as `identity`. */
  callBoth(path: string, identity: IdentityName, opts?: CallOptions): Promise<Record<Side, Answer>>;
}

/**
 * The User-Agent of every call: what Node's fetch sends, so the one
 * QuayWebSession signed in with. Flask-Login's session `_id` hashes it; with
 * another UA Python still accepts the cookie but re-sends it with `_fresh:
 * false`. Not a browser family, so Quay's XHR-only rule stays out of the way.
 */
export const CONTRACT_USER_AGENT = 'node';

/**
 * Starts real Quay (initdb data, `database` sqlite by default) and our
 * runtime on Quay's config, signs the session users in on Quay, inserts the
 * extra OAuth tokens and reads devtable+dtrobot's token. Our runtime need
 * not serve /api/v1 yet: its answers are then whatever it sends.
 */
export async function startApiPair(t: TLike, o: { database?: 'sqlite' | 'postgres' } = {}): Promise<ApiPair> {
  const quay = await startQuayPython(t, { database: o.database ?? 'sqlite' });
  const serve = await startQuayServe(t, { configFile: quay.configFile, dataDir: tempDir(t, 'api-contract-ts-'), what: "quay serve on Quay's config" });
  return apiPair(quay, { python: quay.port, go: serve.port });
}

/**
 * The identities and callers for an already running real Quay (`ports.go`
 * defaults to Quay's own port: a python-only harness, e.g. for probes).
 * `ports.host` is the Host header both sides get: Quay's SERVER_HOSTNAME,
 * by default the fixture's `127.0.0.1:<quay.port>`.
 */
export async function apiPair(quay: QuayPython, ports: { python: number; go?: number; host?: string }): Promise<ApiPair> {
  const host = ports.host ?? `127.0.0.1:${quay.port}`;
  const portOf: Record<Side, number> = { python: ports.python, go: ports.go ?? ports.python };
  const ids = {} as Record<IdentityName, Identity>;
  ids.anonymous = { name: 'anonymous', kind: 'anonymous', headers: {} };
  // Web sessions first, back to back: fetch keeps connections alive, and gunicorn drops idle ones after 2 s
  // (the bcrypt hashing of the token inserts below takes longer than that).
  let robot = '';
  for (const user of SESSION_USERS) {
    const s = await QuayWebSession.signIn(quay.url, user, 'password');
    const cookie = sessionCookieOf(s, user);
    ids[user] = { name: user, kind: 'session', user, secret: cookie, headers: { cookie: `_csrf_token=${cookie}` } };
    if (user === 'devtable') robot = await s.robotToken('devtable+dtrobot', 'devtable');
  }
  ids['robot-bearer'] = { name: 'robot-bearer', kind: 'robot', user: 'devtable+dtrobot', secret: robot, headers: { authorization: `Bearer ${robot}` } };
  const bearer = (name: IdentityName, user: string, scope: string, token: string): Identity => ({
    name,
    kind: 'oauth',
    user,
    scope,
    secret: token,
    headers: { authorization: `Bearer ${token}` },
  });
  ids['devtable-token'] = bearer('devtable-token', 'devtable', 'repo:admin', 'b'.repeat(40) + 'c'.repeat(40));
  for (const [name, [user, scope]] of Object.entries(EXTRA_TOKENS)) {
    ids[name as IdentityName] = bearer(name as IdentityName, user, scope, await insertOAuthToken(quay.database, user, scope));
  }

  const call = async (side: Side, path: string, identity: IdentityName, opts: CallOptions = {}): Promise<Answer> => {
    const r = await request(portOf[side], {
      path,
      ...(opts.method ? { method: opts.method } : {}),
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      headers: { host, 'user-agent': CONTRACT_USER_AGENT, accept: 'application/json', ...ids[identity].headers, ...opts.headers },
    });
    const text = r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: r.status, contentType: r.header('content-type'), body, text, headers: r.headers };
  };
  return {
    quay,
    urls: { python: `http://127.0.0.1:${portOf.python}`, go: `http://127.0.0.1:${portOf.go}` },
    host,
    identities: ids,
    call,
    callBoth: async (path, identity, opts) => ({ python: await call('python', path, identity, opts), go: await call('go', path, identity, opts) }),
  };
}

/**
 * Signs `user` in on real Quay (QuayWebSession: /csrf_token, then
 * /api/v1/signin) and returns the value of the `_csrf_token` session cookie
 * Python set, to be replayed verbatim on both sides.
 */
export async function pythonSessionCookie(baseUrl: string, user: string, password = 'password'): Promise<string> {
  return sessionCookieOf(await QuayWebSession.signIn(baseUrl, user, password), user);
}

/** The `_csrf_token` cookie a signed-in QuayWebSession holds (its cookie jar is private). */
function sessionCookieOf(s: QuayWebSession, user: string): string {
  const cookie = (s as unknown as { cookies: Map<string, string> }).cookies.get('_csrf_token');
  if (!cookie) throw new Error(`real Quay set no _csrf_token session cookie when ${user} signed in`);
  return cookie;
}

/**
 * Inserts an OAuth access token for `username` with `scope` into Quay's
 * `oauthaccesstoken`, as Quay's create_user_access_token_for_application
 * does (data/model/oauth.py): 40 random characters, `token_name` = the first
 * 20 in plain text, `token_code` = bcrypt (cost 12, `$2b$` as Python's bcrypt
 * writes) of the other 20, application `deadbeef`, token_type `token`,
 * expiring in a year (naive UTC, peewee's text format). Returns the token.
 * `database` is QuayPython.database: a SQLite file path or a postgres:// URL.
 */
export async function insertOAuthToken(database: string, username: string, scope: string, clientId = 'deadbeef'): Promise<string> {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const token = [...randomBytes(40)].map((b) => alphabet[b % alphabet.length]).join('');
  const name = token.slice(0, 20);
  const code = bcrypt.hashSync(token.slice(20), bcrypt.genSaltSync(12)).replace(/^\$2a\$/, '$2b$');
  const peeweeTime = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '000');
  const now = new Date();
  const row = [randomUUID(), scope, name, code, 'token', peeweeTime(new Date(now.getTime() + 365 * 86_400_000)), '', peeweeTime(now)];
  const cols = 'uuid, application_id, authorized_user_id, scope, display_name, token_name, token_code, token_type, expires_at, data, created';
  if (/^postgres(ql)?:/.test(database)) {
    const c = new pg.Client({ connectionString: database });
    await c.connect();
    try {
      await c.query(
        `INSERT INTO oauthaccesstoken (${cols}) VALUES ($1, (SELECT id FROM oauthapplication WHERE client_id = $9), (SELECT id FROM "user" WHERE username = $10), $2, NULL, $3, $4, $5, $6, $7, $8)`,
        [...row, clientId, username],
      );
    } finally {
      await c.end();
    }
  } else {
    const db = new Database(database);
    try {
      db.pragma('busy_timeout = 10000');
      db.prepare(
        `INSERT INTO oauthaccesstoken (${cols}) VALUES (?, (SELECT id FROM oauthapplication WHERE client_id = ?), (SELECT id FROM "user" WHERE username = ?), ?, NULL, ?, ?, ?, ?, ?, ?)`,
      ).run(row[0], clientId, username, ...row.slice(1));
    } finally {
      db.close();
    }
  }
  return token;
}

/**
 * Quay's PAGE_TOKEN_KEY (config.py default; the recipe's config keeps it):
 * `next_page` tokens are Fernet with this key.
 */
export const PAGE_TOKEN_KEY = '0OYrc16oBuksR8T3JGB-xxYSlZ2-7I_zzqrLzggBJ58=';

/**
 * The plaintext of a Fernet token under `key` (HMAC checked, TTL not), or
 * undefined when it is not one.
 */
export function fernetPlaintext(token: string, key = PAGE_TOKEN_KEY): string | undefined {
  const k = Buffer.from(key, 'base64url');
  const raw = Buffer.from(token, 'base64url');
  if (k.length !== 32 || raw.length < 57 || raw[0] !== 0x80 || (raw.length - 57) % 16 !== 0) return undefined;
  const mac = createHmac('sha256', k.subarray(0, 16)).update(raw.subarray(0, -32)).digest();
  if (!timingSafeEqual(mac, raw.subarray(-32))) return undefined;
  try {
    const d = createDecipheriv('aes-128-cbc', k.subarray(16), raw.subarray(9, 25));
    return Buffer.concat([d.update(raw.subarray(25, -32)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** RFC 2822 as Quay's format_date writes it: `Fri, 04 Dec 2026 01:59:36 -0000`. */
const RFC2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d -0000$/;

const aboutADayFromNow = (v: string): boolean => Math.abs(Math.abs(Date.parse(v) - Date.now()) - 86_400_000) <= 600_000;

/**
 * A copy of a parsed body with what legitimately differs between two calls
 * made moments apart replaced by stable stand-ins. Everything else (key
 * order, timestamps of stored rows, every other value) is kept as sent.
 * Found by capturing every API_V1 GET row twice on one real Quay and
 * diffing (see api/notes/probes.md); each rule and its reason:
 *
 * - `next_page` (every pager): a Fernet token carries its creation time and
 *   a random IV, so no two are equal. It is replaced by `fernet:<plaintext>`
 *   (decrypted with PAGE_TOKEN_KEY), so the page position must still match
 *   byte for byte; a value that is not a valid token is kept as is.
 * - `start_time` / `end_time` (log pages, when the query gives no dates):
 *   "now − 1 day" and "now + 1 day", to the second, at the moment of the
 *   call. Replaced by `<now:rfc2822>` only when they have Quay's exact
 *   RFC 2822 form (so a format difference still shows) and lie one day
 *   (± 10 min) from now (so dates the query gave are compared).
 * - In text bodies: `window.__token = '…'` in the web UI's HTML page (what
 *   a feature-off or unknown /api/v1/… URL answers with, status 404): a CSRF
 *   token, new on every call without a session. Replaced by `<csrf>`.
 *
 * No `last_accessed`-like field changed between the two captures: Quay
 * touches an OAuth token's last_accessed (debounced 60 s) but no GET shows
 * it, and robots' last_accessed changes only on registry logins.
 */
export function normalize(body: unknown): unknown {
  if (typeof body === 'string') return body.replace(/(window\.__token = )'[^']*'/g, "$1'<csrf>'");
  if (Array.isArray(body)) return body.map(normalize);
  if (body !== null && typeof body === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (k === 'next_page' && typeof v === 'string') {
        const plain = fernetPlaintext(v);
        out[k] = plain === undefined ? v : `fernet:${plain}`;
      } else if ((k === 'start_time' || k === 'end_time') && typeof v === 'string' && RFC2822.test(v) && aboutADayFromNow(v)) out[k] = '<now:rfc2822>';
      else out[k] = normalize(v);
    }
    return out;
  }
  return body;
}

/**
 * The differences between two parsed bodies, one line per path
 * (`$.repositories[0].name: python "a" ≠ go "b"`, `$.x: only in python`).
 * Object key order is ignored (JSON objects); array order is not. Empty
 * when equal.
 */
export function diffJson(a: unknown, b: unknown, path = '$', names: readonly [string, string] = ['python', 'go']): string[] {
  const show = (v: unknown): string => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  };
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length) out.push(`${path}[${i}]: only in ${names[1]}: ${show(b[i])}`);
      else if (i >= b.length) out.push(`${path}[${i}]: only in ${names[0]}: ${show(a[i])}`);
      else out.push(...diffJson(a[i], b[i], `${path}[${i}]`, names));
    }
    return out;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const p = /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
      if (!(k in b)) out.push(`${p}: only in ${names[0]}: ${show(a[k])}`);
      else if (!(k in a)) out.push(`${p}: only in ${names[1]}: ${show(b[k])}`);
      else out.push(...diffJson(a[k], b[k], p, names));
    }
    return out;
  }
  return Object.is(a, b) ? [] : [`${path}: ${names[0]} ${show(a)} ≠ ${names[1]} ${show(b)}`];
}

/** Paths where two parsed bodies list object keys in a different order (Python's dict order is part of Quay's answer). */
export function keyOrderDiff(a: unknown, b: unknown, path = '$'): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (Array.isArray(a) && Array.isArray(b)) return a.flatMap((x, i) => (i < b.length ? keyOrderDiff(x, b[i], `${path}[${i}]`) : []));
  if (!isObj(a) || !isObj(b)) return [];
  const ka = Object.keys(a).filter((k) => k in b);
  const kb = Object.keys(b).filter((k) => k in a);
  const out = ka.join() === kb.join() ? [] : [`${path}: keys python [${ka.join(', ')}] go [${kb.join(', ')}]`];
  for (const k of ka) out.push(...keyOrderDiff(a[k], b[k], `${path}.${k}`));
  return out;
}

/** A difference the contract tolerates: where, why, and a check that it still occurs (so the list cannot go stale). */
export interface KnownDifference {
  readonly path: RegExp;
  readonly identity?: IdentityName;
  readonly reason: string;
  /** True while the difference occurs (the answers as each side gave them). */
  readonly occurs: (python: Answer, go: Answer) => boolean;
}

/** What `checkParity` compares beyond status and the normalized body. */
export interface ParityOptions {
  readonly known?: readonly KnownDifference[];
  /** Compare key order too (default true). */
  readonly keyOrder?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * For every path × identity: GET on both sides; status, content type and the
 * normalized body must be equal (and key order, unless told otherwise). A
 * case matching a known difference must show that difference instead, and
 * is not compared further.
 */
/** The assertions checkParity makes (a tap Test has them). */
export interface Asserts {
  ok(v: any, message: string): any;
  same(found: any, wanted: any, message: string): any;
}

export async function checkParity(t: Asserts, pair: ApiPair, paths: readonly string[], identities: readonly IdentityName[], o: ParityOptions = {}): Promise<void> {
  for (const path of paths) {
    for (const id of identities) {
      const { python, go } = await pair.callBoth(path, id, o.headers ? { headers: o.headers } : {});
      const known = o.known?.find((k) => k.path.test(path) && (k.identity === undefined || k.identity === id));
      if (known) {
        t.ok(known.occurs(python, go), `${path} as ${id}: known difference still occurs (${known.reason})`);
        continue;
      }
      const diffs = [
        ...(python.status !== go.status ? [`status: python ${python.status} ≠ go ${go.status}`] : []),
        ...(python.contentType !== go.contentType ? [`content-type: python ${python.contentType} ≠ go ${go.contentType}`] : []),
        ...diffJson(normalize(python.body), normalize(go.body)),
        ...(o.keyOrder === false ? [] : keyOrderDiff(python.body, go.body)),
      ];
      t.same(diffs, [], `${path} as ${id}: ${python.status}`);
    }
  }
}

/** Every identity of the contract but the empty-scope token (which only a few cases use). */
export const EVERYONE: readonly IdentityName[] = [
  'anonymous',
  'devtable',
  'reader',
  'freshuser',
  'public',
  'devtable-token',
  'devtable-user-read',
  'reader-repo-read',
  'devtable-org-admin',
  'devtable-super',
  'robot-bearer',
];

/**
 * Runs SQL on the pair's database (QuayPython.database: a SQLite file or a
 * postgres:// URL), `?` placeholders in both; the rows of a SELECT, [] otherwise.
 */
export async function pairSql<R>(database: string, text: string, params: unknown[] = []): Promise<R[]> {
  if (!database.startsWith('postgres')) {
    const db = new Database(database);
    try {
      db.pragma('busy_timeout = 10000');
      const st = db.prepare(text);
      return (st.reader ? st.all(...params) : (st.run(...params), [])) as R[];
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: database });
  await c.connect();
  try {
    let i = 0;
    return (
      await c.query(
        text.replace(/\?/g, () => `$${++i}`),
        params,
      )
    ).rows as R[];
  } finally {
    await c.end();
  }
}
