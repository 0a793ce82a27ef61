/**
 * Where the control API lives, and its old address.
 *
 * The control API was served under /api/v1, which is also the prefix of
 * Quay's own REST API (the proxy routes /api/v1/repository/..., /api/v1/user/
 * and the rest): operators, nginx front-door configs and the docs mixed the
 * two up. It now lives under /control/v1. For one release every old path
 * answers 308 Permanent Redirect to its new path (query string kept; 308
 * keeps the method and body, so a POST to /api/v1/apply is re-sent as a POST
 * to /control/v1/apply by a client that follows redirects), with
 * `Deprecation: true` and a `Link: <new>; rel="successor-version"`.
 *
 * The whole old prefix is rewritten, known endpoint or not: the rule is one
 * line that cannot drift from the endpoint list, and an unknown path gets the
 * control API's own 404 (behind its login, as before) at the new address.
 * The admin listener never served Quay's API, so nothing under /api/v1 there
 * is anything but an old control-API call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log.js';

/** The control API's prefix on the admin listener. */
export const CONTROL_API_PREFIX = '/control/v1';
/** Its prefix before it moved; redirected for one release. */
export const LEGACY_CONTROL_API_PREFIX = '/api/v1';

/** Distinct old paths remembered (each logged once); past it, one line says no more are logged. */
const REMEMBERED_PATHS = 256;
/** An old path is remembered and logged by its first characters only (a client picks its length). */
const PATH_CHARS = 200;

/** The new location of an old control-API path, query string kept; null when the path is not under the old prefix. */
export function successorOf(url: URL): string | null {
  if (!url.pathname.startsWith(`${LEGACY_CONTROL_API_PREFIX}/`)) return null;
  // URL has percent-encoded what may not stand in a header or between Link's angle brackets.
  return `${CONTROL_API_PREFIX}${url.pathname.slice(LEGACY_CONTROL_API_PREFIX.length)}${url.search}`;
}

/** Answers old control-API paths with a 308 to the new ones, and logs each distinct old path once. */
export class LegacyPrefixRedirects {
  private readonly logged = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** Answers req when its path is under the old prefix (true); false, untouched, otherwise. */
  redirect(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const to = successorOf(url);
    if (to === null) return false;
    this.warnOnce(req, url.pathname, to);
    const body = `moved to ${to}: the control API is under ${CONTROL_API_PREFIX} (${LEGACY_CONTROL_API_PREFIX} is Quay's API); the old paths go away in the next release\n`;
    res.writeHead(308, {
      location: to,
      deprecation: 'true',
      link: `<${to}>; rel="successor-version"`,
      // Not cached: a browser that kept it would still send the new path after a rollback to a release without it.
      'cache-control': 'no-store',
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private warnOnce(req: IncomingMessage, path: string, to: string): void {
    const key = path.slice(0, PATH_CHARS);
    if (this.logged.has(key) || this.logged.size > REMEMBERED_PATHS) return;
    this.logged.add(key);
    if (this.logged.size > REMEMBERED_PATHS) {
      this.log.warn('deprecated control API paths: more distinct old paths called, not logged', { remembered: REMEMBERED_PATHS });
      return;
    }
    const agent = req.headers['user-agent'];
    this.log.warn(`deprecated control API path: ${LEGACY_CONTROL_API_PREFIX} moved to ${CONTROL_API_PREFIX}, the old paths go away in the next release`, {
      path: key,
      successor: to.split('?')[0]!.slice(0, PATH_CHARS),
      method: req.method,
      client_address: req.socket.remoteAddress ?? 'unknown',
      user_agent: typeof agent === 'string' ? agent.slice(0, PATH_CHARS) : null,
    });
  }
}
