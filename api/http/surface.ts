/**
 * The /api/v1 surface for the go side's router (quay/router.ts). Per call,
 * in Quay's order (endpoints/api/__init__.py, api.decorators and
 * ApiResource.method_decorators):
 *
 *   1. require_xhr_from_browser: a browser GET without X-Requested-With → 400
 *   2. process_oauth: bearer token, else the session cookie (auth/authenticate.ts)
 *   3. a write (./writes.ts): its body read, csrf_protect for callers without an OAuth token
 *   4. check_readonly: a write while REGISTRY_STATE is readonly → Quay's 503; then
 *      check_anon_protection: anonymous callers refused when FEATURE_ANONYMOUS_ACCESS is off
 *   5. the handler (its own permission checks, Quay's decorators said in code)
 *   6. the answer: JSON as Flask-RESTful writes it (Python's json.dumps and a
 *      newline), the CORS headers of Quay's crossorigin() on success, and the
 *      session cookie sent back refreshed as Flask does for a permanent session.
 *
 * Rows Quay does not register under the config (a FEATURE_ off) are absent
 * from the route table; rows not built yet answer 501 (only mutations: every
 * GET row of the family has a record).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteMatch, Surface } from '../../owner-maps/index.js';
import { pythonJsonDumps, type PyJson } from '../../lib/python-json.js';
import type { ApiAuthenticator } from '../auth/authenticate.js';
import type { Caller } from '../auth/caller.js';
import type { SessionData } from '../auth/flask-session.js';
import { EmptyScopeSet } from '../auth/scopes.js';
import type { ApiServices } from '../call/services.js';
import { Abort, ApiProblem, GUNICORN_500_HTML, HttpAbort, ModelError, RawAnswer } from '../wire/errors.js';
import { isBrowserAgent } from './browsers.js';
import { readBody, verifyCsrf, writes } from './writes.js';
import { errorTypeUrl, externalBase } from '../wire/urls.js';
import { ApiCall, Reply } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';

export type { ApiHandler, ApiRouteRecord } from '../call/record.js';

export const FAMILY = 'API_V1';

/**
 * Our stand-in for Quay's web UI page answered with 404 under /api/v1 (its
 * index template with `__error_code = 404`): the status, type and headers are
 * Quay's, the page is ours (the web UI is not served by the go side).
 */
export const WEB_NOT_FOUND_HTML =
  '<!DOCTYPE html>\n<html>\n<head><title>Not Found</title></head>\n<body>\n<h1>Not Found</h1>\n<p>No API resource or repository matches this URL.</p>\n</body>\n</html>\n';

/** Quay's crossorigin() headers on a successful answer (CORS_ORIGIN unset: any origin). */
const CORS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'DELETE, GET, HEAD, OPTIONS, POST, PUT',
  'access-control-max-age': '21600',
  'access-control-allow-headers': 'AUTHORIZATION, CONTENT-TYPE, X-REQUESTED-WITH',
};

