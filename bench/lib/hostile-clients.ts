/**
 * Hostile clients for the soak (bench/soak.ts, test/e2e/hardening-soak.test.ts):
 *
 *   malformed requests   MALFORMED, a table of raw requests an edge must answer
 *                        itself, each sent on its own socket (sendRaw, startMalformedLoop)
 *   slow bodies          startSlowBodies: Content-Length 1 MiB, then one byte every 5 s
 *   login floods         startLoginFlood: wrong credentials, many at once, from
 *                        several loopback source addresses (127.0.0.N)
 *
 * Every malformed request carries `X-Soak-Probe: <case name>` and every slow
 * body `X-Soak-Slow: <n>`, so an upstream that records its requests can tell
 * what leaked past the edge. None of these clients judges anything: they count
 * what they got, and the caller decides what that means.
 */
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';

// ---------------------------------------------------------------- malformed requests

/** What the edge must do with a case: answer it itself (no owner sees it), or send on only a well-formed rewrite of it. */
export type MalformedKind = 'refused' | 'forwarded';

export interface MalformedCase {
  readonly name: string;
  readonly kind: MalformedKind;
  /** Request line and header lines as sent (CRLF-joined, then an empty line); `X-Soak-Probe` and `Connection: close` are added. */
  readonly head: readonly string[];
  readonly body?: string;
  /** Statuses the client may get (the edge's, or for `forwarded` the owner's); 0 is "closed without an answer". */
  readonly statuses: readonly number[];
  /** For `forwarded`: what an owner may see of it — this target and Host, and none of `without`'s headers. */
  readonly forwardedAs?: { readonly url: string; readonly host: string; readonly without?: readonly string[] };
}

const HOST = 'Host: registry.example.com';
const MANIFEST = '/v2/acme/app/manifests/latest';

/**
 * The malformed and hostile request shapes. `refused` ones must be answered by
 * the edge with one of `statuses` and reach no owner. `forwarded` ones are
 * requests a server must (absolute-form, RFC 9112 §3.2.2) or may (an h2c
 * Upgrade it ignores, RFC 9110 §7.8) take: an owner may see them only as the
 * plain origin-form request they stand for.
 */
