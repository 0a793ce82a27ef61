/** Response helpers shared by the /v2 handlers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../oci/errors.js';
import { lingerAfter } from '../../lib/http-linger.js';

/**
 * `Docker-Distribution-API-Version: registry/2.0`, which Quay sends on `GET
 * /v2/` and with every 401 challenge (auth/registry_jwt_auth.py
 * get_auth_headers), and nowhere else.
 */
export const API_VERSION_HEADER = ['docker-distribution-api-version', 'registry/2.0'] as const;

/** A response without a body (204s carry no Content-Length at all: RFC 9110 §8.6). */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, status === 204 ? headers : { ...headers, 'content-length': 0 });
  res.end();
}

export function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string | number> = {}, head = false): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

export function sendError(req: IncomingMessage, res: ServerResponse, e: RegistryError): void {
  if (res.headersSent) {
    res.destroy(e);
    return;
  }
  if (!req.complete) lingerAfter(req, res);
  const headers = e.status === 401 ? { [API_VERSION_HEADER[0]]: API_VERSION_HEADER[1], ...e.headers } : e.headers;
  if (e.emptyBody) {
    sendEmpty(res, e.status, headers);
    return;
  }
  if (e.abortBody) {
    // Quay's util/http.py abort(): `{"error": <message>}` as a text/html string body.
    const text = `{"error": ${JSON.stringify(e.message)}}`;
    res.writeHead(e.status, { 'content-type': 'text/html; charset=utf-8', ...headers, 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  sendJson(res, e.status, e.body(), headers, req.method === 'HEAD');
}

/** Read a small body (manifests) fully, refusing more than `max` bytes. */
export async function readBody(req: IncomingMessage, max: number, tooLarge: () => RegistryError): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) throw tooLarge();
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) throw tooLarge();
    parts.push(chunk);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
}

/** Query parameters of the request target (lazily: most requests have none). */
export function queryOf(url: string): URLSearchParams {
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}