/** Flask-Login's session identifier: SHA-512 of `b'<first X-Forwarded-For or peer>'|b'<User-Agent>'`. */
export function loginIdentifier(req: IncomingMessage): string {
  const xff = req.headers['x-forwarded-for'];
  const addr = (typeof xff === 'string' ? xff : (req.socket.remoteAddress ?? '')).split(',')[0]!.trim();
  const ua = req.headers['user-agent'];
  const pyBytes = (s: string): string => `b'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return createHash('sha512')
    .update(`${pyBytes(addr)}|${ua === undefined ? 'None' : pyBytes(ua)}`, 'utf8')
    .digest('hex');
}

/** Quay's answer to a write while REGISTRY_STATE is readonly (endpoints/decorated.py handle_readonly; jsonify: compact, keys sorted). */
const READ_ONLY_BODY = `${JSON.stringify({ is_readonly: true, message: 'System is currently read-only. Pulls will succeed but all write operations are currently suspended.' })}\n`;

export function createApiSurface(o: { readonly svc: ApiServices; readonly auth: ApiAuthenticator; readonly records: readonly ApiRouteRecord[] }): Surface<ApiRouteRecord> {
  const { svc, auth } = o;
  const settings = svc.settings;
  const registered = svc.registered;
  const records = o.records.filter((r) => !r.registered || r.registered(settings));

  /**
   * The session cookie Flask sends back: a permanent session re-signed now
   * (SESSION_REFRESH_EACH_REQUEST), and any session Flask-Login's "basic"
   * protection changed (`_fresh` false when `_id` is not this client's).
   */
  function sessionCookie(req: IncomingMessage, session: SessionData | null): string | null {
    if (!session || !auth.sessions || Object.keys(session).length === 0) return null;
    const modified = session._id !== loginIdentifier(req) && session._fresh !== false;
    const permanent = session._permanent === true;
    if (!modified && !permanent) return null;
    const value = auth.sessions.encode(modified ? { ...session, _fresh: false } : session, svc.now());
    // Werkzeug's dump_cookie order: Domain, Expires, Secure, HttpOnly, Path, SameSite.
    const sc = settings.sessionCookie;
    const attrs = [`${sc.name}=${value}`];
    if (sc.domain) attrs.push(`Domain=${sc.domain}`);
    if (permanent) attrs.push(`Expires=${new Date(svc.now() + settings.sessionLifetimeS * 1000).toUTCString()}`);
    if (sc.secure) attrs.push('Secure');
    if (sc.httpOnly) attrs.push('HttpOnly');
    attrs.push(`Path=${sc.path}`);
    if (sc.sameSite) attrs.push(`SameSite=${sc.sameSite}`);
    return attrs.join('; ');
  }

  /** util.http.abort's " (authorized: …)" (auth/context_entity.py descriptions). */
  function describe(caller: Caller | null): string {
    if (!caller?.user) return '';
    return caller.via === 'oauth' ? ` (authorized: oauthtoken for user ${caller.user.username})` : ` (authorized: user ${caller.user.username})`;
  }

  function send(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string>, method: string): void {
    // A 204 has no body (Werkzeug sends none whatever the view returned).
    const body = status === 204 ? Buffer.alloc(0) : Buffer.from(text, 'utf8');
    res.writeHead(status, { ...headers, 'content-type': contentType, ...(status === 204 ? {} : { 'content-length': body.length }) });
    res.end(method === 'HEAD' ? undefined : body);
  }

  async function run(req: IncomingMessage, res: ServerResponse, m: RouteMatch, rec: ApiRouteRecord): Promise<void> {
    const method = req.method ?? 'GET';
    const headers: Record<string, string> = {};
    let caller: Caller | null = null;
    let session: SessionData | null = null;
    // Flask adds `Vary: Cookie` once the session is read: every call but one authenticated by a bearer token.
    const bearer = /^\s*bearer\s/i.test(req.headers.authorization ?? '');
    try {
      // require_xhr_from_browser runs before process_oauth (the outermost of api.decorators).
      if (method === 'GET' && settings.browserXhrOnly && isBrowserAgent(req.headers['user-agent']) && req.headers['x-requested-with'] !== 'XMLHttpRequest') {
        session = auth.readSession(req.headers.cookie);
        throw new HttpAbort(400, 'API calls must be invoked with an X-Requested-With header if called from a browser', false);
      }
      const a = await auth.authenticate({ authorization: req.headers.authorization, cookie: req.headers.cookie });
      caller = a.caller;
      session = a.session;
      const body = writes(method) ? await readBody(req) : null;
      // csrf_protect: every write not authorised by an OAuth token carries the session's token.
      if (writes(method) && caller.via !== 'oauth') verifyCsrf(req, session, body);
      // Flask-RESTful wraps the method decorators in list order, so check_readonly (listed last) runs first.
      if (writes(method) && settings.keys.REGISTRY_STATE === 'readonly') throw new RawAnswer(503, 'application/json', READ_ONLY_BODY);
      if (!settings.feature('ANONYMOUS_ACCESS') && !rec.anonAllowed && !caller.user) throw new HttpAbort(401, 'Anonymous access is not allowed');
      const out = await rec.handle(new ApiCall(svc, req, m.params, caller, body));
      const reply = out instanceof Reply ? out : new Reply(200, out);
      finish(headers, req, session, bearer);
      send(res, reply.status, 'application/json', `${pythonJsonDumps(reply.body as PyJson)}\n`, { ...CORS, ...headers }, method);
    } catch (e) {
      if (e instanceof RawAnswer && e.status >= 500) {
        // gunicorn's own page: the exception escaped Flask, so no session or Vary headers either.
        send(res, e.status, e.contentType, e.text, { ...e.headers }, method);
        return;
      }
      if (!(e instanceof ApiProblem || e instanceof Abort || e instanceof HttpAbort || e instanceof ModelError || e instanceof RawAnswer)) {
        if (!(e instanceof EmptyScopeSet))
          svc.log.error('api: unexpected failure', { route: m.route.id, path: (req.url ?? '').split('?')[0], err: String((e as Error)?.stack ?? e) });
        send(res, 500, 'text/html', GUNICORN_500_HTML, {}, method);
        return;
      }
      finish(headers, req, session, bearer);
      if (e instanceof ApiProblem) {
        const body = {
          ...e.payload,
          ...(e.description !== null ? { detail: e.description, error_message: e.description } : {}),
          error_type: e.errorType,
          title: e.errorType,
          type: errorTypeUrl(req, settings.serverHostname, e.errorType),
          status: e.status,
        };
        send(res, e.status, 'application/json', `${pythonJsonDumps(body as PyJson)}\n`, headers, method);
      } else if (e instanceof Abort) {
        send(res, e.status, 'application/json', `${pythonJsonDumps(e.body as PyJson)}\n`, headers, method);
      } else if (e instanceof ModelError) {
        // jsonify: compact separators, non-ASCII escaped.
        const text = JSON.stringify({ message: e.message }).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
        send(res, 400, 'application/json', `${text}\n`, headers, method);
      } else if (e instanceof HttpAbort) {
        const cors = { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, HEAD, OPTIONS', 'access-control-max-age': '21600' };
        headers.vary = headers.vary ? `Origin, ${headers.vary}` : 'Origin';
        const message = `${e.message}${e.describeCaller ? describe(caller) : ''}`;
        send(res, e.status, 'text/html; charset=utf-8', pythonJsonDumps({ error: message }), { ...cors, ...headers }, method);
      } else {
        send(res, e.status, e.contentType, e.text, { ...e.headers, ...headers }, method);
      }
    }
  }

  /** The session cookie and Vary header Flask adds to an answer it produced. */
  function finish(headers: Record<string, string>, req: IncomingMessage, session: SessionData | null, bearer: boolean): void {
    if (bearer) return;
    const cookie = sessionCookie(req, session);
    if (cookie) headers['set-cookie'] = cookie;
    headers.vary = 'Cookie';
  }

  /** Werkzeug's 308 to the canonical URL, absolute on the request's host, with its small HTML body. */
  function redirect(req: IncomingMessage, res: ServerResponse, to: string): void {
    const url = `${externalBase(req, settings.serverHostname)}${to}`;
    const esc = url.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    const html = `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href="${esc}">${esc}</a>. If not, click the link.\n`;
    send(res, 308, 'text/html; charset=utf-8', html, { location: url }, req.method ?? 'GET');
  }

  return {
    family: FAMILY,
    prefix: '/api/',
    records,
    absent: (row) => !registered(row),
    serve(req, res, m, rec) {
      if (!writes(req.method ?? 'GET')) req.resume();
      void run(req, res, m, rec).catch((e: unknown) => {
        svc.log.error('api: answer failed', { err: String(e) });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    },
    unbuilt(req, res, m) {
      req.resume();
      send(
        res,
        501,
        'application/json',
        `${pythonJsonDumps({ error: `${m.route.method} ${m.route.pattern} (${m.route.handler}) is not implemented by the go side yet: route it to python` })}\n`,
        {},
        req.method ?? 'GET',
      );
    },
    redirect,
    unmatched(req, res, allowed) {
      req.resume();
      if (allowed.length > 0 && req.method === 'OPTIONS') {
        // Flask's automatic OPTIONS through Quay's crossorigin(): 200, the rule's methods, the CORS headers.
        const methods = [...new Set([...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'])].sort().join(', ');
        send(res, 200, 'text/html; charset=utf-8', '', { allow: methods, ...CORS, vary: 'Cookie' }, 'OPTIONS');
        return;
      }
      if (allowed.length > 0) {
        const html =
          '<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n';
        send(res, 405, 'text/html; charset=utf-8', html, { allow: [...allowed, 'OPTIONS'].sort().join(', ') }, req.method ?? 'GET');
        return;
      }
      // No API rule: Quay's web blueprint catches /<namespace>/<path:repository>/ (redirect_to_repository),
      // so a path without its trailing slash is redirected to one with it, which answers the web UI's 404.
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      if (!path.endsWith('/')) {
        redirect(req, res, `${path}/${q < 0 ? '' : url.slice(q)}`);
        return;
      }
      send(
        res,
        404,
        'text/html; charset=utf-8',
        WEB_NOT_FOUND_HTML,
        { 'x-frame-options': 'DENY', 'cache-control': 'no-cache, no-store, must-revalidate', vary: 'Cookie' },
        req.method ?? 'GET',
      );
    },
  };
}
