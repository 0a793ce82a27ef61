/**
 * Who may reach the admin listener, before any admin path answers:
 *
 * - **Host allow-list** (against DNS rebinding). A web page on evil.example
 *   that re-points its name at 127.0.0.1 makes the victim's browser send
 *   `Host: evil.example` to the admin port; the browser then lets the page
 *   read the answer. A browser always names the page's own host, so a request
 *   is let in only when its Host is an IP literal (v4, or bracketed v6, any
 *   port), `localhost`, the ADMIN_LISTEN host, or a name in
 *   SWITCHBOARD.ADMIN_ALLOWED_HOSTS. Anything else: 421 Misdirected Request.
 *   No Host at all (HTTP/1.0; node already refuses HTTP/1.1 without one) is
 *   let in: browsers always send one, so it cannot be a rebinding page.
 * - **Optional auth** for /status (ADMIN_STATUS_AUTH) and /metrics
 *   (ADMIN_METRICS_AUTH): the dashboard's admin token as a bearer token, or a
 *   dashboard session cookie, checked by DashboardAuth.identify. Basic
 *   credentials are not taken here: every one costs a bcrypt check, and the
 *   login limiter that guards them lives with the control API.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP, isIPv6 } from 'node:net';
import type { DashboardAuth } from '../control/auth.js';
import { isLoopback } from '../../lib/client-address.js';

/** Whether an ADMIN_LISTEN host is loopback (the registry's own test, shared). */
export { isLoopback };

/** A refusal to send as it is: status, plain-text body, extra headers. */
export interface AdminRefusal {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** The host name of a Host header value, lower-cased, without port or trailing dot; null when the value is malformed. */
export function hostName(header: string): string | null {
  const h = header.trim().toLowerCase();
  let name: string;
  let rest: string;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return null;
    name = h.slice(1, end);
    if (!isIPv6(name)) return null;
    rest = h.slice(end + 1);
  } else {
    const colon = h.indexOf(':');
    // Two colons: an IPv6 literal without brackets, which a Host may not be.
    if (colon >= 0 && h.indexOf(':', colon + 1) >= 0) return null;
    name = colon < 0 ? h : h.slice(0, colon);
    rest = colon < 0 ? '' : h.slice(colon);
    if (name.endsWith('.')) name = name.slice(0, -1);
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name)) return null;
  }
  return rest === '' || /^:\d{0,5}$/.test(rest) ? name : null;
}

/** The names a Host may carry besides IP literals and localhost: the listen host and ADMIN_ALLOWED_HOSTS, normalised. */
export function allowedNames(listenHost: string, allowed: readonly string[]): ReadonlySet<string> {
  const out = new Set<string>(['localhost']);
  for (const n of [listenHost, ...allowed]) {
    const name = hostName(isIPv6(n) ? `[${n}]` : n);
    if (name !== null) out.add(name);
  }
  return out;
}

/** Null when the Host header may reach the admin listener; else the 421 to answer. */
export function hostRefusal(header: string | undefined, names: ReadonlySet<string>): AdminRefusal | null {
  if (header === undefined) return null;
  const name = hostName(header);
  if (name !== null && (isIP(name) !== 0 || names.has(name))) return null;
  const shown = JSON.stringify(header.length > 100 ? `${header.slice(0, 100)}…` : header);
  return {
    status: 421,
    body:
      `misdirected request: Host ${shown} is not a name of this admin listener (a DNS-rebinding guard). ` +
      'Use an IP address or localhost, or add the name to SWITCHBOARD.ADMIN_ALLOWED_HOSTS\n',
    headers: { 'x-content-type-options': 'nosniff' },
  };
}

/**
 * Null when the request may read a protected admin path (`key` names the
 * setting that protects it); else the 401 (or 503 when the dashboard's auth
 * was not loaded at start) to answer.
 */
export async function authRefusal(headers: IncomingHttpHeaders, auth: Pick<DashboardAuth, 'identify'> | null, key: string): Promise<AdminRefusal | null> {
  const challenge = { 'www-authenticate': 'Bearer realm="switchboard admin"', 'x-content-type-options': 'nosniff' };
  if (!auth) {
    // The schema refuses the key without DASHBOARD; DASHBOARD added by a live edit loads at the next start.
    return { status: 503, body: `SWITCHBOARD.${key} is on but the dashboard's auth is not loaded: SWITCHBOARD.DASHBOARD takes effect on restart\n`, headers: {} };
  }
  const authorization = typeof headers.authorization === 'string' ? headers.authorization : undefined;
  if (/^basic /i.test(authorization ?? '')) {
    return {
      status: 401,
      body: `SWITCHBOARD.${key}: Basic credentials are not taken here; send Authorization: Bearer <admin token> (SWITCHBOARD.DASHBOARD.ADMIN_TOKEN_FILE), or log in at /dashboard\n`,
      headers: challenge,
    };
  }
  if (await auth.identify(headers)) return null;
  return {
    status: 401,
    body: `SWITCHBOARD.${key} is on: send Authorization: Bearer <admin token> (SWITCHBOARD.DASHBOARD.ADMIN_TOKEN_FILE), or log in at /dashboard\n`,
    headers: challenge,
  };
}

/**
 * The start-up warning for an admin listener off loopback, or null on
 * loopback: what it exposes and what to do about it.
 */
export function exposureWarning(
  listen: { host: string; port: number },
  s: { ADMIN_STATUS_AUTH: boolean; ADMIN_METRICS_AUTH: boolean },
  dashboard: boolean,
): { msg: string; open_without_auth: string[] } | null {
  if (isLoopback(listen.host)) return null;
  const open = ['/healthz', '/readyz', ...(s.ADMIN_STATUS_AUTH ? [] : ['/status']), ...(s.ADMIN_METRICS_AUTH ? [] : ['/metrics'])];
  const fix = [...(s.ADMIN_STATUS_AUTH ? [] : ['SWITCHBOARD.ADMIN_STATUS_AUTH: true']), ...(s.ADMIN_METRICS_AUTH ? [] : ['SWITCHBOARD.ADMIN_METRICS_AUTH: true'])];
  const msg =
    `the admin listener ${listen.host}:${listen.port} is not on loopback: ${open.join(', ')} answer anyone who reaches it without auth` +
    `${dashboard ? ', and the dashboard and control API (token or password) are reachable from the network' : ''}; ` +
    `bind SWITCHBOARD.ADMIN_LISTEN to 127.0.0.1${fix.length ? `, or set ${fix.join(' and ')} (needs SWITCHBOARD.DASHBOARD)` : ''}, and firewall the port; ` +
    'a name other than the listen host that reaches it (a scrape target, a load balancer) goes in SWITCHBOARD.ADMIN_ALLOWED_HOSTS';
  return { msg, open_without_auth: open };
}
