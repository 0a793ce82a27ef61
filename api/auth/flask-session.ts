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

export class FlaskSessionCodec {
  private readonly key: Buffer;

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
    const age = Math.floor(nowMs / 1000) - ts;
    if (age < 0 || age > this.lifetimeS) return null;
    let payload = value.slice(0, tsAt);
    const compressed = payload.startsWith('.');
    if (compressed) payload = payload.slice(1);
    try {
      let raw = Buffer.from(payload, 'base64url');
      if (compressed) raw = inflateSync(raw);
      const v: unknown = JSON.parse(raw.toString('utf8'));
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as SessionData) : null;
    } catch {
      return null;
    }
  }

  /** A cookie value for the session, signed now (Python reads it as its own). */
  encode(data: SessionData, nowMs: number = Date.now()): string {
    const json = Buffer.from(flaskJson(data), 'utf8');
    const z = deflateSync(json);
    const payload = z.length < json.length - 1 ? `.${z.toString('base64url')}` : json.toString('base64url');
    let ts = Math.floor(nowMs / 1000);
    const bytes: number[] = [];
    do {
      bytes.unshift(ts % 256);
      ts = Math.floor(ts / 256);
    } while (ts > 0);
    const value = `${payload}.${Buffer.from(bytes).toString('base64url')}`;
    return `${value}.${this.sign(value)}`;
  }
}
