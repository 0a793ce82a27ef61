/**
 * Large blob reads from a worker thread (the native addon) (full and ranged,
 * keep-alive afterwards, a client leaving mid-transfer), and the same bytes
 * from the streaming fallback.
 */
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { native } from '../../../native/index.js';
import { workerSentResponses } from '../../http/blobs.js';
import { pushBlob, startTestRegistry } from '../lib/server.js';

t.ok(native, 'the native addon is built (npm ci runs node-gyp)');
const r = await startTestRegistry(t);
const data = randomBytes(8 * 1024 * 1024 + 123);
const digest = await pushBlob(r, 'acme/big', data);

/** Several requests on one keep-alive connection. */
async function onOneConnection(paths: { path: string; range?: string }[]): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out = [];
  for (const p of paths) {
    out.push(
      await new Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: r.port, path: p.path, agent, headers: p.range ? { range: p.range } : {} }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (c: Buffer) => parts.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), headers: res.headers }));
            res.on('error', reject);
          })
          .on('error', reject);
      }),
    );
  }
  agent.destroy();
  return out;
}

t.test('full and ranged reads, several on one keep-alive connection', async (t) => {
  const path = `/v2/acme/big/blobs/${digest}`;
  const before = workerSentResponses();
  const [full, part, tail, again] = await onOneConnection([{ path }, { path, range: 'bytes=1048576-5242879' }, { path, range: 'bytes=-2000000' }, { path }]);
  t.equal(full!.status, 200);
  t.ok(full!.body.equals(data), 'whole blob intact');
  t.equal(full!.headers['content-length'], String(data.length));
  t.equal(part!.status, 206);
  t.ok(part!.body.equals(data.subarray(1048576, 5242880)), 'range intact');
  t.equal(part!.headers['content-range'], `bytes 1048576-5242879/${data.length}`);
  t.ok(tail!.body.equals(data.subarray(data.length - 2000000)), 'suffix range intact');
  t.ok(again!.body.equals(data), 'the connection is reusable after a worker-thread response');
  t.equal(workerSentResponses() - before, 4, 'all four went out from the worker thread');
  const small = await pushBlob(r, 'acme/big', 'small');
  await onOneConnection([{ path: `/v2/acme/big/blobs/${small}` }]);
  t.equal(workerSentResponses() - before, 4, 'a small blob is streamed');
});

t.test('a client that leaves mid-transfer costs nothing but its connection', async (t) => {
  await new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: r.port, path: `/v2/acme/big/blobs/${digest}` }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => resolve());
  });
  for (let i = 0; i < 6; i++) {
    const [res] = await onOneConnection([{ path: `/v2/acme/big/blobs/${digest}` }]);
    t.ok(res!.body.equals(data), `read ${i + 1} after the abandoned one is intact (slots freed)`);
  }
  t.same(
    r.logs.filter((l) => l.includes('"level":"error"')),
    [],
  );
});

t.test('pipelined requests: the one queued behind another waits for its socket and still goes out from the worker thread', async (t) => {
  // Both requests in one write: Node parses the second while the first is still being sent, so its
  // response has no socket yet (before, it fell back to streaming, and back-to-back keep-alive reads under
  // load did the same whenever the client asked again before the previous response had ended here).
  const path = `/v2/acme/big/blobs/${digest}`;
  const before = workerSentResponses();
  const received = await new Promise<Buffer>((resolve, reject) => {
    const sock = net.connect(r.port, '127.0.0.1', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    const parts: Buffer[] = [];
    sock.on('data', (b: Buffer) => parts.push(b));
    sock.on('end', () => resolve(Buffer.concat(parts)));
    sock.on('error', reject);
  });
  t.equal(workerSentResponses() - before, 2, 'both from the worker thread');
  const first = received.indexOf('\r\n\r\n');
  const second = received.indexOf('HTTP/1.1 200', first + 4 + data.length);
  t.ok(received.subarray(first + 4, first + 4 + data.length).equals(data), 'the first body is intact');
  t.ok(second > 0 && received.subarray(received.indexOf('\r\n\r\n', second) + 4).equals(data), 'the second body is intact');
});
