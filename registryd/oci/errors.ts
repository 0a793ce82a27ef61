/**
 * The /v2 wire vocabulary: OCI distribution error codes with the HTTP status
 * and message Quay answers them with (endpoints/v2/errors.py). Handlers throw
 * a RegistryError; the HTTP layer renders it as
 * `{"errors":[{"code","detail","message"}]}` (Quay's key order: sorted).
 *
 * These are wire codes, not the component's REG_ codes (errors.ts): clients
 * compare them, so they never change spelling.
 */
import { DomainError } from '../../domain/errors.js';

export const OCI_ERRORS = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  TAG_EXPIRED: { status: 404, message: 'Tag has expired' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  UNAUTHORIZED: { status: 401, message: 'access to the requested resource is not authorized' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'The operation is unsupported.' },
  INVALID_REQUEST: { status: 400, message: 'invalid request' },
  NAMESPACE_DISABLED: { status: 405, message: 'Namespace is disabled. Please contact your system administrator.' },
  UNAVAILABLE: { status: 503, message: 'the registry is unavailable' },
  /** The distribution spec's code for a client over a limit (Quay's own 429s come from its nginx rate limits). */
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  INTERNAL_ERROR: { status: 500, message: 'internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type OciErrorCode = keyof typeof OCI_ERRORS;

export class RegistryError extends Error {
  readonly code: OciErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers (e.g. `Range` on a 416). */
  readonly headers: Readonly<Record<string, string>>;
  /** Answer with headers only (416s: no body, as Quay and Distribution send them). */
  readonly emptyBody: boolean;
  /** The envelope's `message` (default: the code's standard text). */
  readonly wireMessage: string;
  /**
   * Answer as Quay's util/http.py abort() does rather than with the OCI
   * envelope: `{"error": <message>}` as text/html (its refusals of a bad
   * bearer token on /v2).
   */
  readonly abortBody: boolean;
  constructor(
    code: OciErrorCode,
    detailMessage?: string,
    opts: { detail?: unknown; status?: number; headers?: Record<string, string>; emptyBody?: boolean; wireMessage?: string; abortBody?: boolean } = {},
  ) {
    super(detailMessage ?? OCI_ERRORS[code].message);
    this.name = 'RegistryError';
    this.code = code;
    this.status = opts.status ?? OCI_ERRORS[code].status;
    this.detail = opts.detail ?? (detailMessage ? { message: detailMessage } : {});
    this.headers = opts.headers ?? {};
    this.emptyBody = opts.emptyBody ?? false;
    this.wireMessage = opts.wireMessage ?? OCI_ERRORS[code].message;
    this.abortBody = opts.abortBody ?? false;
  }

  /** The JSON body of the error response: keys sorted at every level, as Quay's Flask `jsonify` writes them. */
  body(): string {
    return JSON.stringify({ errors: [{ code: this.code, detail: sortKeys(this.detail), message: this.wireMessage }] });
  }
}

/** `v` with every object's keys in sorted order (Flask's JSON_SORT_KEYS). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
  );
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}

/** The OCI answer to a domain error, with the status and headers Quay's /v2 gives it. */
export function fromDomain(e: DomainError): RegistryError {
  const opts = { detail: e.detail, ...(e.publicMessage !== undefined ? { wireMessage: e.publicMessage } : {}) };
  switch (e.code) {
    case 'REPOSITORY_READ_ONLY':
      return new RegistryError('DENIED', e.message, opts);
    case 'BLOB_UPLOAD_RANGE_INVALID':
      return new RegistryError('BLOB_UPLOAD_INVALID', e.message, {
        ...opts,
        status: 416,
        emptyBody: true,
        headers: { range: `0-${e.facts.uploadedBytes}`, 'docker-upload-uuid': String(e.facts.uploadUuid) },
      });
    case 'BLOB_TOO_LARGE':
      return new RegistryError('BLOB_UPLOAD_INVALID', e.message, { ...opts, status: 413 });
    case 'MANIFEST_MEDIA_TYPE_UNSUPPORTED':
      return new RegistryError('MANIFEST_INVALID', e.message, { ...opts, status: 415 });
    case 'TOO_MANY_UPLOADS':
      return new RegistryError('TOOMANYREQUESTS', e.message, { ...opts, headers: { 'retry-after': String(Math.max(1, Math.ceil(Number(e.facts.retryAfterMs) / 1000))) } });
    default:
      return new RegistryError(e.code, e.message, opts);
  }
}

/** Any error a /v2 handler threw, as its OCI answer; null for one that is not the client's to see (a bug, a failing disk). */
export function toOci(e: unknown): RegistryError | null {
  if (e instanceof RegistryError) return e;
  if (e instanceof DomainError) return fromDomain(e);
  return null;
}
