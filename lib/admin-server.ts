/**
 * The admin listener both processes run (the switchboard's and the go
 * runtime's): GET/HEAD routes such as /metrics, /healthz and /readyz, answered
 * uncached, 405 for other methods, 404 naming the paths there are. A process
 * adds what is its own: `intercept` sees every request first (a Host
 * allow-list, a control plane), `guard` may refuse a route (credentials).
 */
import http, { type IncomingMessage } from 'node:http';

export type AdminSend = (status: number, type: string, body: string, headers?: Record<string, string>) => void;

/** Answers one path; `send` writes the response (no body for HEAD). */
export type AdminRoute = (req: IncomingMessage, send: AdminSend) => void;

export interface AdminServerOptions {
  readonly routes: Readonly<Record<string, AdminRoute>>;
  /** Runs first for every request and method; true when it answered. */
  readonly intercept?: (req: IncomingMessage, res: http.ServerResponse, path: string, send: AdminSend) => boolean;
  /** Refuses a GET/HEAD route: resolves with the refusal to send, or null to answer the route. */
  readonly guard?: (req: IncomingMessage, path: string) => Promise<((send: AdminSend) => void) | null> | null;
  /** The 404 body (a hint naming the paths there are). */
  readonly notFound: () => string;
}

export function createAdminServer(o: AdminServerOptions): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const send: AdminSend = (status, type, body, headers = {}) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (o.intercept?.(req, res, path, send)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'text/plain', 'method not allowed\n');
      return;
    }
    const route = Object.hasOwn(o.routes, path) ? o.routes[path] : undefined;
    if (!route) {
      send(404, 'text/plain', o.notFound());
      return;
    }
    const guarded = o.guard?.(req, path) ?? null;
    if (!guarded) {
      route(req, send);
      return;
    }
    guarded.then(
      (refuse) => {
        if (refuse) refuse(send);
        else route(req, send);
      },
      // Credentials that cannot be checked: refuse, never answer open.
      (e: unknown) => send(500, 'text/plain', `cannot check credentials: ${(e as Error).message}\n`),
    );
  });
}

/** /metrics from a prom-client registry. */
export function metricsRoute(registry: { metrics(): Promise<string>; readonly contentType: string }): AdminRoute {
  return (_req, send) => {
    registry.metrics().then(
      (text) => send(200, registry.contentType, text),
      (e: unknown) => send(500, 'text/plain', `metrics failed: ${String(e)}\n`),
    );
  };
}
