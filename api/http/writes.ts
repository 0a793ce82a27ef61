/**
 * What a write (POST, PUT, DELETE, PATCH) adds to Quay's request pipeline
 * (api/http/surface.ts):
 *
 *   body   read whole before the handler (at most MAX_BODY_BYTES: 413 past it)
 *   CSRF   endpoints/csrf.py csrf_protect: a write not authorised by an OAuth
 *          token must carry the session's `_csrf_token`, as the `_csrf_token`
 *          query or form value or the X-CSRF-Token header; otherwise Quay's
 *          403 "CSRF token was invalid or missing." (util.http.abort)
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SessionData } from '../auth/flask-session.js';
import { HttpAbort, RawAnswer } from '../wire/errors.js';

/** The largest request body a write reads (Quay's API takes small JSON documents). */
export const MAX_BODY_BYTES = 1024 * 1024;

export const writes = (method: string): boolean => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';

/** The request body, whole; past MAX_BODY_BYTES the rest is drained and the call answered 413. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', resolve);
    req.on('error', reject);
  });
  if (size > MAX_BODY_BYTES)
    throw new RawAnswer(
      413,
      'text/html; charset=utf-8',
      '<!doctype html>\n<html lang=en>\n<title>413 Request Entity Too Large</title>\n<h1>Request Entity Too Large</h1>\n<p>The data value transmitted exceeds the capacity limit.</p>\n',
    );
  return Buffer.concat(chunks);
}

/** request.values' `_csrf_token`: the query's, else an urlencoded form's. */
function requestToken(req: IncomingMessage, body: Buffer | null): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const fromQuery = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get('_csrf_token');
  if (fromQuery) return fromQuery;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' && body) return new URLSearchParams(body.toString('utf8')).get('_csrf_token') ?? '';
  return '';
}

/** verify_csrf: throws Quay's 403 unless the session's token and the request's are present and equal. */
export function verifyCsrf(req: IncomingMessage, session: SessionData | null, body: Buffer | null): void {
  const raw = session?._csrf_token;
  const token = raw === undefined || raw === null ? '' : String(raw);
  let found = requestToken(req, body);
  if (!found) {
    const h = req.headers['x-csrf-token'];
    found = typeof h === 'string' ? h : '';
  }
  const a = Buffer.from(token, 'utf8');
  const b = Buffer.from(found, 'utf8');
  if (!token || !found || a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpAbort(403, 'CSRF token was invalid or missing.');
}