export const MALFORMED: readonly MalformedCase[] = [
  { name: 'duplicate-host', kind: 'refused', head: [`GET ${MANIFEST} HTTP/1.1`, HOST, 'Host: evil.example.com'], statuses: [400] },
  // RFC 9110 §9.3.7: OPTIONS * asks about the server itself; the edge answers it (as Go's net/http) or refuses it.
  { name: 'options-asterisk', kind: 'refused', head: ['OPTIONS * HTTP/1.1', HOST], statuses: [200, 204, 400, 405] },
  // h2c smuggling: an edge that relays the upgrade hands the client a raw HTTP/2 channel to the owner. Refused,
  // or served as the HTTP/1.1 GET it also is (the switchboard's choice, as nginx's): never a 101, never an upgrade upstream.
  {
    name: 'upgrade-h2c',
    kind: 'forwarded',
    statuses: [200, 400],
    head: ['GET /v2/ HTTP/1.1', HOST, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'],
    forwardedAs: { url: '/v2/', host: 'registry.example.com', without: ['upgrade', 'http2-settings'] },
  },
  { name: 'expect-unknown', kind: 'refused', head: [`PUT ${MANIFEST} HTTP/1.1`, HOST, 'Content-Length: 5', 'Expect: something'], statuses: [417] },
  { name: 'absolute-form-ftp', kind: 'refused', head: ['GET ftp://registry.example.com/v2/ HTTP/1.1', HOST], statuses: [400] },
  {
    name: 'absolute-form-dot-segments',
    kind: 'refused',
    statuses: [400],
    head: ['GET http://registry.example.com/api/v1/../../v2/acme/app/manifests/latest HTTP/1.1', HOST],
  },
  {
    name: 'absolute-form',
    kind: 'forwarded',
    statuses: [200],
    head: [`GET http://registry.example.com${MANIFEST} HTTP/1.1`, 'Host: evil.example.com'],
    forwardedAs: { url: MANIFEST, host: 'registry.example.com' },
  },
  // Decided as one route, resolved by the owner as another: an edge refuses what it cannot decide faithfully.
  { name: 'dot-segments', kind: 'refused', head: ['GET /api/v1/../../v2/acme/app/manifests/latest HTTP/1.1', HOST], statuses: [400] },
  { name: 'dot-segments-encoded', kind: 'refused', head: ['GET /api/v1/%2e%2e/%2e%2e/v2/acme/app/manifests/latest HTTP/1.1', HOST], statuses: [400] },
  { name: 'dot-segments-encoded-upper', kind: 'refused', head: ['GET /v2/acme/app/%2E%2E/%2E%2E/%2E%2E/api/v1/superuser/users/ HTTP/1.1', HOST], statuses: [400] },
  // Request smuggling shapes Node's parser already refuses (kept so a change of parser cannot bring them back).
  {
    name: 'content-length-and-chunked',
    kind: 'refused',
    head: [`PUT ${MANIFEST} HTTP/1.1`, HOST, 'Content-Length: 5', 'Transfer-Encoding: chunked'],
    body: '0\r\n\r\n',
    statuses: [400],
  },
  { name: 'two-content-lengths', kind: 'refused', head: [`PUT ${MANIFEST} HTTP/1.1`, HOST, 'Content-Length: 5', 'Content-Length: 6'], body: 'hello!', statuses: [400] },
  { name: 'space-before-colon', kind: 'refused', head: [`PUT ${MANIFEST} HTTP/1.1`, HOST, 'Transfer-Encoding : chunked', 'Content-Length: 5'], body: 'hello', statuses: [400] },
];

/** `X-Soak-Probe` names a request by its case, so an upstream can say which ones it saw. */
export const PROBE_HEADER = 'x-soak-probe';
export const SLOW_HEADER = 'x-soak-slow';

export function malformedBytes(c: MalformedCase): string {
  return [...c.head, `X-Soak-Probe: ${c.name}`, 'Connection: close'].join('\r\n') + '\r\n\r\n' + (c.body ?? '');
}

export interface RawAnswer {
  /** The status line's code; 0: closed without one; -1: no answer within the timeout. */
  readonly status: number;
  readonly ms: number;
}

/** Sends `bytes` on a fresh connection and resolves with the status of the first answer (the socket is then dropped). */
export function sendRaw(port: number, bytes: string, timeoutMs = 5000, host = '127.0.0.1'): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(port, host);
    let buf = '';
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ status, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(-1), timeoutMs);
    const status = (): number => Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf)?.[1] ?? 0);
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      if (buf.indexOf('\r\n\r\n') >= 0) finish(status());
    });
    sock.on('error', () => finish(status()));
    sock.on('close', () => finish(status()));
    sock.write(bytes);
  });
}

export interface MalformedStats {
  /** Per case: status → count. */
  readonly byCase: Record<string, Record<string, number>>;
  sent: number;
}

export interface Attack<S> {
  readonly stats: S;
  /** Stops the attack and resolves once its requests have ended. */
  stop(): Promise<S>;
}

/** `loops` concurrent loops, each sending the cases of MALFORMED in turn (skipping none), until stopped. */
export function startMalformedLoop(port: number, loops = 4, cases: readonly MalformedCase[] = MALFORMED): Attack<MalformedStats> {
  const stats: MalformedStats = { byCase: Object.fromEntries(cases.map((c) => [c.name, {}])), sent: 0 };
  let stopped = false;
  const loop = async (offset: number): Promise<void> => {
    for (let i = offset; !stopped; i++) {
      const c = cases[i % cases.length]!;
      const a = await sendRaw(port, malformedBytes(c));
      stats.sent++;
      const per = stats.byCase[c.name]!;
      per[String(a.status)] = (per[String(a.status)] ?? 0) + 1;
    }
  };
  const running = Promise.all(Array.from({ length: loops }, (_, i) => loop(i)));
  return {
    stats,
    stop: async () => {
      stopped = true;
      await running;
      return stats;
    },
  };
}

