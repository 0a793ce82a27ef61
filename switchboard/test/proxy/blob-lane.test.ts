/**
 * The blob lane (blob-lane.ts): large blob GET bodies relayed socket to socket
 * by the native addon. Bytes intact (full and ranged), keep-alive to the
 * client after it, the ordinary path for everything else (errors, redirects,
 * chunked or small bodies), a client that leaves, an owner that dies mid-body,
 * and the access log counting the relayed bytes.
 */
import t from 'tap';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../../native/index.js';
import { laneResponses } from '../../proxy/blob-lane.js';
import { startProxy, startUpstreams, tempDir, waitFor } from './lib/harness.js';

t.ok(native, 'the native addon is built (npm ci runs node-gyp)');
const body = randomBytes(9 * 1024 * 1024 + 7);
const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
const small = Buffer.from('tiny blob');
const smallDigest = 'sha256:' + createHash('sha256').update(small).digest('hex');
const path = (d: string): string => `/v2/acme/app/blobs/${d}`;
const redirectDigest = 'sha256:' + 'b'.repeat(64);
const chunkedDigest = 'sha256:' + 'c'.repeat(64);

const up = await startUpstreams(t);
let dieAfter = 0;
up.go.handler = (req, res) => {
  req.resume();
  const url = req.url ?? '';
  if (url === path(digest)) {
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    const part = range ? body.subarray(Number(range[1]), Number(range[2]) + 1) : body;
    res.writeHead(range ? 206 : 200, { 'content-type': 'application/octet-stream', 'content-length': part.length, 'docker-content-digest': digest, 'x-upstream': 'go' });
    if (dieAfter > 0) {
      res.write(part.subarray(0, dieAfter));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    res.end(part);
  } else if (url === path(smallDigest)) {
    res.writeHead(200, { 'content-length': small.length });
    res.end(small);
  } else if (url === path(redirectDigest)) {
    res.writeHead(307, { location: 'http://storage.example/blob', 'content-length': 0 });
    res.end();
  } else if (url === path(chunkedDigest)) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(body.subarray(0, 3_000_000));
    res.end(body.subarray(3_000_000, 5_000_000));
  } else {
    const e = JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown', detail: {} }] });
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(e) });
    res.end(e);
  }
};
const accessLog = join(tempDir(t), 'access.log');
const px = await startProxy(t, { upstreams: up, migration: { ROUTE_OWNER_CAP_V2_PULL: 'go' }, settings: { DEBUG_HEADERS: true } }, { accessLog });
const lines = (): any[] =>
  existsSync(accessLog)
    ? readFileSync(accessLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];

interface Got {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
  complete: boolean;
}
function get(agent: http.Agent | false, p: string, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: px.port, path: p, agent, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), headers: res.headers, complete: res.complete }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), headers: res.headers, complete: false }));
      })
      .on('error', reject);
  });
}

t.test('large blobs go through the lane intact, full and ranged, on one keep-alive connection', async (t) => {
  const before = laneResponses();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const full = await get(agent, path(digest));
  const part = await get(agent, path(digest), { range: 'bytes=1000-3000999' });
  const again = await get(agent, path(digest));
  agent.destroy();
  t.equal(full.status, 200);
  t.ok(full.body.equals(body), 'whole body intact');
  t.equal(full.headers['docker-content-digest'], digest);
  t.equal(full.headers['x-switchboard-owner'], 'go', 'debug headers kept');
  t.equal(full.headers['content-length'], String(body.length));
  t.equal(part.status, 206);
  t.ok(part.body.equals(body.subarray(1000, 3001000)), 'range intact');
  t.ok(again.body.equals(body), 'the client connection is reusable after a relayed body');
  t.equal(laneResponses() - before, 3, 'all three went through the lane');
  t.ok(await waitFor(() => lines().filter((l) => l.path === path(digest)).length >= 3));
  const sent = lines()
    .filter((l) => l.path === path(digest) && l.status === 200)
    .map((l) => l.bytes_sent);
  t.ok(
    sent.every((b) => b > body.length),
    `access log counts the relayed bytes (${sent.join(', ')})`,
  );
});

t.test('errors, redirects and small blobs: relayed the same way, one upstream request each', async (t) => {
  const before = laneResponses();
  const asked = up.go.requests.length;
  const nf = await get(false, path('sha256:' + 'a'.repeat(64)));
  t.equal(nf.status, 404);
  t.equal(JSON.parse(nf.body.toString()).errors[0].code, 'BLOB_UNKNOWN');
  const sm = await get(false, path(smallDigest));
  t.ok(sm.body.equals(small));
  const rd = await get(false, path(redirectDigest));
  t.equal(rd.status, 307);
  t.equal(rd.headers.location, 'http://storage.example/blob');
  t.equal(laneResponses() - before, 3);
  t.equal(up.go.requests.length - asked, 3, 'the owner saw each request once');
});

t.test('no Content-Length (chunked): the ordinary path, body intact', async (t) => {
  const before = laneResponses();
  const ch = await get(false, path(chunkedDigest));
  t.equal(ch.status, 200);
  t.ok(ch.body.equals(body.subarray(0, 5_000_000)));
  t.equal(laneResponses() - before, 0, 'not relayed');
  const head = await new Promise<number>((resolve) => {
    http
      .request({ host: '127.0.0.1', port: px.port, path: path(digest), method: 'HEAD' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .end();
  });
  t.equal(head, 200, 'HEAD is forwarded the ordinary way');
  t.equal(laneResponses() - before, 0);
});

t.test('a client that leaves mid-body: logged as client_abort, the proxy carries on', async (t) => {
  await new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: px.port, path: path(digest), agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => resolve());
  });
  t.ok(await waitFor(() => lines().some((l) => l.path === path(digest) && l.error === 'client_abort')), 'client_abort in the access log');
  for (let i = 0; i < 6; i++) t.ok((await get(false, path(digest))).body.equals(body), `request ${i + 1} afterwards intact (slots freed)`);
});

t.test('an owner that dies mid-body: the client sees a cut response, the log says reset', async (t) => {
  dieAfter = 2 * 1024 * 1024;
  const got = await get(false, path(digest));
  dieAfter = 0;
  t.equal(got.status, 200);
  t.notOk(got.complete && got.body.length === body.length, 'the response is cut short, never passed off as whole');
  t.ok(got.body.length < body.length);
  t.ok(await waitFor(() => lines().some((l) => l.path === path(digest) && l.error === 'reset')), 'reset in the access log');
  t.equal(px.proxy.upstreamHealth().go.last_error?.kind, 'reset');
});
