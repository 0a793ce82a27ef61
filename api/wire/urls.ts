/**
 * External URLs as Flask's url_for(..., _external=True) builds them in Quay:
 * the request's scheme (X-Forwarded-Proto honoured, as Quay's ProxyFix
 * does) and its Host header.
 */
import type { IncomingMessage } from 'node:http';

export function externalBase(req: IncomingMessage, fallbackHost: string): string {
  const xfp = req.headers['x-forwarded-proto'];
  const proto = typeof xfp === 'string' ? xfp.split(',')[0]!.trim() : (req.socket as { encrypted?: boolean } | null)?.encrypted ? 'https' : 'http';
  return `${proto}://${req.headers.host ?? fallbackHost}`;
}

/** url_for("api.error", error_type=t, _external=True). */
export function errorTypeUrl(req: IncomingMessage, fallbackHost: string, type: string): string {
  return `${externalBase(req, fallbackHost)}/api/v1/error/${type}`;
}
