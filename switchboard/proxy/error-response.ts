/**
 * Errors the proxy itself answers, in the vocabulary of the family the client
 * speaks: OCI `{"errors": [...]}` on /v2, Quay's API error object on /api/v1,
 * plain text elsewhere. The owner that failed is named in X-Switchboard-Owner.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** not_configured: the owner has no upstream at all (SWITCHBOARD.UPSTREAMS leaves it out), which is no failure of the owner. */
/** overloaded: this process could not open a connection (out of descriptors), which is no failure of the owner either. */
export type UpstreamFailure = 'refused' | 'timeout' | 'reset' | 'unavailable' | 'not_configured' | 'overloaded';

export interface ProxyError {
  readonly status: number;
  readonly kind: UpstreamFailure;
  readonly message: string;
}

export function classifyUpstreamError(err: unknown): ProxyError {
  const code = (err as { code?: string }).code ?? '';
  const name = (err as { name?: string }).name ?? '';
  const msg = (err as Error).message ?? String(err);
  if (code === 'EMFILE' || code === 'ENFILE') {
    return { status: 503, kind: 'overloaded', message: `the switchboard is out of file descriptors (${code})` };
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'EAI_AGAIN') {
    return { status: 502, kind: 'refused', message: `connection refused (${code})` };
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT' || name === 'TimeoutError') {
    return { status: 504, kind: 'timeout', message: `timed out (${code || name})` };
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED') {
    return { status: 502, kind: 'reset', message: `connection reset (${code})` };
  }
  return { status: 502, kind: 'unavailable', message: msg };
}

/** The connection broke before any answer (reset, closed by the owner, or its pool closed under it): the owner may never have seen the request. */
export function isStaleConnection(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? '';
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED';
}

/**
 * undici refused to write the request as it stands (two Host headers, RFC
 * 9112 §3.2; a header value or path it will not send): the client's request
 * is at fault, and the owner never saw it, so no owner is charged.
 */
export function isUnsendable(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED';
}

/** A 400 from the proxy itself (no owner answered), closing the connection; `why` is safe to show. */
export function writeBadRequest(res: ServerResponse, why: string): void {
  const body = `bad request: ${why}\n`;
  res.writeHead(400, ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), 'connection', 'close']);
  res.end(body);
}

/**
 * 429 to an upload start from a client holding PIN_MAX_PER_CLIENT uploads in
 * progress, as the distribution spec's TOOMANYREQUESTS (Quay's own rate
 * limit answers 429 too); nothing was forwarded.
 */
export function writeTooManyUploads(res: ServerResponse, held: number): void {
  const body = JSON.stringify({
    errors: [
      {
        code: 'TOOMANYREQUESTS',
        message: 'too many requests',
        detail: { uploads_in_progress: held, limit_setting: 'SWITCHBOARD.PIN_MAX_PER_CLIENT', hint: 'finish or cancel (DELETE) uploads in progress first' },
      },
    ],
  });
  res.writeHead(429, [
    'content-type',
    'application/json',
    'content-length',
    String(Buffer.byteLength(body)),
    'retry-after',
    '60',
    'docker-distribution-api-version',
    'registry/2.0',
  ]);
  res.end(body);
}

export function writeProxyError(res: ServerResponse, family: string | null, owner: string, e: ProxyError, extraHeaders: readonly string[] = []): void {
  const text = e.kind === 'not_configured' ? e.message : `upstream ${owner} failed: ${e.message}`;
  let body: string;
  let type: string;
  if (family === 'REGISTRY_V2') {
    type = 'application/json';
    body = JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: text, detail: { owner, failure: e.kind } }] });
  } else if (family === 'API_V1') {
    type = 'application/json';
    const errorType = `upstream_${e.kind}`;
    body = JSON.stringify({ type: `/api/v1/error/${errorType}`, title: errorType, detail: text, status: e.status, error_message: text, error_type: errorType });
  } else {
    type = 'text/plain; charset=utf-8';
    body = text + '\n';
  }
  res.writeHead(e.status, ['content-type', type, 'content-length', String(Buffer.byteLength(body)), 'x-switchboard-owner', owner, 'x-switchboard-error', e.kind, ...extraHeaders]);
  res.end(body);
}

/** Node's parser errors with their own status (as Node's default answers); any other is a 400. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431, // header section over the server's maxHeaderSize
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408, // headersTimeout
};

/**
 * The server's 'clientError' listener: a request Node's parser refused, or a
 * timed-out header section. Answered with the matching status and a close,
 * unless a response on the connection has already started (the refused
 * request was pipelined behind it, or is its own malformed body): a status
 * line then would land inside that response, so the connection is dropped.
 * `end`, not `destroy`, otherwise: unread request bytes would turn the close
 * into a reset that can overtake the answer.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  // The response in flight on this socket: Node's own default makes the same check on this field.
  if ((socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? 400;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}
