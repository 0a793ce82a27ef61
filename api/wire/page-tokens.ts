/**
 * Quay's `next_page` tokens (util/pagination.py, util/security/crypto.py):
 * Fernet over Python's json.dumps of the token dict, keyed by PAGE_TOKEN_KEY
 * used directly as the Fernet key, read back with a two-day TTL. Python and
 * the go side share the key, so a client paging through a list may continue
 * on either implementation with the other's token. Every failure to read a
 * token (another key, expired, garbage, not a JSON object) is "no token":
 * the first page, never an error, as in Quay.
 *
 * Fernet: 0x80 | timestamp (u64 BE seconds) | IV (16) | AES-128-CBC(PKCS7)
 * | HMAC-SHA256 over all before it; signing key = key[0:16], encryption key
 * = key[16:32]; the whole base64url with padding.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { pythonJsonDumps, type PyJson } from '../../lib/python-json.js';

/** Quay's PAGE_TOKEN_KEY default (config.py). */
export const DEFAULT_PAGE_TOKEN_KEY = '0OYrc16oBuksR8T3JGB-xxYSlZ2-7I_zzqrLzggBJ58=';
/** decrypt_page_token's TTL: two days. */
export const PAGE_TOKEN_TTL_S = 2 * 86400;
/** Fernet's allowance for a token from the future. */
const MAX_CLOCK_SKEW_S = 60;

export type PageToken = Readonly<Record<string, PyJson>>;

export class PageTokens {
  private readonly signing: Buffer;
  private readonly encryption: Buffer;

  constructor(key: string = DEFAULT_PAGE_TOKEN_KEY) {
    const raw = Buffer.from(key, 'base64url');
    if (raw.length !== 32) throw new Error('PAGE_TOKEN_KEY must be 32 url-safe base64-encoded bytes (a Fernet key)');
    this.signing = raw.subarray(0, 16);
    this.encryption = raw.subarray(16, 32);
  }

  /** encrypt_page_token: the token as Python writes it, encrypted. */
  encrypt(token: PageToken, nowMs: number = Date.now(), iv: Buffer = randomBytes(16)): string {
    const plain = Buffer.from(pythonJsonDumps(token), 'utf8');
    const c = createCipheriv('aes-128-cbc', this.encryption, iv);
    const ct = Buffer.concat([c.update(plain), c.final()]);
    const head = Buffer.alloc(9);
    head[0] = 0x80;
    head.writeBigUInt64BE(BigInt(Math.floor(nowMs / 1000)), 1);
    const body = Buffer.concat([head, iv, ct]);
    const mac = createHmac('sha256', this.signing).update(body).digest();
    return Buffer.concat([body, mac]).toString('base64url') + padding(body.length + 32);
  }

  /** decrypt_page_token: the token dict, or null for anything that is not one of ours and fresh. */
  decrypt(text: string | undefined | null, nowMs: number = Date.now()): Record<string, unknown> | null {
    if (!text) return null;
    // Python's urlsafe_b64decode: the url-safe alphabet, padding required to a multiple of 4.
    if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
    const data = Buffer.from(text, 'base64url');
    if (data.length < 1 + 8 + 16 + 16 + 32 || data[0] !== 0x80 || (data.length - 57) % 16 !== 0) return null;
    const body = data.subarray(0, data.length - 32);
    const mac = createHmac('sha256', this.signing).update(body).digest();
    if (!timingSafeEqual(mac, data.subarray(data.length - 32))) return null;
    const ts = Number(data.readBigUInt64BE(1));
    const now = Math.floor(nowMs / 1000);
    if (ts + PAGE_TOKEN_TTL_S < now || now + MAX_CLOCK_SKEW_S < ts) return null;
    try {
      const d = createDecipheriv('aes-128-cbc', this.encryption, data.subarray(9, 25));
      const plain = Buffer.concat([d.update(data.subarray(25, data.length - 32)), d.final()]).toString('utf8');
      const v: unknown = JSON.parse(plain);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
}

/** `=` padding of base64 for `n` bytes. */
function padding(n: number): string {
  const r = n % 3;
  return r === 0 ? '' : r === 1 ? '==' : '=';
}
