/**
 * The edge proxy (DESIGN §5). Per request:
 *
 *   snapshot = provider.current()          one snapshot for the whole request
 *   decision = decide(snapshot, request)   pure; upload pin looked up if the route has an upload uuid
 *   forward to UPSTREAMS[decision.owner]   undici Pool per upstream, bodies streamed both ways
 *
 * The pools follow the snapshots (upstream-pools.ts): a reload that changes an
 * upstream or UPSTREAM_TIMEOUT_SECONDS applies to the next request, and the
 * pool it supersedes closes once its requests in flight are done.
 *
 * A request is never sent to the other owner: an upstream failure becomes an
 * error in the family's own format. A client that disconnects aborts the
 * upstream request. The response to POST /v2/<repo>/blobs/uploads/ pins the
 * new upload session to its owner before the client sees it.
 *
 * Request shapes (RFC 9110/9112) handled before the decision: `Expect:
 * 100-continue` is answered here once the request is forwarded (never sent
 * on); a pipelined request waits for the responses before it; an
 * absolute-form target is rewritten to origin-form (request-target.ts).
 *
 * Hostile or broken clients (issue 14) cost the owners nothing: requests no
 * owner could take are refused at the edge (edge-checks.ts) and counted in
 * switchboard_edge_refusals_total, never as an owner's request or error; a
 * request body slower than REQUEST_BODY_MIN_BYTES_PER_SECOND is cut with a
 * 408; client connections are capped (MAX_CONNECTIONS), and each holds at
 * most one upstream connection, so the pools need no queue that slow clients
 * could fill; an `Upgrade` the proxy does not carry (h2c) is served as the
 * HTTP/1.1 request it also is.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import { util, type Pool } from 'undici';
import { decide } from '../core/decide.js';
import type { Snapshot } from '../core/snapshot.js';
import type { Decision, Owner } from '../core/types.js';
import { redactUrl, type Logger } from '../../lib/log.js';
import type { PinStore } from './pin-store.js';
import type { ProxyMetrics } from './metrics.js';
import type { AccessLog } from './access-log.js';
import { hasBody, requestHeaders, responseHeaders, responseHeadersRaw } from './headers.js';
import { Relay } from './relay.js';
import {
  answerClientError,
  classifyUpstreamError,
  isStaleConnection,
  isUnsendable,
  writeBadRequest,
  writeProxyError,
  writeTooManyUploads,
  type ProxyError,
} from './error-response.js';
import { answerOtherTarget } from './request-target.js';
import { blobLane, laneAvailable, type LaneProgress } from './blob-lane.js';
import { admit } from './edge-checks.js';
import { TrustedProxies } from './client-address.js';
import { specialRoutes, type SpecialRoutes } from './special-routes.js';
import { lingerAfter } from '../../lib/http-linger.js';
import { readFileSync } from 'node:fs';
import { UpstreamPools } from './upstream-pools.js';
import type { Shadow, ShadowTap } from './shadow.js';

export interface SnapshotSource {
  current(): Snapshot;
  /** Called with every snapshot installed after `current()`; returns an unsubscribe function. */
  onChange(fn: (s: Snapshot) => void): () => void;
}

export interface ProxyDeps {
  readonly snapshots: SnapshotSource;
  readonly pins: PinStore;
  readonly log: Logger;
  readonly accessLog: AccessLog;
  readonly metrics: ProxyMetrics | null;
  /** Serve HTTPS with this key and certificate (PEM); plain HTTP when absent. */
  readonly tls?: { readonly cert: string; readonly key: string } | null;
  /**
   * Upstreams of owners the config leaves unset, supplied by the process
   * itself: the embedded registry is the `go` owner of the quick start.
   * A URL in SWITCHBOARD.UPSTREAMS always wins.
   */
  readonly embedded?: Partial<Record<Owner, string>>;
  /** Shadow traffic (ROUTE_SHADOW_*): safe requests also sent to the other owner and compared. */
  readonly shadow?: Shadow | null;
}

/**
 * Aborts the upstream request when the client goes away. undici accepts any
 * object with `aborted`, `once('abort')` and `removeListener`; this one costs
 * far less per request than an AbortController.
 */
class ClientGone {
  aborted = false;
  private listener: (() => void) | null = null;
  once(_event: 'abort', fn: () => void): void {
    this.listener = fn;
  }
  on(_event: 'abort', fn: () => void): void {
    this.listener = fn;
  }
  removeListener(_event: 'abort', _fn: () => void): void {
    this.listener = null;
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const fn = this.listener;
    this.listener = null;
    fn?.();
  }
}

