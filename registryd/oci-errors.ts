/**
 * The /v2 wire vocabulary: OCI distribution error codes with the HTTP status
 * and message Quay answers them with (endpoints/v2/errors.py). Handlers throw
 * a RegistryError; the HTTP layer renders it as
 * `{"errors":[{"code","message","detail"}]}`.
 *
 * These are wire codes, not the component's REG_ codes (errors.ts): clients
 * compare them, so they never change spelling.
 */
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
  constructor(code: OciErrorCode, detailMessage?: string, opts: { detail?: unknown; status?: number; headers?: Record<string, string>; emptyBody?: boolean; wireMessage?: string; abortBody?: boolean } = {}) {
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

  /** The JSON body of the error response. */
  body(): string {
    return JSON.stringify({ errors: [{ code: this.code, message: this.wireMessage, detail: this.detail }] });
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}
