/**
 * Flask's session cookie as Quay's Python side writes and reads it
 * (SecureCookieSessionInterface on itsdangerous' URLSafeTimedSerializer;
 * api/notes/quay-api-auth.md §2.2), so a browser signed in on either
 * implementation stays signed in on the other:
 *
 *   value = PAYLOAD "." TS "." SIG
 *   PAYLOAD = base64url(compact JSON, keys sorted), or "." + base64url(zlib(JSON)) when shorter
 *   TS = base64url(big-endian seconds)
 *   SIG = base64url(HMAC-SHA1(HMAC-SHA1(SECRET_KEY, "cookie-session"), PAYLOAD "." TS))
 *
 * Reading fails closed: a bad signature, a timestamp older than the session
 * lifetime (SESSION_TIMEOUT, 31 days) or in the future, bad base64, zlib or
 * JSON is an empty session, never an error. Values keep Flask's tagged JSON
 * (`{" d": "<RFC 1123 date>"}` for datetimes), so a session read and written
 * again is the one Python wrote.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';

export type SessionData = Record<string, unknown>;

/** Quay's SESSION_COOKIE_NAME. */
export const SESSION_COOKIE_NAME = '_csrf_token';
/** Quay's SESSION_TIMEOUT default: 31 days. */
export const DEFAULT_SESSION_LIFETIME_S = 31 * 86400;

/** JSON as Flask's provider writes it: compact, keys sorted at every level, non-ASCII escaped. */
export function flaskJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (Array.isArray(v)) return `[${v.map(flaskJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${flaskJson(k)}:${flaskJson(o[k])}`).join(',')}}`;
}

/** A Python datetime as Flask's tagged JSON holds it (naive datetimes formatted as if UTC). */
export function taggedDate(ms: number): { ' d': string } {
  return { ' d': new Date(ms).toUTCString() };
}

/** A tagged datetime back to epoch ms; null when it is not one. */
export function untagDate(v: unknown): number | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const d = (v as Record<string, unknown>)[' d'];
  if (typeof d !== 'string') return null;
  const ms = Date.parse(d);
  return Number.isNaN(ms) ? null : ms;
}

/** How many cookies each codec remembers, read and written (a browser sends the same one on every call). */
const MEMO_MAX = 512;

/** A bounded map that forgets its oldest entry first. */
class Memo<V> {
  private readonly m = new Map<string, V>();
  get(k: string): V | undefined {
    return this.m.get(k);
  }
  set(k: string, v: V): void {
    if (this.m.size >= MEMO_MAX) this.m.delete(this.m.keys().next().value!);
    this.m.set(k, v);
  }
}

export class FlaskSessionCodec {
  private readonly key: Buffer;
  /** Cookie value → its timestamp and payload, once the signature was checked (the value is what was signed). */
  private readonly read = new Memo<{ readonly ts: number; readonly data: SessionData }>();
  /** Payload JSON and second → the signed value (the same session re-signed in the same second is the same cookie). */
  private readonly written = new Memo<string>();

  constructor(
    secretKey: string,
    readonly lifetimeS: number = DEFAULT_SESSION_LIFETIME_S,
  ) {
    if (!secretKey) throw new Error('a session cookie needs SECRET_KEY');
    this.key = createHmac('sha1', Buffer.from(secretKey, 'utf8')).update('cookie-session').digest();
  }

  private sign(value: string): string {
    return createHmac('sha1', this.key).update(value, 'ascii').digest('base64url');
  }

  /** The session a cookie value holds; null when it is not a valid, live one. */
  decode(cookie: string, nowMs: number = Date.now()): SessionData | null {
    let known = this.read.get(cookie);
    if (!known) {
      const parsed = this.verify(cookie);
      if (!parsed) return null;
      known = parsed;
      this.read.set(cookie, known);
    }
    // The age is checked on every read: a remembered cookie still expires.
    const age = Math.floor(nowMs / 1000) - known.ts;
    if (age < 0 || age > this.lifetimeS) return null;
    return { ...known.data };
  }

  /** The timestamp and payload of a cookie whose signature holds; null otherwise. */
  private verify(cookie: string): { ts: number; data: SessionData } | null {
    const last = cookie.lastIndexOf('.');
    if (last <= 0) return null;
    const value = cookie.slice(0, last);
    const sig = Buffer.from(cookie.slice(last + 1), 'base64url');
    const want = Buffer.from(this.sign(value), 'base64url');
    if (sig.length !== want.length || !timingSafeEqual(sig, want)) return null;
    const tsAt = value.lastIndexOf('.');
    if (tsAt < 0) return null;
    const tsBytes = Buffer.from(value.slice(tsAt + 1), 'base64url');
    if (tsBytes.length === 0 || tsBytes.length > 8) return null;
    let ts = 0;
    for (const b of tsBytes) ts = ts * 256 + b;
    let payload = value.slice(0, tsAt);
    const compressed = payload.startsWith('.');
    if (compressed) payload = payload.slice(1);
    try {
      let raw = Buffer.from(payload, 'base64url');
      if (compressed) raw = inflateSync(raw);
      const v: unknown = JSON.parse(raw.toString('utf8'));
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? { ts, data: v as SessionData } : null;
    } catch {
      return null;
    }
  }

  /** A cookie value for the session, signed now (Python reads it as its own). */
  encode(data: SessionData, nowMs: number = Date.now()): string {
    const text = flaskJson(data);
    let ts = Math.floor(nowMs / 1000);
    const memoKey = `${ts}\0${text}`;
    const known = this.written.get(memoKey);
    if (known !== undefined) return known;
    const json = Buffer.from(text, 'utf8');
    const z = deflateSync(json);
    const payload = z.length < json.length - 1 ? `.${z.toString('base64url')}` : json.toString('base64url');
    const bytes: number[] = [];
    do {
      bytes.unshift(ts % 256);
      ts = Math.floor(ts / 256);
    } while (ts > 0);
    const value = `${payload}.${Buffer.from(bytes).toString('base64url')}`;
    const cookie = `${value}.${this.sign(value)}`;
    this.written.set(memoKey, cookie);
    return cookie;
  }
}
