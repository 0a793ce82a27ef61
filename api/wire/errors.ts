/**
 * Quay's /api/v1 error answers, as its Flask app writes them. Four shapes
 * coexist in Quay and each is kept (api/notes/quay-api-auth.md §4.4):
 *
 *   ApiProblem   Quay's ApiException (endpoints/exception.py): payload keys,
 *                then detail, error_message, error_type, title, type (the
 *                /api/v1/error/<type> URL on the request's host), status.
 *   Abort        Flask-RESTful's / Werkzeug's abort: `{"message": ...}`.
 *   HttpAbort    Quay's util.http.abort: `{"error": msg}` with an
 *                " (authorized: …)" suffix naming the caller, sent as text/html.
 *   RawAnswer    anything else Quay answers as is (an HTML 404 page, a 410).
 *
 * Handlers throw these; the surface (api/http/surface.ts) renders them.
 */
export type ApiErrorType =
  | 'external_service_timeout'
  | 'invalid_request'
  | 'invalid_response'
  | 'invalid_token'
  | 'expired_token'
  | 'insufficient_scope'
  | 'fresh_login_required'
  | 'exceeds_license'
  | 'not_found'
  | 'downstream_issue'
  | 'tag_immutable'
  | 'token_rotation_failed';

/** Quay's ERROR_DESCRIPTION: what GET /api/v1/error/<type> describes. */
export const ERROR_DESCRIPTION: Readonly<Record<ApiErrorType, string>> = {
  external_service_timeout: 'An external service timed out. Retrying the request may resolve the issue.',
  invalid_request: 'The request was invalid. It may have contained invalid values or was improperly formatted.',
  invalid_response: 'The response was invalid.',
  invalid_token: 'The access token provided was invalid.',
  expired_token: 'The access token provided has expired.',
  insufficient_scope: 'The access token did not have sufficient scope to access the requested resource.',
  fresh_login_required: 'The action requires a fresh login to succeed.',
  exceeds_license: 'The action was refused because the current license does not allow it.',
  not_found: 'The resource was not found.',
  downstream_issue: 'An error occurred in a downstream service.',
  tag_immutable: 'The tag is immutable and cannot be modified or deleted.',
  token_rotation_failed: 'Token rotation failed.',
};

export type Payload = Readonly<Record<string, unknown>>;

/** Quay's ApiException: application/problem+json-like body. */
export class ApiProblem extends Error {
  constructor(
    readonly errorType: ApiErrorType,
    readonly status: number,
    readonly description: string | null,
    readonly payload: Payload = {},
  ) {
    super(description ?? errorType);
    this.name = 'ApiProblem';
  }
}

export const invalidRequest = (description: string, payload?: Payload): ApiProblem => new ApiProblem('invalid_request', 400, description, payload);
export const invalidResponse = (description: string, payload?: Payload): ApiProblem => new ApiProblem('invalid_response', 400, description, payload);
export const invalidToken = (description: string, payload?: Payload): ApiProblem => new ApiProblem('invalid_token', 401, description, payload);
export const notFound = (payload?: Payload): ApiProblem => new ApiProblem('not_found', 404, 'Not Found', payload);
export const freshLoginRequired = (): ApiProblem => new ApiProblem('fresh_login_required', 401, 'Requires fresh login');
export const downstreamIssue = (description: string): ApiProblem => new ApiProblem('downstream_issue', 520, description);

/**
 * Quay's Unauthorized: 401 invalid_token "Requires authentication" when no
 * user is signed in (or the "user" is an organisation), else 403
 * insufficient_scope "Unauthorized".
 */
export function unauthorized(signedIn: boolean): ApiProblem {
  return signedIn ? new ApiProblem('insufficient_scope', 403, 'Unauthorized') : new ApiProblem('invalid_token', 401, 'Requires authentication');
}

/** Werkzeug's standard descriptions, for `abort(code)` without a message. */
export const WERKZEUG_DESCRIPTION: Readonly<Record<number, string>> = {
  400: 'The browser (or proxy) sent a request that this server could not understand.',
  401: "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required.",
  403: "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.",
  404: 'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
  405: 'The method is not allowed for the requested URL.',
  410: 'The requested URL is no longer available on this server and there is no forwarding address. If you followed a link from an external site, please update your links.',
  500: 'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.',
  501: 'The server does not support the action requested by the browser.',
  503: 'The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.',
};

/** Flask-RESTful's abort(code, message=…) (or flask.abort(code)): `{"message": …}`. */
export class Abort extends Error {
  readonly body: Payload;
  constructor(
    readonly status: number,
    message?: unknown,
  ) {
    const m = message ?? WERKZEUG_DESCRIPTION[status] ?? '';
    super(typeof m === 'string' ? m : JSON.stringify(m));
    this.name = 'Abort';
    this.body = { message: m };
  }
}

/** Quay's util.http.abort: `{"error": message}` (+ the caller, unless `anonymousSuffix` is off), text/html. */
export class HttpAbort extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** False when Quay aborts before the auth context exists (require_xhr_from_browser): no "(authorized: …)". */
    readonly describeCaller = true,
  ) {
    super(message);
    this.name = 'HttpAbort';
  }
}

/**
 * Quay's DataModelException (data/model/__init__.py and its subclasses),
 * answered by the app's handler in endpoints/decorated.py: 400 with a
 * compact `{"message":"…"}` (jsonify's separators, unlike every other body).
 */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/** What gunicorn answers when an exception escapes Flask (Quay's 500s): text/html, no charset. */
export const GUNICORN_500_HTML =
  '<html>\n  <head>\n    <title>Internal Server Error</title>\n  </head>\n  <body>\n    <h1><p>Internal Server Error</p></h1>\n    \n  </body>\n</html>\n';

/** An answer sent exactly as given. */
export class RawAnswer extends Error {
  constructor(
    readonly status: number,
    readonly contentType: string,
    readonly text: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${status}`);
    this.name = 'RawAnswer';
  }
}