// ---------------------------------------------------------------- slow bodies

export interface SlowTarget {
  readonly method: string;
  readonly path: string;
}

export interface SlowBodyOptions {
  readonly port: number;
  readonly count: number;
  /** Connection i goes to targets[i % targets.length]. */
  readonly targets: readonly SlowTarget[];
  readonly contentLength?: number;
  readonly byteEveryMs?: number;
  /** Open a new connection when the proxy cuts one (keeps `count` open; the bench does, the test does not). */
  readonly reconnect?: boolean;
}

export interface SlowBodyStats {
  opened: number;
  /** Answers the proxy sent before it cut the connection: status → count. */
  readonly answered: Record<string, number>;
  /** Connections the proxy closed without an answer. */
  closedWithoutAnswer: number;
  /** ms from connect to the proxy's answer or close, per cut connection. */
  readonly cutAfterMs: number[];
  /** Connections still open when the attack was stopped. */
  openAtStop: number;
}

/** `count` connections that each declare a 1 MiB body and send it one byte at a time, one every 5 s. */
export function startSlowBodies(o: SlowBodyOptions): Attack<SlowBodyStats> {
  const stats: SlowBodyStats = { opened: 0, answered: {}, closedWithoutAnswer: 0, cutAfterMs: [], openAtStop: 0 };
  const length = o.contentLength ?? 1024 * 1024;
  const every = o.byteEveryMs ?? 5000;
  const open = new Set<net.Socket>();
  let stopped = false;
  let closedAll: (() => void) | null = null;
  const one = (i: number): void => {
    const t = o.targets[i % o.targets.length]!;
    const t0 = performance.now();
    const sock = net.connect(o.port, '127.0.0.1');
    open.add(sock);
    stats.opened++;
    let head = '';
    let status: number | null = null;
    const drip = setInterval(() => {
      if (!sock.destroyed) sock.write('x');
    }, every);
    sock.setNoDelay(true);
    sock.on('data', (c: Buffer) => {
      if (status !== null) return;
      head += c.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (m) status = Number(m[1]);
    });
    sock.on('error', () => {
      /* EPIPE/ECONNRESET once the proxy cut it: counted on close */
    });
    sock.on('close', () => {
      clearInterval(drip);
      open.delete(sock);
      if (!stopped) {
        stats.cutAfterMs.push(performance.now() - t0);
        if (status === null) stats.closedWithoutAnswer++;
        else stats.answered[String(status)] = (stats.answered[String(status)] ?? 0) + 1;
        if (o.reconnect)
          setTimeout(() => {
            if (!stopped) one(i);
          }, 50);
      }
      if (stopped && open.size === 0) closedAll?.();
    });
    sock.write([`${t.method} ${t.path} HTTP/1.1`, HOST, 'Content-Type: application/octet-stream', `Content-Length: ${length}`, `X-Soak-Slow: ${i}`].join('\r\n') + '\r\n\r\nx');
  };
  for (let i = 0; i < o.count; i++) one(i);
  return {
    stats,
    stop: async () => {
      stopped = true;
      stats.openAtStop = open.size;
      const done = new Promise<void>((r) => {
        closedAll = r;
      });
      for (const s of open) s.destroy();
      if (open.size > 0) await done;
      return stats;
    },
  };
}

// ---------------------------------------------------------------- login floods

/**
 * api-basic: GET /control/v1/state with Basic credentials of a made-up name (admin listener).
 * dashboard-form: POST /dashboard/login with a made-up name, or none (an admin-token guess).
 * api-bearer: GET /control/v1/state with a wrong admin token.
 * v2-auth-user: GET /v2/auth on the proxy with a real registry user's name and a wrong password.
 * v2-auth-unknown: the same with a made-up name.
 */
export type FloodKind = 'api-basic' | 'dashboard-form' | 'api-bearer' | 'v2-auth-user' | 'v2-auth-unknown';