const NO_HEADERS: readonly string[] = Object.freeze([]);

/**
 * Largest request header section accepted (request line included); above it
 * a 431. Node's default is 16 KiB; this is the total nginx accepts by default
 * (large_client_header_buffers 4 8k), so a bearer token plus cookies that
 * pass the nginx edge pass this one.
 */
const MAX_HEADER_BYTES = 32 * 1024;

/**
 * MAX_CONNECTIONS: 0 means as many as the open-file limit allows: half of it
 * (a proxied request holds a client and an upstream descriptor), less a
 * reserve for files, logs and listeners.
 */
export function resolveMaxConnections(setting: number, limitsFile = '/proc/self/limits'): number {
  if (setting > 0) return setting;
  let soft = 4096;
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(limitsFile, 'utf8'));
    if (m) soft = m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
  } catch {
    /* not Linux: Node's usual limit */
  }
  return Math.max(64, Math.floor((soft - 256) / 2));
}

/** Answers an upgrade request the proxy will not carry through, and closes the connection. */
function endUpgrade(socket: Duplex, status: number, body: string, headerLines: readonly string[] = []): void {
  const head = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, 'connection: close', ...headerLines, `content-length: ${Buffer.byteLength(body)}`];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** Pipelined requests waiting for their turn, per client connection (holdReading). */
const waitingOn = new WeakMap<Duplex, number>();

/**
 * Stops reading `conn` while a pipelined request on it waits for the responses
 * before it; the returned function ends this one's wait. A waiting request
 * writes nothing, so Node's own back-pressure (on queued response bytes) never
 * pauses the connection, and its parser resumes reading after every request
 * it completes: without this, a client could queue requests without bound
 * behind one slow response. Any resume while a request waits (Node's parser,
 * a drain) is undone at once, in the same tick, before anything is read.
 */
function holdReading(conn: Duplex): () => void {
  if (!waitingOn.has(conn)) {
    conn.on('resume', () => {
      if ((waitingOn.get(conn) ?? 0) > 0) conn.pause();
    });
  }
  waitingOn.set(conn, (waitingOn.get(conn) ?? 0) + 1);
  conn.pause();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (waitingOn.get(conn) ?? 1) - 1;
    waitingOn.set(conn, n);
    if (n === 0) conn.resume();
  };
}

export interface UpstreamHealth {
  url: string;
  requests: number;
  errors: number;
  consecutive_errors: number;
  last_success_at: string | null;
  last_error: { at: string; kind: string; message: string } | null;
}

interface HealthCounters {
  requests: number;
  errors: number;
  consecutive_errors: number;
  /** ms since epoch; formatted only when /status asks (a Date per request costs). */
  last_success_ms: number;
  last_error: { at: string; kind: string; message: string } | null;
}

export class SwitchboardProxy {
  readonly server: http.Server;
  private readonly pools = new UpstreamPools();
  private readonly unfollow: () => void;
  private readonly health: Record<Owner, HealthCounters> = {
    python: { requests: 0, errors: 0, consecutive_errors: 0, last_success_ms: 0, last_error: null },
    go: { requests: 0, errors: 0, consecutive_errors: 0, last_success_ms: 0, last_error: null },
  };
  private inflightCount = 0;
  /** Spliced upgrade (WebSocket) connections: a drain ends them after its grace period. */
  private readonly upgraded = new Set<Duplex>();
  private draining = false;
  private readonly proto: 'http' | 'https';
  private drainWaiters: (() => void)[] = [];
  /** The client connections held at most (MAX_CONNECTIONS, resolved at start). */
  readonly maxConnections: number;
  private lastDropWarning = 0;
  private trustCache: { settings: Snapshot['settings']; trust: TrustedProxies } | null = null;

  /** The blob GET and upload start rows, found by capability (special-routes.ts). */
  private readonly special: SpecialRoutes;

