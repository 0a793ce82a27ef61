/**
 * Request targets (RFC 9112 §3.2). Clients send origin-form (`/v2/...`), the
 * only form the owners are sent. A client set up as for a forward proxy sends
 * absolute-form (`GET http://registry.example.com/v2/... HTTP/1.1`), which a
 * server MUST accept, taking the host from the target and ignoring Host
 * (§3.2.2): such a request is rewritten, once, into the origin-form request it
 * stands for. `OPTIONS *` (asterisk-form) asks about the server itself and is
 * answered here, as Go's net/http does; any other target is a 400.
 *
 * Only requests whose target does not start with `/` come here: the common
 * path pays one character comparison.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeBadRequest } from './error-response.js';

/** Scheme, optional userinfo (dropped), authority. */
const ABSOLUTE_FORM = /^https?:\/\/(?:[^/?#@]*@)?([^/?#]*)/i;

/** True when the target is origin-form; cheap enough for every request. */
export function isOriginForm(req: IncomingMessage): boolean {
  return (req.url ?? '/').charCodeAt(0) === 47; /* / */
}

/**
 * Rewrites an absolute-form request in place: `req.url` becomes the path and
 * query (`/` when empty), and Host (in `rawHeaders`, which the forwarded
 * headers are built from, and `headers`) the target's authority. False, and
 * nothing changed, when the target is not absolute-form.
 */
export function toOriginForm(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const m = ABSOLUTE_FORM.exec(url);
  if (!m) return false;
  const rest = url.slice(m[0].length);
  req.url = rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  const authority = m[1] ?? '';
  if (authority) setHost(req, authority);
  return true;
}

/** One Host, with this value, where the first one was (or appended). */
function setHost(req: IncomingMessage, host: string): void {
  const raw = req.rawHeaders;
  let w = 0;
  let placed = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.toLowerCase() === 'host') {
      if (placed) continue;
      placed = true;
      raw[w++] = name;
      raw[w++] = host;
      continue;
    }
    raw[w++] = name;
    raw[w++] = raw[i + 1] as string;
  }
  raw.length = w;
  if (!placed) raw.push('Host', host);
  req.headers.host = host;
}

/** Answers a request whose target is neither origin- nor absolute-form; nothing is forwarded. */
export function answerOtherTarget(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  if (req.method === 'OPTIONS' && req.url === '*') {
    res.writeHead(200, ['content-length', '0']);
    res.end();
    return;
  }
  writeBadRequest(res, 'the request target must be a path (/v2/...) or an absolute URL (http://host/v2/...)');
}
