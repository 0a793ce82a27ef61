/**
 * /api/v1 GET rows of API_APP_TOKENS (endpoints/api/appspecifictokens.py):
 * the signed-in user's app-specific tokens, and one token with its secret
 * (fresh login required). Quay registers both only with
 * FEATURE_APP_SPECIFIC_TOKENS.
 */
import { FieldEncrypter } from '../../domain/auth/field-crypto.js';
import { parseSqlTime } from '../../dal/model/time.js';
import { TokenReads, type AppTokenRow } from '../../dal/portable/tokens.js';
import type { ApiCall } from '../call/context.js';
import { truthyBool } from '../call/params.js';
import type { ApiRouteRecord } from '../call/record.js';
import { formatDate } from '../../domain/quay-dates.js';
import { GUNICORN_500_HTML, notFound, RawAnswer } from '../wire/errors.js';
import type { ApiSettings } from '../wire/settings.js';
import { gatedMethods } from './feature-off.js';
import { requireFreshLogin, requireUser } from './guards.js';

/** _DEFAULT_TOKEN_EXPIRATION_WINDOW (appspecifictokens.py:58). */
const DEFAULT_TOKEN_EXPIRATION_WINDOW = '4w';

/** util/timedeltastring.convert_to_timedelta in seconds: `<int><s|m|h|d|w|y>`; null when Python would raise. */
export function convertToTimedeltaS(v: string): number | null {
  const m = /^\s*([+-]?\d+(?:_\d+)*)\s*([smhdwy])$/.exec(v);
  if (!m) return null;
  const n = Number(m[1]!.replace(/_/g, ''));
  return n * { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w' | 'y'];
}

/** The DATABASE_SECRET_KEY encrypter (Quay's EncryptedCharField), one per settings. */
const encrypters = new WeakMap<ApiSettings, FieldEncrypter | null>();
export function fieldEncrypter(s: ApiSettings): FieldEncrypter | null {
  if (!encrypters.has(s)) {
    const k = s.keys.DATABASE_SECRET_KEY;
    encrypters.set(s, k === undefined || k === null || k === '' ? null : new FieldEncrypter(String(k as string | number)));
  }
  return encrypters.get(s) ?? null;
}

/** A value Quay cannot decrypt raises in the view: the exception escapes Flask, gunicorn answers 500. */
export function decryptOr500(s: ApiSettings, stored: string): string {
  const enc = fieldEncrypter(s);
  try {
    if (!enc) throw new Error('no DATABASE_SECRET_KEY');
    return enc.decrypt(stored);
  } catch {
    throw new RawAnswer(500, 'text/html', GUNICORN_500_HTML);
  }
}

const dateOrNull = (v: string | null): string | null => (v === null ? null : formatDate(parseSqlTime(v)));

/** token_view (appspecifictokens.py:36). */
function tokenView(c: ApiCall, t: AppTokenRow, includeCode: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    uuid: t.uuid,
    title: t.title,
    last_accessed: dateOrNull(t.lastAccessed),
    created: dateOrNull(t.created),
    expiration: dateOrNull(t.expiration),
  };
  // get_full_token_string: the name (60 characters) then the decrypted secret.
  if (includeCode) view.token_code = `${t.tokenName}${decryptOr500(c.svc.settings, t.tokenSecret)}`;
  return view;
}

async function listAppTokens(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  const a = c.args([{ name: 'expiring', help: 'If true, only returns those tokens expiring soon', type: truthyBool }]);
  const expiring = a.expiring as boolean | null;
  const reads = new TokenReads(c.svc.sql);
  let tokens: AppTokenRow[];
  if (expiring) {
    // The window is 10% of APP_SPECIFIC_TOKEN_EXPIRATION (default 4w), rounded up to whole seconds, at least 1.
    const configured = c.svc.settings.keys.APP_SPECIFIC_TOKEN_EXPIRATION;
    const text = typeof configured === 'string' && configured ? configured : DEFAULT_TOKEN_EXPIRATION_WINDOW;
    const total = convertToTimedeltaS(text);
    if (total === null) throw new RawAnswer(500, 'text/html', GUNICORN_500_HTML);
    const seconds = Math.ceil(total * 0.1) || 1;
    tokens = await reads.expiringAppTokens(user.id, c.svc.now(), seconds * 1000);
  } else {
    tokens = await reads.appTokens(user.id);
  }
  return { tokens: tokens.map((t) => tokenView(c, t, false)), only_expiring: expiring };
}

async function getAppToken(c: ApiCall): Promise<unknown> {
  const user = requireUser(c, 'admin');
  requireFreshLogin(c);
  const token = await new TokenReads(c.svc.sql).appToken(user.id, c.params.token_uuid ?? '', c.svc.now());
  if (!token) throw notFound();
  return { token: tokenView(c, token, true) };
}

const appTokensOn = (s: ApiSettings): boolean => s.feature('APP_SPECIFIC_TOKENS');

export const APP_TOKEN_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0298 /api/v1/user/apptoken
  { quayHandler: 'AppTokens.get', handle: listAppTokens, registered: appTokensOn },
  // ROUTE_0301 /api/v1/user/apptoken/{token_uuid}
  { quayHandler: 'AppToken.get', handle: getAppToken, registered: appTokensOn },
  // The mutations leave the route table with the GETs when the flag is off.
  ...gatedMethods(appTokensOn, 'AppTokens.post', 'AppToken.delete'),
];
