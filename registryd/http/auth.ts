/** GET /v2/auth (ROUTE_0003): the token service. */
import type { Ctx } from './context.js';
import { sendJson } from './respond.js';
import { isLoopback } from '../../lib/client-address.js';
import { LoginThrottled, type LoginClient } from '../../domain/auth/credentials.js';

/**
 * Quay's answer to TooManyLoginAttemptsException (endpoints/decorated.py):
 * 429, a text body, `Retry-After` in whole seconds, and the CORS headers of
 * its @crossorigin with the default CORS_ORIGIN "*" (flask_restful's
 * crossdomain: sorted methods, upper-cased headers, max age 21600).
 */
const THROTTLED_BODY = 'Too many login attempts. \nPlease reset your Quay password and try again.';
const THROTTLED_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'DELETE, GET, HEAD, OPTIONS, POST, PUT',
  'access-control-max-age': '21600',
  'access-control-allow-headers': 'AUTHORIZATION, CONTENT-TYPE, X-REQUESTED-WITH',
} as const;

export async function issueToken(c: Ctx): Promise<void> {
  let body: string;
  try {
    body = await c.auth.issue(c.authorization, c.query(), loginClient(c));
  } catch (e) {
    if (!(e instanceof LoginThrottled)) throw e;
    c.res.writeHead(429, { ...THROTTLED_HEADERS, 'retry-after': String(e.retryAfterSeconds), 'content-length': Buffer.byteLength(THROTTLED_BODY) });
    c.res.end(c.method === 'HEAD' ? undefined : THROTTLED_BODY);
    return;
  }
  // Quay's @no_cache: a token must never be served from a cache.
  sendJson(c.res, 200, body, { 'cache-control': 'no-cache, no-store, must-revalidate' }, c.method === 'HEAD');
}

/**
 * Who is logging in: the client's address through TRUSTED_PROXIES
 * (client-address.ts), and the X-Forwarded-For as sent, for the logs. A
 * loopback peer that forwards for others but is not trusted (the switchboard
 * in front of the embedded registry, by default) hides every client behind
 * one address: that address is `shared`, and limits count per name only.
 */
function loginClient(c: Ctx): LoginClient {
  const xff = c.req.headers['x-forwarded-for'];
  const address = c.settings.clients.addressOf(c.req.socket.remoteAddress ?? '', xff);
  const forwardedFor = xff === undefined ? null : Array.isArray(xff) ? xff.join(', ') : xff;
  return { address, forwardedFor, shared: forwardedFor !== null && isLoopback(address), userAgent: c.req.headers['user-agent'] ?? '' };
}
