/**
 * One /api/v1 call as a handler sees it: the caller, the path parameters,
 * the query, and the services. Handlers return the JSON body of a 200 (or a
 * Reply for another status) and throw the wire errors of api/wire/errors.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/caller.js';
import type { ApiServices } from './services.js';
import { Abort, invalidRequest, unauthorized, type ApiProblem } from '../wire/errors.js';
import { parseArgs, type ParamSpec } from './params.js';

/** A non-200 answer with a JSON body (Quay's `return body, status`). */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** Quay's parse_namespace_repository for /api/v1 (no library fallback on a full path). */
export interface RepoPath {
  readonly namespace: string;
  readonly repository: string;
}

export class ApiCall {
  private parsedQuery: URLSearchParams | undefined;

  constructor(
    readonly svc: ApiServices,
    readonly req: IncomingMessage,
    readonly params: Readonly<Record<string, string>>,
    readonly caller: Caller,
    /** The request body of a write (null for GET and HEAD). */
    readonly body: Buffer | null = null,
  ) {}

  /**
   * Flask's request.get_json() for @validate_json_request: a JSON
   * Content-Type and a body that parses, else Werkzeug's 400 BadRequest;
   * JSON `null` is no body: Quay's "Missing JSON body".
   */
  json(): unknown {
    const type = (this.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const isJson = type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
    if (!isJson || !this.body) throw new Abort(400);
    let v: unknown;
    try {
      v = JSON.parse(this.body.toString('utf8'));
    } catch {
      throw new Abort(400);
    }
    if (v === null) throw invalidRequest('Missing JSON body');
    return v;
  }

  get query(): URLSearchParams {
    if (!this.parsedQuery) {
      const url = this.req.url ?? '/';
      const q = url.indexOf('?');
      this.parsedQuery = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    }
    return this.parsedQuery;
  }

  /** @parse_args over the @query_param specs (listed last decorator first). */
  args(specs: readonly ParamSpec[]): Record<string, unknown> {
    return parseArgs(this.query, specs);
  }

  /** Quay's Unauthorized for this caller: 401 anonymous, 403 signed in. */
  unauthorized(): ApiProblem {
    return unauthorized(this.caller.signedIn);
  }

  /**
   * parse_repository_name on the `repository` path parameter: `ns/name`
   * (rstrip'd of `/`, split once), or the library namespace for a bare name;
   * the name is then quote_plus'd with `/` safe, as Quay does.
   */
  repo(): RepoPath {
    const raw = this.params.repository ?? '';
    const parts = raw.replace(/\/+$/, '').split('/');
    const [namespace, repository] = parts.length < 2 ? [this.svc.settings.libraryNamespace, parts[0]!] : [parts[0]!, parts.slice(1).join('/')];
    return { namespace, repository: quotePlus(repository) };
  }

  /** flask abort(code) / flask_restful abort(code, message=…). */
  abort(status: number, message?: unknown): Abort {
    return new Abort(status, message);
  }
}

/** Python's urllib.parse.quote_plus(s, safe='/'). */
export function quotePlus(s: string): string {
  return encodeURIComponent(s)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+')
    .replace(/[!'()*~]/g, (c) => (c === '~' ? c : `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
}
