/**
 * Requests as real clients send them (issue 13), each against both owners:
 * `Expect: 100-continue` (curl over 1 MiB, docker; other expectations 417),
 * chunked uploads as docker/podman/skopeo/containerd/crane send them, request
 * trailers, HTTP/1.0 with and without keep-alive, `Connection: close`,
 * absolute-form targets, long header sections (a clean 431 above the limit),
 * pipelined requests, and requests no server may take (400, no owner charged).
 * Raw `net` sockets where a client library would normalise the request; the
 * real `curl` binary with its default headers, in process and through the
 * real `switchboard serve`.
 */
import t from 'tap';
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildOnce,
  configYaml,
  request,
  startProxy,
  startServe,
  startUpstreams,
  tempDir,
  waitFor,
  within,
  writeAtomic,
  type OwnerName,
  type ProxyHandle,
  type TLike,
  type Upstream,
  type UpstreamHandler,
} from './lib/harness.js';

/** The asserts and teardown the helpers use (tap's Test has them all). */
type Assert = TLike & Pick<typeof t, 'equal' | 'match' | 'notMatch' | 'same' | 'ok'>;

const OWNERS: readonly OwnerName[] = ['python', 'go'];
const MiB = 1024 * 1024;
const REPO = '/v2/acme/app';
const UUID = '6e1fe3c5-ed54-4ac1-a0a5-1d2b4c3d5e6f';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Deterministic, non-repeating-looking bytes. */
function payload(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** A body as a Go client writes it with Transfer-Encoding: chunked (one chunk per 32 KiB write), optional trailer lines. */
function chunked(body: Buffer, trailers: readonly string[] = [], size = 32 * 1024): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const c = body.subarray(i, i + size);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\n${trailers.map((l) => `${l}\r\n`).join('')}\r\n`));
  return Buffer.concat(parts);
}

/**
 * A registry-shaped upstream: reads the whole body, then answers with the
 * status a registry gives (POST upload start 202 with Location, PATCH 202,
 * PUT 201, else 200) and a JSON echo of what arrived. `?stream` answers with
 * no Content-Length (chunked to the proxy) in two writes.
 */
function registry(name: OwnerName): UpstreamHandler {
  return (req, res, rec) => {
    const answer = (): void => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, bytes: rec.bytes, sha256: rec.sha256 });
      const u = new URL(req.url ?? '/', 'http://upstream');
      if (u.searchParams.has('stream')) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
        res.write(body.slice(0, 10));
        setImmediate(() => res.end(body.slice(10)));
        return;
      }
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-upstream': name };
      let status = 200;
      if (req.method === 'POST' && !u.searchParams.has('digest')) {
        status = 202;
        headers.location = `${REPO}/blobs/uploads/${UUID}`;
        headers['docker-upload-uuid'] = UUID;
      } else if (req.method === 'PATCH') {
        status = 202;
        headers.range = `0-${Math.max(rec.bytes - 1, 0)}`;
      } else if (req.method === 'PUT' || req.method === 'POST') {
        status = 201;
      }
      headers['content-length'] = String(Buffer.byteLength(body));
      res.writeHead(status, headers);
      res.end(body);
    };
    // A handler that held the request may call this after the body ended.
    if (rec.complete) answer();
    else req.on('end', answer);
  };
}

interface Setup {
  up: { python: Upstream; go: Upstream };
  target: Upstream;
  other: Upstream;
  px: ProxyHandle;
}

/** Both upstreams registry-shaped, and a proxy sending every route to `owner`. */
async function setup(t: TLike, owner: OwnerName, settings: Record<string, unknown> = {}): Promise<Setup> {
  const up = await startUpstreams(t);
  up.python.handler = registry('python');
  up.go.handler = registry('go');
  const px = await startProxy(t, { migration: { ROUTE_OWNER_DEFAULT: owner }, upstreams: up, settings: { DEBUG_HEADERS: true, ...settings } });
  return { up, target: up[owner], other: up[owner === 'go' ? 'python' : 'go'], px };
}

// ---------------------------------------------------------------- a raw HTTP/1.x client

interface RawResponse {
  readonly version: string;
  readonly status: number;
  readonly headers: readonly [string, string][];
  readonly body: Buffer;
  /** Header values by lower-case name, joined with ", ". */
  get(name: string): string | undefined;
}

/**
 * One TCP connection that writes exactly the bytes given and reads responses
 * one at a time (1xx included), framed by Content-Length, chunked coding or
 * the close of the connection.
 */
class RawConnection {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (c: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
      this.poke();
    });
    sock.on('error', () => {
      /* seen as the end of the stream */
    });
    this.closed = new Promise((resolve) =>
      sock.once('close', () => {
        this.ended = true;
        this.poke();
        resolve();
      }),
    );
    sock.on('end', () => {
      this.ended = true;
      this.poke();
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve(new RawConnection(s));
      });
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** Request head lines plus the blank line. */
  head(lines: readonly string[]): void {
    this.sock.write(lines.join('\r\n') + '\r\n\r\n');
  }

  /** Everything received and not yet consumed as a response. */
  pending(): Buffer {
    return this.buf;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Waits until `take` returns a value (it is re-run on every arrival), or the stream ends (then null). */
  private async until<T>(take: () => T | null): Promise<T | null> {
    for (;;) {
      const v = take();
      if (v !== null) return v;
      if (this.ended) return null;
      await new Promise<void>((r) => {
        this.wake = r;
      });
    }
  }

  private consume(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** The next response; rejects if the connection ends before one is complete. `ms` bounds the wait. */
  response(ms = 15_000, method = 'GET'): Promise<RawResponse> {
    return within(this.readResponse(method), ms, 'a response on the raw connection');
  }

  private async readResponse(method: string): Promise<RawResponse> {
    const end = await this.until(() => {
      const i = this.buf.indexOf('\r\n\r\n');
      return i >= 0 ? i : null;
    });
    if (end === null) throw new Error(`connection ended before a response head (got ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`);
    const lines = this.consume(end + 4)
      .toString('latin1')
      .slice(0, end)
      .split('\r\n');
    const m = /^(HTTP\/1\.[01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
    const headers = lines.slice(1).map((l): [string, string] => {
      const c = l.indexOf(':');
      return [l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()];
    });
    const get = (n: string): string | undefined => {
      const v = headers.filter(([k]) => k === n.toLowerCase()).map(([, x]) => x);
      return v.length ? v.join(', ') : undefined;
    };
    const status = Number(m[2]);
    const done = (body: Buffer): RawResponse => ({ version: m[1] as string, status, headers, body, get });
    if (status < 200 || status === 204 || status === 304 || method === 'HEAD') return done(Buffer.alloc(0));
    if (/chunked/i.test(get('transfer-encoding') ?? '')) return done(await this.readChunked());
    const len = get('content-length');
    if (len !== undefined) {
      const n = Number(len);
      const body = await this.until(() => (this.buf.length >= n ? this.consume(n) : null));
      if (body === null) throw new Error(`connection ended inside a ${n}-byte body`);
      return done(Buffer.from(body));
    }
    // Delimited by the close of the connection.
    await this.until(() => null);
    return done(Buffer.from(this.consume(this.buf.length)));
  }

  private async readChunked(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      const line = await this.until(() => {
        const i = this.buf.indexOf('\r\n');
        return i >= 0 ? this.consume(i + 2).toString('latin1') : null;
      });
      if (line === null) throw new Error('connection ended inside a chunked body');
      const size = parseInt(line, 16);
      if (size === 0) {
        // Trailer section: lines up to an empty one.
        for (;;) {
          const tl = await this.until(() => {
            const i = this.buf.indexOf('\r\n');
            return i >= 0 ? this.consume(i + 2).toString('latin1') : null;
          });
          if (tl === null || tl === '\r\n') return Buffer.concat(parts);
        }
      }
      const chunk = await this.until(() => (this.buf.length >= size + 2 ? this.consume(size + 2) : null));
      if (chunk === null) throw new Error('connection ended inside a chunk');
      parts.push(Buffer.from(chunk.subarray(0, size)));
    }
  }

  /** Resolves once the peer closed the connection (bounded by `ms`). */
  waitClosed(ms = 15_000): Promise<void> {
    return within(
      this.until(() => null).then(() => undefined),
      ms,
      'the proxy to close the connection',
    );
  }

  destroy(): void {
    this.sock.destroy();
  }
}

async function open(t: TLike, port: number): Promise<RawConnection> {
  const c = await RawConnection.open(port);
  t.teardown(() => c.destroy());
  return c;
}

/** The JSON echo of the registry upstream. */
const echo = (r: RawResponse): { upstream: string; method: string; url: string; bytes: number; sha256: string } => JSON.parse(r.body.toString('utf8'));

// ---------------------------------------------------------------- curl

interface CurlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real curl binary, its default headers (-v shows what it sent on stderr). */
function curl(args: readonly string[]): Promise<CurlRun> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-v', '-i', '--max-time', '60', ...args], { encoding: 'utf8', maxBuffer: 16 * MiB }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The final status of curl -i output (after any 1xx). */
function curlStatuses(out: string): number[] {
  return [...out.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1]));
}

/**
 * curl's three upload shapes over 1 MiB, each with curl's own `Expect:
 * 100-continue`: monolithic PUT (-T), monolithic POST (--data-binary) and a
 * chunked PATCH. Each must get the proxy's 100, then the owner's status, with
 * the exact bytes at the owner and no Expect forwarded.
 */
async function curlUploads(t: Assert, port: number, owner: OwnerName, target: Upstream): Promise<void> {
  const file = join(tempDir(t, 'swb-shapes-'), 'blob');
  const data = payload(3 * MiB, 7);
  writeFileSync(file, data);
  const digest = `sha256:${sha256(data)}`;
  const base = `http://127.0.0.1:${port}${REPO}/blobs/uploads`;
  const cases: { what: string; args: string[]; method: string; status: number; sent: RegExp }[] = [
    { what: 'monolithic PUT (curl -T)', args: ['-T', file, `${base}/${UUID}?digest=${digest}`], method: 'PUT', status: 201, sent: /^> Content-Length: 3145728/m },
    {
      what: 'monolithic POST (curl --data-binary)',
      args: ['--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream', `${base}/?digest=${digest}`],
      method: 'POST',
      status: 201,
      sent: /^> Content-Length: 3145728/m,
    },
    {
      what: 'chunked PATCH (curl -T -X PATCH, Transfer-Encoding: chunked)',
      args: ['-T', file, '-X', 'PATCH', '-H', 'Transfer-Encoding: chunked', `${base}/${UUID}`],
      method: 'PATCH',
      status: 202,
      sent: /^> Transfer-Encoding: chunked/m,
    },
  ];
  for (const c of cases) {
    const before = target.requests.length;
    const r = await curl(c.args);
    t.equal(
      r.code,
      0,
      `${c.what}: curl succeeded (${r.stderr
        .split('\n')
        .filter((l) => l.startsWith('curl:'))
        .join(' ')})`,
    );
    t.match(r.stderr, /^> Expect: 100-continue/m, `${c.what}: curl sent Expect: 100-continue`);
    t.match(r.stderr, c.sent, `${c.what}: curl sent ${c.sent.source}`);
    t.same(curlStatuses(r.stdout), [100, c.status], `${c.what}: 100 Continue from the proxy, then ${owner}'s ${c.status}`);
    t.notMatch(r.stdout, /x-switchboard-error/i, `${c.what}: no proxy error`);
    t.equal(target.requests.length - before, 1, `${c.what}: one request reached ${owner}`);
    const rec = target.requests.at(-1);
    t.equal(rec?.method, c.method, `${c.what}: method kept`);
    t.equal(rec?.bytes, data.length, `${c.what}: ${owner} received all ${data.length} bytes`);
    t.equal(rec?.sha256, sha256(data), `${c.what}: ${owner} received the exact bytes`);
    t.equal(rec?.headers.expect, undefined, `${c.what}: Expect is not forwarded (the proxy answered it)`);
  }
}

t.test('the real `switchboard serve` and curl: Expect: 100-continue uploads reach both owners', async (t) => {
  await buildOnce();
  const up = await startUpstreams(t);
  up.python.handler = registry('python');
  up.go.handler = registry('go');
  const file = join(tempDir(t), 'config.yaml');
  const config = (owner: OwnerName): string =>
    configYaml({
      migration: { ROUTE_OWNER_DEFAULT: owner },
      upstreams: up,
      settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off' },
    });
  writeAtomic(file, config('python'));
  const sb = await startServe(t, file);
  await curlUploads(t, sb.port, 'python', up.python);
  writeAtomic(file, config('go'));
  t.ok(await waitFor(async () => (await request(sb.adminPort, { path: '/status' })).json().snapshot.version >= 2, 10_000), 'go owns the uploads now');
  await curlUploads(t, sb.port, 'go', up.go);
  t.equal(up.python.requests.length, 3, 'python got its three uploads, and only those');
});

for (const owner of OWNERS) {
  t.test(`curl uploads over 1 MiB (Expect: 100-continue) reach ${owner} intact`, async (t) => {
    const { px, target, other } = await setup(t, owner);
    await curlUploads(t, px.port, owner, target);
    t.equal(other.requests.length, 0, 'nothing reached the other owner');
  });

  t.test(`Expect: 100-continue on a raw socket (${owner}): 100 first, then the body streams`, async (t) => {
    const { px, target } = await setup(t, owner);
    const data = payload(3 * MiB, 11);
    const c = await open(t, px.port);
    c.head([
      `PUT ${REPO}/blobs/uploads/${UUID}?digest=sha256:${sha256(data)} HTTP/1.1`,
      'Host: registry.example.com',
      `Content-Length: ${data.length}`,
      'Expect: 100-continue',
      'Content-Type: application/octet-stream',
    ]);
    // The body is sent only after the interim response: a proxy that never sends it fails here.
    const interim = await c.response();
    t.equal(interim.status, 100, '100 Continue before any body byte was sent');
    c.write(data);
    const r = await c.response();
    t.equal(r.status, 201, `${owner}'s 201`);
    t.equal(r.get('x-upstream'), owner);
    t.equal(echo(r).sha256, sha256(data), 'the exact bytes arrived');
    t.equal(target.requests.at(-1)?.headers.expect, undefined, 'Expect not forwarded');

    // Same socket, chunked this time (docker's shape with an Expect).
    const more = payload(200 * 1024, 12);
    c.head([`PATCH ${REPO}/blobs/uploads/${UUID} HTTP/1.1`, 'Host: registry.example.com', 'Transfer-Encoding: chunked', 'Expect: 100-continue']);
    t.equal((await c.response()).status, 100, 'chunked: 100 Continue');
    c.write(chunked(more));
    const p = await c.response();
    t.equal(p.status, 202, `chunked: ${owner}'s 202`);
    t.equal(echo(p).sha256, sha256(more), 'chunked: the exact bytes arrived');
  });

  t.test(`Expect: 100-continue to an owner without an upstream (${owner}): 503 at once, no body asked for`, async (t) => {
    const up = await startUpstreams(t);
    const other: OwnerName = owner === 'go' ? 'python' : 'go';
    const px = await startProxy(t, { migration: { ROUTE_OWNER_DEFAULT: owner }, settings: { UPSTREAMS: { [other]: up[other].url } } });
    const c = await open(t, px.port);
    c.head([`PUT ${REPO}/blobs/uploads/${UUID}?digest=sha256:${'0'.repeat(64)} HTTP/1.1`, 'Host: registry.example.com', `Content-Length: ${3 * MiB}`, 'Expect: 100-continue']);
    const r = await c.response();
    t.equal(r.status, 503, 'final status without a 100 (the client never sends the body)');
    t.equal(r.get('x-switchboard-error'), 'not_configured');
    t.equal(r.get('connection'), 'close', 'the connection closes: the unsent body cannot be skipped');
    await c.waitClosed();
    t.equal(up.python.requests.length + up.go.requests.length, 0, 'nothing was forwarded');
  });

  t.test(`other Expect values (${owner}): 417 from the proxy, not a 502 charged to the owner`, async (t) => {
    const { px, target, other } = await setup(t, owner);
    const c = await open(t, px.port);
    c.head([`PUT ${REPO}/blobs/uploads/${UUID}?digest=sha256:${'0'.repeat(64)} HTTP/1.1`, 'Host: registry.example.com', 'Content-Length: 5', 'Expect: something-else']);
    c.write('hello');
    const r = await c.response();
    t.equal(r.status, 417, '417 Expectation Failed');
    t.equal(r.get('x-switchboard-error'), undefined, 'not an upstream failure');
    t.equal(target.requests.length + other.requests.length, 0, 'nothing was forwarded');
    const health = px.proxy.upstreamHealth()[owner];
    t.equal(health.errors, 0, `${owner} is charged no error`);

    // HTTP/1.0 has no expectations (RFC 9110 §10.1.1): the request is forwarded without one.
    const c10 = await open(t, px.port);
    c10.head([`PUT ${REPO}/blobs/uploads/${UUID}?digest=x HTTP/1.0`, 'Host: registry.example.com', 'Content-Length: 5', 'Expect: 100-continue']);
    c10.write('hello');
    const r10 = await c10.response();
    t.equal(r10.status, 201, `HTTP/1.0 with Expect: forwarded, ${owner}'s 201 (no 100 first)`);
    t.equal(echo(r10).bytes, 5);
    t.equal(target.requests.at(-1)?.headers.expect, undefined, 'Expect not forwarded');
  });

  t.test(`a request no HTTP/1.1 server may take (${owner}): 400 from the proxy, the owner not charged`, async (t) => {
    const { px, target, other } = await setup(t, owner);
    const shapes: [string, string[]][] = [
      ['two Host headers (RFC 9112 §3.2)', [`GET ${REPO}/manifests/latest HTTP/1.1`, 'Host: registry.example.com', 'Host: evil.example.com']],
      ['HTTP/1.1 without Host', [`GET ${REPO}/manifests/latest HTTP/1.1`]],
    ];
    for (const [what, head] of shapes) {
      const c = await open(t, px.port);
      c.head(head);
      const r = await c.response();
      t.equal(r.status, 400, `${what}: 400`);
      t.equal(r.get('x-switchboard-error'), undefined, `${what}: not an upstream failure`);
      await c.waitClosed();
    }
    t.equal(target.requests.length + other.requests.length, 0, 'nothing reached an owner');
    t.equal(px.proxy.upstreamHealth()[owner].errors, 0, `${owner} is charged no error`);
  });

  t.test(`a docker/podman/skopeo/crane push (${owner}): POST, chunked PATCH, PUT ?digest= on one connection`, async (t) => {
    const { px, target, other } = await setup(t, owner);
    const layer = payload(2 * MiB + 12345, 21);
    const digest = `sha256:${sha256(layer)}`;
    const c = await open(t, px.port);
    const common = ['Host: registry.example.com', 'User-Agent: docker/24.0.7 go/go1.20.10 git-commit/311b9ff', 'Authorization: Bearer abc.def.ghi', 'Accept-Encoding: gzip'];

    c.head([`POST ${REPO}/blobs/uploads/ HTTP/1.1`, ...common, 'Content-Length: 0']);
    const start = await c.response();
    t.equal(start.status, 202, 'upload started');
    t.equal(start.get('location'), `${REPO}/blobs/uploads/${UUID}`);

    c.head([`PATCH ${start.get('location')} HTTP/1.1`, ...common, 'Transfer-Encoding: chunked', 'Content-Type: application/octet-stream']);
    c.write(chunked(layer));
    const patch = await c.response();
    t.equal(patch.status, 202, `PATCH: ${owner}'s 202`);
    t.equal(patch.get('range'), `0-${layer.length - 1}`, 'PATCH: the owner counted every byte');
    const prec = target.requests.at(-1)!;
    t.equal(prec.method, 'PATCH');
    t.equal(prec.sha256, sha256(layer), 'PATCH: the exact bytes arrived');

    // docker, skopeo and crane commit with an empty PUT (Go sends Content-Length: 0).
    c.head([`PUT ${start.get('location')}?digest=${digest} HTTP/1.1`, ...common, 'Content-Length: 0']);
    const put = await c.response();
    t.equal(put.status, 201, `PUT: ${owner}'s 201`);
    const rec = target.requests.at(-1)!;
    t.equal(rec.url, `${REPO}/blobs/uploads/${UUID}?digest=${digest}`, 'PUT: the query string is kept');
    t.equal(rec.bytes, 0, 'PUT: empty body');
    t.equal(rec.headers['transfer-encoding'], undefined, 'PUT: no chunked coding invented');

    // The last chunk may ride on the PUT, chunked too (the distribution spec allows it).
    const tail = payload(70_000, 22);
    c.head([`PUT ${start.get('location')}?digest=${digest} HTTP/1.1`, ...common, 'Transfer-Encoding: chunked', 'Content-Type: application/octet-stream']);
    c.write(chunked(tail));
    const put2 = await c.response();
    t.equal(put2.status, 201, `chunked PUT: ${owner}'s 201`);
    t.equal(target.requests.at(-1)?.sha256, sha256(tail), 'chunked PUT: the exact bytes arrived');

    t.equal(target.requests.length, 4, `every request reached ${owner}`);
    t.equal(other.requests.length, 0, 'nothing reached the other owner');
    t.notOk(c.isEnded, 'the connection stayed open throughout');
  });

  t.test(`a chunked body with trailers (${owner}): body intact, status relayed`, async (t) => {
    const { px, target } = await setup(t, owner);
    const data = payload(300_000, 31);
    const c = await open(t, px.port);
    c.head([`PATCH ${REPO}/blobs/uploads/${UUID} HTTP/1.1`, 'Host: registry.example.com', 'Transfer-Encoding: chunked', 'Trailer: X-Checksum']);
    c.write(chunked(data, [`X-Checksum: ${sha256(data)}`], 10_000));
    const r = await c.response();
    t.equal(r.status, 202, `${owner}'s 202`);
    t.equal(echo(r).sha256, sha256(data), 'the exact bytes arrived');
    const rec = target.requests.at(-1)!;
    t.equal(rec.headers.trailer, undefined, 'no Trailer announcement for fields that are not forwarded');
    // The connection is still in step: the next request on it works.
    c.head([`GET ${REPO}/tags/list HTTP/1.1`, 'Host: registry.example.com']);
    t.equal((await c.response()).status, 200, 'next request on the same connection');
  });

  t.test(`HTTP/1.0 (${owner}): without keep-alive, with keep-alive, bodies both ways`, async (t) => {
    const { px, target } = await setup(t, owner);

    // No keep-alive, no Host: the owner's streamed (length-less) answer is delimited by the close.
    const a = await open(t, px.port);
    a.head([`GET ${REPO}/tags/list?stream HTTP/1.0`]);
    const ra = await a.response();
    t.equal(ra.status, 200);
    t.equal(ra.get('transfer-encoding'), undefined, 'no chunked coding to an HTTP/1.0 client');
    t.equal(echo(ra).upstream, owner, 'the whole body, ended by the close');
    await a.waitClosed();

    // A body upload.
    const body = payload(100_000, 41);
    const b = await open(t, px.port);
    b.head([`PUT ${REPO}/blobs/uploads/${UUID}?digest=x HTTP/1.0`, 'Host: registry.example.com', `Content-Length: ${body.length}`]);
    b.write(body);
    const rb = await b.response();
    t.equal(rb.status, 201);
    t.equal(echo(rb).sha256, sha256(body), 'HTTP/1.0 upload: the exact bytes arrived');
    t.equal(rb.get('connection'), 'close');
    await b.waitClosed();

    // Keep-alive: two requests on one connection, then a length-less answer ends it.
    const k = await open(t, px.port);
    const before = target.requests.length;
    for (const path of [`${REPO}/tags/list`, `${REPO}/manifests/latest`]) {
      k.head([`GET ${path} HTTP/1.0`, 'Host: registry.example.com', 'Connection: keep-alive']);
      const r = await k.response();
      t.equal(r.status, 200, `keep-alive ${path}: 200`);
      t.equal(r.get('connection')?.toLowerCase(), 'keep-alive', `keep-alive ${path}: kept alive`);
      t.equal(echo(r).url, path);
    }
    t.notOk(k.isEnded, 'keep-alive connection still open');
    k.head([`GET ${REPO}/tags/list?stream HTTP/1.0`, 'Host: registry.example.com', 'Connection: keep-alive']);
    const rs = await k.response();
    t.equal(rs.get('transfer-encoding'), undefined, 'length-less answer: no chunked coding');
    t.equal(echo(rs).upstream, owner, 'length-less answer: whole body, delimited by the close');
    await k.waitClosed();
    t.equal(target.requests.length - before, 3);
  });

  t.test(`Connection: close (${owner}): answered, then closed; the owner's connection is not`, async (t) => {
    const { px, target } = await setup(t, owner);
    const c = await open(t, px.port);
    c.head([`GET ${REPO}/manifests/latest HTTP/1.1`, 'Host: registry.example.com', 'Connection: close']);
    const r = await c.response();
    t.equal(r.status, 200);
    t.equal(r.get('connection'), 'close');
    t.equal(echo(r).upstream, owner);
    await c.waitClosed();
    t.notMatch(String(target.requests.at(-1)?.headers.connection), /close/i, 'Connection: close is hop-by-hop: not sent to the owner');
    const again = await open(t, px.port);
    again.head([`PUT ${REPO}/blobs/uploads/${UUID}?digest=x HTTP/1.1`, 'Host: registry.example.com', 'Content-Length: 3', 'Connection: close']);
    again.write('abc');
    const r2 = await again.response();
    t.equal(r2.status, 201, 'next client, with a body');
    t.equal(echo(r2).bytes, 3);
  });

  t.test(`absolute-form request targets (${owner}): sent on as origin-form, Host from the target`, async (t) => {
    const { px, target, other } = await setup(t, owner);
    const c = await open(t, px.port);
    c.head([`GET ${REPO}/manifests/latest HTTP/1.1`, 'Host: registry.example.com']);
    const plain = await c.response();

    c.head([`GET http://registry.example.com${REPO}/manifests/latest HTTP/1.1`, 'Host: somewhere.else']);
    const r = await c.response();
    t.equal(r.status, 200);
    t.equal(r.get('x-switchboard-route'), plain.get('x-switchboard-route'), 'decided as the origin-form request');
    let rec = target.requests.at(-1)!;
    t.equal(rec.url, `${REPO}/manifests/latest`, 'origin-form to the owner');
    t.equal(rec.headers.host, 'registry.example.com', 'Host from the request target (RFC 9112 §3.2.2)');
    t.equal(rec.headers['x-forwarded-host'], 'registry.example.com');

    c.head([`GET HTTP://Registry.Example.com:443${REPO}/tags/list?n=10&last=a HTTP/1.1`, 'Host: registry.example.com']);
    t.equal((await c.response()).status, 200);
    rec = target.requests.at(-1)!;
    t.equal(rec.url, `${REPO}/tags/list?n=10&last=a`, 'query kept; scheme case-insensitive');
    t.equal(rec.headers.host, 'Registry.Example.com:443', 'port kept');

    const body = payload(50_000, 51);
    c.head([`PATCH http://registry.example.com${REPO}/blobs/uploads/${UUID} HTTP/1.1`, 'Host: registry.example.com', `Content-Length: ${body.length}`]);
    c.write(body);
    const p = await c.response();
    t.equal(p.status, 202, 'with a body');
    t.equal(echo(p).sha256, sha256(body));

    c.head(['GET http://registry.example.com?x=1 HTTP/1.1', 'Host: registry.example.com']);
    t.equal((await c.response()).status, 200, 'empty path');
    t.equal(target.requests.at(-1)?.url, '/?x=1', 'empty path becomes /');

    const h10 = await open(t, px.port);
    h10.head([`GET http://registry.example.com${REPO}/tags/list HTTP/1.0`]);
    t.equal((await h10.response()).status, 200, 'HTTP/1.0 absolute-form without Host');
    t.equal(target.requests.at(-1)?.headers.host, 'registry.example.com', 'Host added from the target');

    const n = target.requests.length + other.requests.length;
    const star = await open(t, px.port);
    star.head(['OPTIONS * HTTP/1.1', 'Host: registry.example.com']);
    const s = await star.response();
    t.equal(s.status, 200, 'OPTIONS * answered by the proxy');
    t.equal(s.get('content-length'), '0');
    star.head(['GET v2/ HTTP/1.1', 'Host: registry.example.com']);
    const bad = await star.response();
    t.equal(bad.status, 400, 'a target in no form: 400');
    t.equal(target.requests.length + other.requests.length, n, 'neither was forwarded');
    t.equal(px.proxy.upstreamHealth()[owner].errors, 0, `${owner} is charged no error`);
  });

  t.test(`long header sections (${owner}): 16 KiB forwarded intact; above the limit a clean 431`, async (t) => {
    const { px, target, other } = await setup(t, owner);
    const token = payload(6000, 61).toString('base64url');
    const cookie = Array.from({ length: 40 }, (_, i) => `c${i}=${payload(90, i + 100).toString('hex')}`).join('; ');
    const extra = Array.from({ length: 20 }, (_, i) => `X-Extra-${i}: ${'v'.repeat(60)}${i}`);
    const head = [`GET ${REPO}/manifests/latest HTTP/1.1`, 'Host: registry.example.com', `Authorization: Bearer ${token}`, `Cookie: ${cookie}`, ...extra];
    const size = Buffer.byteLength(head.join('\r\n') + '\r\n\r\n');
    t.ok(size >= 16 * 1024, `header section is ${size} bytes`);
    const c = await open(t, px.port);
    c.head(head);
    const r = await c.response();
    t.equal(r.status, 200, `${owner}'s 200`);
    const rec = target.requests.at(-1)!;
    t.equal(rec.headers.authorization, `Bearer ${token}`, 'Authorization intact');
    t.equal(rec.headers.cookie, cookie, 'Cookie intact');
    t.equal(rec.headers['x-extra-19'], `${'v'.repeat(60)}19`, 'every header arrived');

    const n = target.requests.length;
    const big = await open(t, px.port);
    big.head([`GET ${REPO}/manifests/latest HTTP/1.1`, 'Host: registry.example.com', ...Array.from({ length: 10 }, (_, i) => `X-Big-${i}: ${'b'.repeat(7000)}`)]);
    const r431 = await big.response();
    t.equal(r431.status, 431, '431 Request Header Fields Too Large');
    t.equal(r431.get('connection'), 'close');
    await big.waitClosed();
    t.equal(target.requests.length, n, 'nothing forwarded');
    t.equal(other.requests.length, 0);
    c.head([`GET ${REPO}/tags/list HTTP/1.1`, 'Host: registry.example.com']);
    t.equal((await c.response()).status, 200, 'the proxy serves on');
  });

  t.test(`pipelined requests on one socket (${owner}): responses in order, unsafe ones not overtaken`, async (t) => {
    const { px, target } = await setup(t, owner);
    const c = await open(t, px.port);
    const paths = [`${REPO}/manifests/a`, `${REPO}/manifests/b`, `${REPO}/tags/list`, `${REPO}/manifests/c`];
    // The owner answers the first one last, unless it is asked them one at a time.
    const first = paths[0] as string;
    const gate: (() => void)[] = [];
    const base = registry(owner);
    target.handler = (req, res, rec) => {
      if (req.url === first) {
        let released = false;
        const release = (): void => {
          if (!released) {
            released = true;
            base(req, res, rec);
          }
        };
        gate.push(release);
        setTimeout(release, 200);
        return;
      }
      for (const g of gate.splice(0)) g();
      base(req, res, rec);
    };
    c.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: registry.example.com\r\n\r\n`).join(''));
    for (const p of paths) {
      const r = await c.response();
      t.equal(r.status, 200);
      t.equal(echo(r).url, p, `response for ${p} in order`);
    }

    // A PATCH and its committing PUT, pipelined: the PUT must not reach the owner before the PATCH is done.
    const order: string[] = [];
    target.handler = (req, res, rec) => {
      order.push(`${req.method} start`);
      req.on('end', () => order.push(`${req.method} body done`));
      if (req.method === 'PATCH') {
        // Answer a while after the body ended, or at once if the PUT shows up first (the bug this guards against).
        let answered = false;
        const answer = (): void => {
          if (!answered) {
            answered = true;
            order.push('PATCH answered');
            registry(owner)(req, res, rec);
          }
        };
        gate.push(answer);
        req.on('end', () => setTimeout(answer, 200));
        return;
      }
      for (const g of gate.splice(0)) g();
      registry(owner)(req, res, rec);
    };
    const data = payload(128 * 1024, 71);
    c.write(
      Buffer.concat([
        Buffer.from(`PATCH ${REPO}/blobs/uploads/${UUID} HTTP/1.1\r\nHost: registry.example.com\r\nTransfer-Encoding: chunked\r\n\r\n`),
        chunked(data),
        Buffer.from(`PUT ${REPO}/blobs/uploads/${UUID}?digest=sha256:${sha256(data)} HTTP/1.1\r\nHost: registry.example.com\r\nContent-Length: 0\r\n\r\n`),
      ]),
    );
    const patch = await c.response();
    const put = await c.response();
    t.equal(patch.status, 202, 'PATCH answered first');
    t.equal(echo(patch).sha256, sha256(data), 'PATCH body intact');
    t.equal(put.status, 201, 'PUT answered second');
    t.same(order, ['PATCH start', 'PATCH body done', 'PATCH answered', 'PUT start', 'PUT body done'], 'the PUT reached the owner only after the PATCH was answered');
  });

  t.test(`a malformed request pipelined behind a streaming response (${owner}): no error text inside the response`, async (t) => {
    const { px, target } = await setup(t, owner);
    let finish: (() => void) | null = null;
    target.handler = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': owner });
      res.write('first part;');
      finish = () => res.end('second part');
    };
    t.teardown(() => finish?.());
    const c = await open(t, px.port);
    c.head([`GET ${REPO}/manifests/latest HTTP/1.1`, 'Host: registry.example.com']);
    await within(
      (async () => {
        while (!c.pending().includes('first part;')) await new Promise((r) => setTimeout(r, 5));
      })(),
      10_000,
      'the first part',
    );
    c.write('NOT HTTP AT ALL\r\n\r\n');
    await c.waitClosed();
    const got = c.pending().toString('latin1');
    t.notMatch(got, /400 Bad Request/, 'no 400 written into the middle of the streaming response');
    t.match(got, /^HTTP\/1\.1 200 /, 'the response head went out');
  });
}

t.test('pipelined requests behind a response still in flight: the proxy stops reading the connection (review: memory)', async (t) => {
  const { px, target } = await setup(t, 'python');
  const held = `${REPO}/manifests/held`;
  let release: (() => void) | null = null;
  const base = registry('python');
  target.handler = (req, res, rec) => {
    if (req.url === held) {
      release = () => base(req, res, rec);
      return;
    }
    base(req, res, rec);
  };
  t.teardown(() => release?.());
  // What the proxy took off each connection.
  const taken = new Map<net.Socket, IncomingMessage[]>();
  px.proxy.server.on('request', (req: IncomingMessage) => {
    const list = taken.get(req.socket as net.Socket) ?? [];
    list.push(req);
    taken.set(req.socket as net.Socket, list);
  });
  const get = (p: string): string => `GET ${p} HTTP/1.1\r\nHost: registry.example.com\r\n\r\n`;
  const c = await open(t, px.port);
  c.write(get(held));
  t.ok(await waitFor(() => release !== null), 'the first request reached the owner, which holds it');
  c.write(get(`${REPO}/manifests/second`));
  t.ok(await waitFor(() => [...taken.values()].some((l) => l.length === 2)), 'the second one was read, and waits for the first');
  const [conn, reqs] = [...taken.entries()].find(([, l]) => l.length === 2)!;
  t.ok(conn.isPaused(), 'the proxy stopped reading the connection while a request waits');

  // A flood pipelined behind them, then a request on another connection and its answer: the event loop went round.
  const N = 400;
  const flood = Array.from({ length: N }, (_, i) => get(`${REPO}/tags/list?n=${i}`)).join('');
  await new Promise<void>((resolve) => c.sock.write(flood, () => resolve()));
  const other = await open(t, px.port);
  other.head([`GET ${REPO}/tags/list HTTP/1.1`, 'Host: registry.example.com']);
  t.equal((await other.response()).status, 200, 'another client is served meanwhile');
  t.equal(taken.get(conn)?.length, 2, `none of the ${N} pipelined requests was taken off the connection while the first is held (no unbounded queue)`);
  t.equal(reqs[1]!.url, `${REPO}/manifests/second`);

  release!();
  release = null;
  t.equal(echo(await c.response()).url, held, 'the held one answered first');
  t.equal(echo(await c.response()).url, `${REPO}/manifests/second`);
  for (let i = 0; i < N; i++) {
    const r = await c.response();
    if (echo(r).url !== `${REPO}/tags/list?n=${i}`) {
      t.fail(`response ${i} out of order: ${echo(r).url}`);
      break;
    }
  }
  t.equal(taken.get(conn)?.length, N + 2, 'then every pipelined request, in order');
});
