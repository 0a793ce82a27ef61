/**
 * Requests refused at the edge, before any owner is decided or charged: ones
 * no owner could take as they stand, or that an owner would route differently
 * from the switchboard.
 *
 *   two Host headers                 RFC 9112 §3.2: a server must answer 400
 *   a `.` or `..` path segment       `/api/v1/../../v2/...` (also `%2e%2e`):
 *                                    the decision is made on the path as
 *                                    sent, and an owner, or a proxy in front
 *                                    of it, may resolve the dot segments and
 *                                    route it elsewhere; no registry or API
 *                                    client sends them
 *
 * The common request (no dot, no `%`, one Host) pays two string scans.
 */
import type { IncomingMessage } from 'node:http';
import { isOriginForm, toOriginForm } from './request-target.js';

/** What the edge decided: refused with a metric reason (and, for bad_request, why), or null to go on. */
export type EdgeVerdict = { readonly reason: 'bad_target' } | { readonly reason: 'bad_request'; readonly why: string } | null;

/**
 * Checks a request at the edge, rewriting an absolute-form target to
 * origin-form on the way (request-target.ts). Host headers are counted before
 * that rewrite, which leaves one Host (the target's authority): an
 * absolute-form request with two Host headers is refused like any other.
 */
export function admit(req: IncomingMessage): EdgeVerdict {
  const hosts = twoHosts(req);
  if (!isOriginForm(req) && !toOriginForm(req)) return { reason: 'bad_target' };
  const why = hosts ?? (hasDotSegment(req.url ?? '/') ? 'a "." or ".." path segment; send the path without them' : null);
  return why === null ? null : { reason: 'bad_request', why };
}

function twoHosts(req: IncomingMessage): string | null {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === 4 && n.toLowerCase() === 'host' && ++hosts > 1) return 'two Host headers (RFC 9112 §3.2)';
  }
  return null;
}

/** A `.` or `..` segment in the path (not the query), literal or percent-encoded. */
export function hasDotSegment(target: string): boolean {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path.indexOf('.') < 0 && path.indexOf('%') < 0) return false;
  for (const seg of path.split('/')) {
    if (seg.length === 0 || seg.length > 6) continue; // `%2e%2e` is the longest
    const s = seg.replace(/%2e/gi, '.');
    if (s === '.' || s === '..') return true;
  }
  return false;
}