export interface LoginFloodOptions {
  readonly adminPort?: number;
  readonly proxyPort?: number;
  /** SERVER_HOSTNAME of the embedded registry (the `service` of /v2/auth) and the user to guess for. */
  readonly registry?: { readonly service: string; readonly user: string };
  /** Source addresses (127.0.0.N): the limiters count by client address. */
  readonly addresses: readonly string[];
  /** Requests in flight per address. */
  readonly concurrency: number;
  readonly kinds: readonly FloodKind[];
  /** Requests per second over all workers; 0 or absent: as fast as the answers come. */
  readonly rate?: number;
}

export interface LoginFloodStats {
  /** Per kind: status → count ("error" for a request that failed). */
  readonly byKind: Record<string, Record<string, number>>;
  sent: number;
}

const basic = (name: string, password: string): string => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;

function floodRequest(o: LoginFloodOptions, kind: FloodKind, localAddress: string, agent: http.Agent): Promise<string> {
  const guess = randomBytes(6).toString('hex');
  let port = o.adminPort ?? 0;
  let method = 'GET';
  let path = '/control/v1/state';
  const headers: http.OutgoingHttpHeaders = {};
  let body: string | undefined;
  switch (kind) {
    case 'api-basic':
      headers.authorization = basic(`nobody-${guess}`, guess);
      break;
    case 'api-bearer':
      headers.authorization = `Bearer ${randomBytes(32).toString('base64url')}`;
      break;
    case 'dashboard-form':
      method = 'POST';
      path = '/dashboard/login';
      body = new URLSearchParams({ name: Math.random() < 0.5 ? '' : `nobody-${guess}`, password: guess }).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(body);
      break;
    case 'v2-auth-user':
    case 'v2-auth-unknown': {
      port = o.proxyPort ?? 0;
      const r = o.registry!;
      const user = kind === 'v2-auth-user' ? r.user : `nobody-${guess}`;
      path = `/v2/auth?account=${user}&service=${encodeURIComponent(r.service)}&scope=${encodeURIComponent(`repository:${user}/app:pull,push`)}`;
      headers.authorization = basic(user, `wrong-${guess}`);
      break;
    }
  }
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, localAddress, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', () => resolve('error'));
    });
    req.on('error', () => resolve('error'));
    req.setTimeout(30_000, () => req.destroy());
    req.end(body);
  });
}

/** Wrong logins, `concurrency` at a time from each of `addresses`, cycling through `kinds`, until stopped. */
export function startLoginFlood(o: LoginFloodOptions): Attack<LoginFloodStats> {
  const stats: LoginFloodStats = { byKind: Object.fromEntries(o.kinds.map((k) => [k, {}])), sent: 0 };
  let stopped = false;
  const agents = o.addresses.map((localAddress) => new http.Agent({ keepAlive: true, maxSockets: o.concurrency, localAddress }));
  const workers = o.addresses.length * o.concurrency;
  const interval = o.rate ? (1000 * workers) / o.rate : 0;
  const t0 = performance.now();
  const worker = async (a: number, w: number): Promise<void> => {
    for (let i = w, n = 0; !stopped; i++, n++) {
      if (interval) {
        const wait = t0 + ((a * o.concurrency + w) / workers + n) * interval - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (stopped) return;
      }
      const kind = o.kinds[i % o.kinds.length]!;
      const status = await floodRequest(o, kind, o.addresses[a]!, agents[a]!);
      stats.sent++;
      const per = stats.byKind[kind]!;
      per[status] = (per[status] ?? 0) + 1;
    }
  };
  const running = Promise.all(o.addresses.flatMap((_, a) => Array.from({ length: o.concurrency }, (__, w) => worker(a, w))));
  return {
    stats,
    stop: async () => {
      stopped = true;
      await running;
      for (const ag of agents) ag.destroy();
      return stats;
    },
  };
}

/** `n` loopback source addresses other than 127.0.0.1 (Linux routes all of 127/8 to lo). */
export function floodAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${Math.floor(i / 250)}.${2 + (i % 250)}`);
}