  constructor(private readonly deps: ProxyDeps) {
    this.special = specialRoutes(deps.snapshots.current().owner_map.inventory);
    // requestTimeout stays 0 (a multi-GiB upload takes as long as it takes); a stalled body is cut by watchBody.
    const opts = { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000, maxHeaderSize: MAX_HEADER_BYTES };
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res, false);
    this.server = deps.tls ? https.createServer({ ...opts, cert: deps.tls.cert, key: deps.tls.key }, onRequest) : http.createServer(opts, onRequest);
    this.proto = deps.tls ? 'https' : 'http';
    // An HTTP/1.1 `Expect: 100-continue` (curl over 1 MiB, docker): the 100 goes out once the
    // request is forwarded, so a refusal (no upstream) costs the client no body. Any other
    // expectation gets a 417 (below).
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res, true));
    this.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      // An expectation other than 100-continue: 417 (RFC 9110 §10.1.1), as Node's default, but counted.
      this.deps.metrics?.refused('bad_expectation');
      req.resume();
      res.writeHead(417, ['content-length', '0', 'connection', 'close']);
      res.end();
    });
    this.server.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      // A client that hung up (ECONNRESET, EPIPE) sent nothing to refuse.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') this.deps.metrics?.refused('malformed');
      answerClientError(err, socket);
    });
    this.followSnapshot(deps.snapshots.current());
    this.unfollow = deps.snapshots.onChange((s) => this.followSnapshot(s));
    this.maxConnections = resolveMaxConnections(deps.snapshots.current().settings.MAX_CONNECTIONS ?? 0);
    this.server.maxConnections = this.maxConnections;
    // Node closes a connection over the cap as it arrives ('drop'); say so, at most every 10 s.
    this.server.on('drop', (data?: { remoteAddress?: string }) => {
      this.deps.metrics?.refused('too_many_connections');
      const now = Date.now();
      if (now - this.lastDropWarning < 10_000) return;
      this.lastDropWarning = now;
      this.deps.log.warn('connection refused: MAX_CONNECTIONS reached', { max_connections: this.maxConnections, client: data?.remoteAddress ?? null });
    });
  }

  /** SWITCHBOARD.TRUSTED_PROXIES of this snapshot (built once per settings object). */
  private trust(s: Snapshot): TrustedProxies {
    const c = this.trustCache;
    if (c !== null && c.settings === s.settings) return c.trust;
    const trust = new TrustedProxies(s.settings.TRUSTED_PROXIES ?? []);
    this.trustCache = { settings: s.settings, trust };
    return trust;
  }

  /** The client's address: the peer's, or from X-Forwarded-For when the peer is a trusted proxy. */
  private clientOf(s: Snapshot, req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    const trust = this.trust(s);
    return trust.size === 0 ? peer : trust.clientOf(peer, req.headers['x-forwarded-for']);
  }

  /** Where an owner's requests go: SWITCHBOARD.UPSTREAMS, else an embedded upstream of this process. */
  private upstreamOf(s: Snapshot, owner: Owner): string | undefined {
    return s.settings.UPSTREAMS?.[owner] ?? this.deps.embedded?.[owner];
  }

  get inflight(): number {
    return this.inflightCount;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  upstreamHealth(): Record<Owner, UpstreamHealth> {
    const s = this.deps.snapshots.current();
    const view = (o: Owner): UpstreamHealth => {
      const h = this.health[o];
      return {
        url: redactUrl(this.upstreamOf(s, o) ?? ''),
        requests: h.requests,
        errors: h.errors,
        consecutive_errors: h.consecutive_errors,
        last_success_at: h.last_success_ms ? new Date(h.last_success_ms).toISOString() : null,
        last_error: h.last_error,
      };
    };
    return { python: view('python'), go: view('go') };
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host, port });
      });
    });
  }

  /** The pools follow the snapshot `s`: one it no longer uses closes once its requests in flight finish. */
  private followSnapshot(s: Snapshot): void {
    this.deps.shadow?.follow(s);
    const retired = this.pools.update([this.upstreamOf(s, 'python'), this.upstreamOf(s, 'go')], s.settings.UPSTREAM_TIMEOUT_SECONDS * 1000);
    if (retired.length > 0) {
      this.deps.log.info('upstream connections superseded: closing once their requests in flight finish', {
        upstreams: retired.map((u) => redactUrl(u)),
        snapshot_version: s.version,
      });
    }
  }

  /** Where a request decided on `s` goes to `url`; dispatch on it in the same tick (UpstreamPools.get). */
  private pool(s: Snapshot, url: string): Pool {
    return this.pools.get(url, s.settings.UPSTREAM_TIMEOUT_SECONDS * 1000);
  }

  private decideRequest(s: Snapshot, req: IncomingMessage, client: string, pin?: Owner): Decision {
    return decide(s, {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authorization: req.headers.authorization,
      clientAddress: client,
      uploadPin: pin,
    });
  }

  /** `expectsContinue`: the client waits for a 100 before it sends the body (see forward). */
  private handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    // Pipelined behind a response still in flight on this connection (Node gives this one
    // no socket yet): wait for it, so a commit PUT never reaches an owner before its PATCH
    // was answered (RFC 9112 §9.3.2). Responses leave in order either way.
    if (res.socket === null) {
      const release = holdReading(req.socket);
      res.once('socket', () => {
        release();
        this.handle(req, res, expectsContinue);
      });
      return;
    }
    const verdict = admit(req);
    if (verdict !== null) {
      // Answered at the edge: no owner decided, contacted or charged.
      this.deps.metrics?.refused(verdict.reason);
      if (verdict.reason === 'bad_target') answerOtherTarget(req, res);
      else {
        req.resume();
        writeBadRequest(res, verdict.why);
      }
      return;
    }
    const started = performance.now();
    const s = this.deps.snapshots.current();
    const client = this.clientOf(s, req);
    const d = this.decideRequest(s, req, client);
    const uuid = d.params.upload_uuid;
    if (d.route_id === this.special.uploadStart && s.settings.PIN_UPLOADS && !s.hard_failure) {
      const held = this.deps.pins.heldBy(client);
      if (held !== null && held >= s.settings.PIN_MAX_PER_CLIENT) {
        this.deps.metrics?.refused('too_many_uploads');
        req.resume();
        writeTooManyUploads(res, held);
        return;
      }
    }
    if (uuid === undefined || d.reason === 'force_python' || d.reason === 'hard_failure' || !s.settings.PIN_UPLOADS) {
      this.forward(req, res, s, d, started, expectsContinue, client);
      return;
    }
    let pin: Owner | null | Promise<Owner | null>;
    try {
      pin = this.deps.pins.get(uuid);
    } catch (e) {
      pin = Promise.reject(e);
    }
    if (pin === null) {
      this.forward(req, res, s, d, started, expectsContinue, client);
      return;
    }
    if (typeof pin === 'string') {
      this.forward(req, res, s, this.decideRequest(s, req, client, pin), started, expectsContinue, client);
      return;
    }
    req.pause();
    // The client may leave while the pin store answers: then nothing is forwarded.
    let gone = false;
    const onGone = (): void => {
      gone = true;
    };
    res.once('close', onGone);
    pin.then(
      (p) => {
        res.off('close', onGone);
        if (gone) return;
        this.forward(req, res, s, p ? this.decideRequest(s, req, client, p) : d, started, expectsContinue, client);
      },
      (e: unknown) => {
        res.off('close', onGone);
        if (gone) return;
        // The pin store is down: follow the switches, and say so.
        this.deps.log.error('upload pin lookup failed; following the switches', { upload_uuid: uuid, error: String(e) });
        this.forward(req, res, s, d, started, expectsContinue, client);
      },
    );
  }

  private debugHeaders(s: Snapshot, d: Decision): readonly string[] {
    if (!s.settings.DEBUG_HEADERS) return NO_HEADERS;
    return ['x-switchboard-owner', d.owner, 'x-switchboard-snapshot', String(s.version), 'x-switchboard-reason', d.reason, 'x-switchboard-route', d.route_id ?? 'none'];
  }

  private forward(req: IncomingMessage, res: ServerResponse, s: Snapshot, d: Decision, started: number, expectsContinue: boolean, client: string): void {
    this.inflightCount++;
    this.deps.metrics?.decision(d);
    const owner = d.owner;
    const url = this.upstreamOf(s, owner);
    const sock = req.socket;
    // The socket's byte counters (a getter that walks its write queue) only for the access log.
    const logged = this.deps.accessLog.enabled;
    const sent0 = logged ? sock.bytesWritten : 0;
    const read0 = logged ? sock.bytesRead : 0;
    let failure: string | undefined;
    /** Body bytes the blob lane's worker wrote (the socket's own counter does not see them). */
    const lane: LaneProgress = { relayed: 0 };
    const ac = new ClientGone();
    res.once('close', () => {
      if (!res.writableFinished) {
        ac.abort();
        failure ??= 'client_abort';
      }
      // Also when the blob lane saw the client go first.
      if (failure === 'client_abort') this.deps.metrics?.clientAbort(owner, d.family, d.capability);
      const ms = performance.now() - started;
      // A request the owner never saw, or one cut for its client's slowness, says nothing about the owner's latency.
      if (failure !== 'bad_request' && failure !== 'body_timeout') this.deps.metrics?.upstreamDone(d, ms / 1000);
      // An owner's own 5xx answer (the proxy's 502/504 are counted as upstream errors, with a failure).
      if (failure === undefined && res.statusCode >= 500 && res.headersSent) this.deps.metrics?.serverError(owner, d.family, d.capability);
      if (logged) {
        this.deps.accessLog.write({
          time: new Date().toISOString(),
          method: req.method ?? '',
          path: req.url ?? '',
          route_id: d.route_id,
          capability: d.capability,
          family: d.family,
          owner,
          reason: d.reason,
          snapshot_version: s.version,
          // Never answered: 499 (nginx's "client closed request") when the client left, else 0.
          status: res.headersSent ? res.statusCode : failure === 'client_abort' ? 499 : 0,
          bytes_sent: sock.bytesWritten - sent0 + lane.relayed,
          bytes_received: sock.bytesRead - read0,
          duration_ms: Math.round(ms * 1000) / 1000,
          client,
          ...(failure ? { error: failure } : {}),
        });
      }
      this.inflightCount--;
      if (this.inflightCount === 0 && this.draining) for (const w of this.drainWaiters.splice(0)) w();
    });
    if (!url) {
      failure = 'no_upstream';
      // Not a failure of the owner: nobody configured where it lives (yet). 503, naming the key to set.
      this.fail(req, res, s, d, { status: 503, kind: 'not_configured', message: `owner ${owner} has no upstream: set SWITCHBOARD.UPSTREAMS.${owner}` });
      return;
    }
    const peer = sock.remoteAddress ?? '';
    const headers = requestHeaders(req.rawHeaders, { clientAddress: peer, proto: this.proto, trusted: this.trust(s).has(peer) });
    // undici destroys a stream body it stops reading (an owner that answered before reading it
    // all), which would reset the client's connection under a client still writing, and lose
    // the owner's answer: it gets an iterator that leaves the request alone, and what is left
    // is read and thrown away once the answer went out (lingerAfter).
    const body = hasBody(req.headers) ? (req.iterator({ destroyOnReturn: false }) as unknown as Readable) : null;
    if (body !== null) {
      lingerAfter(req, res);
      this.watchBody(req, res, s, ac, () => {
        failure = 'body_timeout';
        this.deps.metrics?.refused('body_timeout');
      });
    }
    const opts = { path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers, body };
    // Shadowing (off unless ROUTE_SHADOW_* says so: one identity check per request).
    const tap = body === null && this.deps.shadow?.wants(s, d, opts.method) ? this.startShadow(s, d, res, opts) : null;
    const h = this.health[owner];
    h.requests++;
    // The request goes to its owner: now the client may send the body.
    if (expectsContinue) res.writeContinue();
    /** The owner failed this request: its health, the error metric and one warn line. */
    const ownerFailed = (kind: string, healthMessage: string, logMessage: string, responseStarted: boolean): void => {
      h.errors++;
      h.consecutive_errors++;
      h.last_error = { at: new Date().toISOString(), kind, message: healthMessage };
      this.deps.metrics?.upstreamError(owner, d.family, kind, d.capability);
      this.deps.log.warn('upstream request failed', {
        owner,
        upstream: redactUrl(url),
        method: req.method,
        path: req.url,
        route_id: d.route_id,
        family: d.family,
        snapshot_version: s.version,
        failure: kind,
        error: logMessage,
        response_started: responseStarted,
      });
    };
    const onError = (err: unknown): void => {
      if (ac.aborted) return; // the client left; nothing to answer
      if (isUnsendable(err) && !res.headersSent) {
        failure = 'bad_request';
        req.resume();
        writeBadRequest(res, (err as Error).message);
        return;
      }
      const e = classifyUpstreamError(err);
      failure = e.kind;
      if (e.kind === 'overloaded') {
        // This process ran out of descriptors: not the owner's failure.
        this.deps.metrics?.refused('overloaded');
        this.deps.log.error('no file descriptor for an upstream connection; lower SWITCHBOARD.MAX_CONNECTIONS or raise the open-file limit', {
          owner,
          max_connections: this.maxConnections,
          error: e.message,
        });
        if (res.headersSent) res.destroy(err as Error);
        else this.fail(req, res, s, d, e);
        return;
      }
      ownerFailed(e.kind, e.message, e.message, res.headersSent);
      if (res.headersSent) res.destroy(err as Error);
      else this.fail(req, res, s, d, e);
    };
    const ok = (): void => {
      h.consecutive_errors = 0;
      h.last_success_ms = Date.now();
    };

    if (d.route_id === this.special.uploadStart && !s.hard_failure && s.settings.PIN_UPLOADS) {
      // Buffer only the (tiny) upload-start response, so the pin is stored
      // before the client can send its first PATCH.
      this.pool(s, url)
        .request({ ...opts, signal: ac as unknown as AbortSignal })
        .then(async (r) => {
          ok();
          if (r.statusCode === 202) await this.pinUpload(r.headers, owner, s, d, client);
          const out = responseHeaders(r.headers);
          if (s.settings.DEBUG_HEADERS) out.push(...this.debugHeaders(s, d));
          if (this.draining) out.push('connection', 'close');
          res.writeHead(r.statusCode, out);
          for await (const chunk of r.body) res.write(chunk);
          res.end();
        })
        .catch(onError);
      return;
    }
    // A kept-alive upstream connection the owner closed as it was reused (gunicorn drops idle ones
    // after 2 s, without a Keep-Alive hint): a request that could not have been seen, having got no
    // answer and carrying no body, is sent once more on a fresh connection, as nginx's
    // proxy_next_upstream does for idempotent requests.
    let replayed = false;
    const replayable = body === null && (req.method === 'GET' || req.method === 'HEAD');
    const onPoolError = (err: unknown): void => {
      if (!replayed && replayable && !ac.aborted && !res.headersSent && isStaleConnection(err)) {
        replayed = true;
        this.deps.metrics?.upstreamRetry(owner, d.family, d.capability);
        // Not from inside undici's error callback: once the pool has let go of the broken connection.
        queueMicrotask(viaPool);
        return;
      }
      onError(err);
    };
    /** The response head from the owner's: written by the relay. */
    const head = (statusCode: number, raw: Buffer[]): string[] => {
      ok();
      if (tap !== null) tap.head(statusCode, util.parseHeaders(raw) as Record<string, string | string[]>);
      if (d.params.upload_uuid !== undefined && ((statusCode === 201 && req.method === 'PUT') || (statusCode === 204 && req.method === 'DELETE'))) {
        this.unpin(d.params.upload_uuid);
      }
      const out = responseHeadersRaw(raw);
      if (s.settings.DEBUG_HEADERS) out.push(...this.debugHeaders(s, d));
      // Draining: this connection takes no further request (decided when the headers go out).
      if (this.draining) out.push('connection', 'close');
      return out;
    };
    const viaPool = (): void => {
      // The pool is taken here: after a blob-lane attempt, the snapshot may no longer be in force.
      this.pool(s, url).dispatch(opts, new Relay(res, ac, head, onPoolError, tap));
    };
    if (d.route_id === this.special.blobGet && req.method === 'GET' && tap === null && laneAvailable(res, url)) {
      const extra = [...this.debugHeaders(s, d), ...(this.draining ? ['connection', 'close'] : [])];
      const broken = (kind: 'client_abort' | 'reset'): void => {
        failure = kind;
        if (kind === 'reset') ownerFailed(kind, 'upstream connection broke during the blob body', 'connection broke during the body', true);
      };
      blobLane(req, res, url, headers, s.settings.UPSTREAM_TIMEOUT_SECONDS * 1000, extra, broken, lane).then((r) => {
        if (r === null) {
          viaPool();
          return;
        }
        if (r.failure !== 'reset') ok();
      }, onError);
      return;
    }
    viaPool();
  }

  /**
   * Starts the shadow request to the other owner; the relay feeds the tap this
   * response's head and body chunks, and its close says whether it completed.
   * Null when the other owner has no upstream.
   */
  private startShadow(s: Snapshot, d: Decision, res: ServerResponse, opts: { path: string; method: string; headers: readonly string[] }): ShadowTap | null {
    const other: Owner = d.owner === 'python' ? 'go' : 'python';
    const url = this.upstreamOf(s, other);
    if (!url) return null;
    const tap = this.deps.shadow!.start(s, d, this.pool(s, url), other, opts);
    res.once('close', () => tap.done(res.writableFinished));
    return tap;
  }

  /**
   * Watches a request body while it is forwarded: each window of
   * REQUEST_BODY_TIMEOUT_SECONDS must bring REQUEST_BODY_MIN_BYTES_PER_SECOND
   * × the window (at least one byte) unless the proxy itself stopped reading
   * (the owner is slower than the client: not the client's fault). A slower
   * body aborts the upstream request and gets 408, or a cut connection when
   * the owner has already answered.
   */
  private watchBody(req: IncomingMessage, res: ServerResponse, s: Snapshot, ac: ClientGone, onTimeout: () => void): void {
    const windowMs = s.settings.REQUEST_BODY_TIMEOUT_SECONDS * 1000;
    const need = Math.max(1, Math.floor(s.settings.REQUEST_BODY_MIN_BYTES_PER_SECOND * s.settings.REQUEST_BODY_TIMEOUT_SECONDS));
    const sock = req.socket;
    let seen = sock.bytesRead;
    const timer = setInterval(() => {
      if (req.complete || res.writableEnded || sock.destroyed) {
        clearInterval(timer);
        return;
      }
      const got = sock.bytesRead - seen;
      seen = sock.bytesRead;
      // Bytes wait for the owner's side to take them: the proxy, not the client, is slow.
      if (req.readableLength > 0) return;
      if (got >= need) return;
      clearInterval(timer);
      onTimeout();
      if (res.headersSent) {
        ac.abort();
        res.destroy();
        return;
      }
      // The answer first: aborting the upstream request destroys the body stream, and with it the connection.
      res.once('finish', () => ac.abort());
      const body = `request body too slow: under ${need} bytes in ${s.settings.REQUEST_BODY_TIMEOUT_SECONDS} s (SWITCHBOARD.REQUEST_BODY_MIN_BYTES_PER_SECOND)\n`;
      res.writeHead(408, ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), 'connection', 'close']);
      res.end(body);
    }, windowMs);
    timer.unref();
    req.once('end', () => clearInterval(timer));
    res.once('close', () => clearInterval(timer));
  }

  private unpin(uuid: string): void {
    try {
      const r = this.deps.pins.delete(uuid);
      if (r instanceof Promise)
        r.catch((e: unknown) => this.deps.log.warn("could not remove a finished upload's pin; it expires on its own", { upload_uuid: uuid, error: String(e) }));
    } catch (e) {
      this.deps.log.warn("could not remove a finished upload's pin; it expires on its own", { upload_uuid: uuid, error: String(e) });
    }
  }

  private async pinUpload(headers: Record<string, string | string[] | undefined>, owner: Owner, s: Snapshot, d: Decision, client: string): Promise<void> {
    let uuid = headers['docker-upload-uuid'];
    if (Array.isArray(uuid)) uuid = uuid[0];
    if (!uuid) {
      const loc = headers.location;
      const m = /\/blobs\/uploads\/([^/?#]+)/.exec(Array.isArray(loc) ? (loc[0] ?? '') : (loc ?? ''));
      uuid = m?.[1];
    }
    if (!uuid) {
      this.deps.log.warn('upload started without an upload uuid; not pinned', { owner, route_id: d.route_id });
      return;
    }
    try {
      await this.deps.pins.set(uuid, owner, s.settings.PIN_TTL_SECONDS, client);
      this.deps.metrics?.pinRecorded(owner);
    } catch (e) {
      this.deps.log.error('could not record upload pin; later chunks follow the switches', { upload_uuid: uuid, owner, error: String(e) });
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, s: Snapshot, d: Decision, e: ProxyError): void {
    // Drain the request body so the connection can be reused (or closed cleanly).
    req.resume();
    const extra = this.debugHeaders(s, d).slice(2);
    writeProxyError(res, d.family, d.owner, e, this.draining ? [...extra, 'connection', 'close'] : extra);
  }

  /** WebSocket and other upgrades (the realtime family): decided like any request, then spliced. */
  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!/(^|[\s,])websocket($|[\s,/])/i.test(req.headers.upgrade ?? '')) {
      this.asPlainRequest(req, socket, head);
      return;
    }
    const verdict = admit(req);
    if (verdict !== null) {
      this.deps.metrics?.refused(verdict.reason);
      if (verdict.reason === 'bad_target') endUpgrade(socket, 400, '');
      else endUpgrade(socket, 400, `bad request: ${verdict.why}\n`, ['content-type: text/plain']);
      return;
    }
    const s = this.deps.snapshots.current();
    const d = this.decideRequest(s, req, this.clientOf(s, req));
    this.deps.metrics?.decision(d);
    const url = this.upstreamOf(s, d.owner);
    const refuse = (status: number, msg: string): void => endUpgrade(socket, status, msg, [`x-switchboard-owner: ${d.owner}`]);
    if (!url) {
      refuse(503, `owner ${d.owner} has no upstream: set SWITCHBOARD.UPSTREAMS.${d.owner}`);
      return;
    }
    const raw: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const n = (req.rawHeaders[i] as string).toLowerCase();
      if (n === 'connection' || n === 'upgrade') continue;
      raw.push(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
    }
    const peer = req.socket.remoteAddress ?? '';
    const headers = requestHeaders(raw, { clientAddress: peer, proto: this.proto, trusted: this.trust(s).has(peer) });
    this.pool(s, url)
      .upgrade({ path: req.url ?? '/', method: req.method ?? 'GET', headers, protocol: req.headers.upgrade ?? 'websocket' })
      .then(({ headers: uh, socket: upstream }) => {
        const lines = ['HTTP/1.1 101 Switching Protocols'];
        for (const [k, v] of Object.entries(uh)) for (const x of Array.isArray(v) ? v : [v]) if (x !== undefined) lines.push(`${k}: ${x}`);
        socket.write(lines.join('\r\n') + '\r\n\r\n');
        if (head.length) upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
        this.upgraded.add(socket);
        const end = (): void => {
          this.upgraded.delete(socket);
          upstream.destroy();
          socket.destroy();
        };
        upstream.on('error', end);
        socket.on('error', end);
        upstream.on('close', end);
        socket.on('close', end);
      })
      .catch((err: unknown) => {
        if (isUnsendable(err)) {
          refuse(400, `bad request: ${(err as Error).message}`);
          return;
        }
        const e = classifyUpstreamError(err);
        this.deps.metrics?.upstreamError(d.owner, d.family, e.kind, d.capability);
        this.deps.log.warn('upstream upgrade failed', { owner: d.owner, path: req.url, failure: e.kind, error: e.message });
        refuse(e.status, `upstream ${d.owner} failed: ${e.message}`);
      });
  }

  /**
   * An upgrade the proxy does not carry (`Upgrade: h2c` from `curl --http2`,
   * RFC 9110 §7.8: the server may ignore it) is the HTTP/1.1 request it also
   * is. Node has already taken the connection away from its HTTP parser: the
   * request head is written back, without the upgrade, in front of what the
   * client sent after it, and the connection handed to the server again, to
   * be parsed and answered (and kept alive) like any other.
   */
  private asPlainRequest(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const lower = name.toLowerCase();
      if (lower === 'upgrade' || lower === 'http2-settings') continue;
      let value = raw[i + 1] as string;
      if (lower === 'connection') {
        value = value
          .split(',')
          .map((t) => t.trim())
          .filter((t) => t !== '' && !/^(upgrade|http2-settings)$/i.test(t))
          .join(', ');
        if (value === '') continue;
      }
      text += `${name}: ${value}\r\n`;
    }
    const bytes = Buffer.from(`${text}\r\n`, 'latin1');
    socket.unshift(head.length ? Buffer.concat([bytes, head]) : bytes);
    // Parse from the stream (where the unshifted bytes are), not from the handle underneath it.
    const handle = (socket as { _handle?: { _consumed?: boolean } | null })._handle;
    if (handle) handle._consumed = true;
    this.server.emit(this.deps.tls ? 'secureConnection' : 'connection', socket);
  }

  /**
   * Graceful stop: refuse new connections, let in-flight requests finish (up to
   * `timeoutMs`), then close what is left and the upstream pools.
   */
  async drain(timeoutMs: number): Promise<{ forced: number; upgrades: number }> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    let forced = 0;
    if (this.inflightCount > 0) {
      const done = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      if ((await Promise.race([done, timeout])) === 'timeout') forced = this.inflightCount;
      clearTimeout(timer);
    }
    this.server.closeAllConnections();
    // Long-lived upgrades are not requests: they end once the grace period is over.
    const upgrades = this.upgraded.size;
    for (const sock of this.upgraded) sock.destroy();
    this.upgraded.clear();
    await closed;
    this.unfollow();
    await this.pools.close();
    return { forced, upgrades };
  }
}
