/**
 * WebSocket / Upgrade on the realtime route /realtime/user/subscribe: decided
 * like any request (the REALTIME family switch), the 101 handshake relayed,
 * and bytes spliced both ways between client and the owner.
 */
import t from 'tap';
import http, { type IncomingMessage } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { deadPort, startProxy, startUpstreams, within, type ConfigSpec, type OwnerName, type Upstream } from './lib/harness.js';

const PATH = '/realtime/user/subscribe';
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The upstream accepts the upgrade with a raw 101, greets, then echoes every byte. */
function acceptUpgrades(up: Upstream, seen: IncomingMessage[]): void {
  up.upgrade = (req, socket, head) => {
    seen.push(req);
    const accept = createHash('sha1')
      .update(String(req.headers['sec-websocket-key']) + GUID)
      .digest('base64');
    socket.write(
      ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, `X-Upstream: ${up.name}`, '', ''].join('\r\n'),
    );
    socket.write(`hello from ${up.name}\n`);
    if (head.length) socket.write(head);
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  };
}

interface Opened {
  status: number;
  headers: http.IncomingHttpHeaders;
  socket: Duplex;
  first: Buffer;
}

function openSocket(port: number): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: PATH,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Version': '13',
        Host: 'registry.example.com',
      },
    });
    req.on('upgrade', (res, socket, head) => resolve({ status: res.statusCode ?? 0, headers: res.headers, socket, first: head }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, socket: res.socket, first: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads from the socket until `n` bytes (counting `already`) arrived. */
function readN(socket: Duplex, n: number, already: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks = [already];
    let got = already.length;
    if (got >= n) {
      resolve(already);
      return;
    }
    const onData = (d: Buffer): void => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => {
      if (got < n) reject(new Error(`socket closed after ${got} of ${n} bytes`));
    });
  });
}

async function echoCheck(t: Tap, o: Opened, owner: OwnerName): Promise<void> {
  const greeting = Buffer.from(`hello from ${owner}\n`);
  const hello = await within(readN(o.socket, greeting.length, o.first), 10_000, 'greeting');
  t.equal(hello.subarray(0, greeting.length).toString(), greeting.toString(), `upstream → client: greeting from ${owner}`);
  const rest = hello.subarray(greeting.length);
  const msg = randomBytes(300_000);
  o.socket.write(msg);
  const back = await within(readN(o.socket, msg.length, rest), 10_000, 'echo');
  t.ok(back.equals(msg), `client → ${owner} → client: ${msg.length} bytes echoed intact`);
}

/** The subtest type (tap's last `t.test` overload takes just the callback). */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

t.test('an upgrade on the realtime route is relayed to the REALTIME owner and spliced both ways', async (t) => {
  const up = await startUpstreams(t);
  const seen: IncomingMessage[] = [];
  acceptUpgrades(up.python, seen);
  acceptUpgrades(up.go, seen);
  const spec = (owner: OwnerName): ConfigSpec => ({ migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_FAMILY_REALTIME: owner }, upstreams: up });
  const px = await startProxy(t, spec('go'));

  const a = await openSocket(px.port);
  t.teardown(() => a.socket.destroy());
  t.equal(a.status, 101, '101 Switching Protocols');
  t.equal(a.headers['x-upstream'], 'go', 'handshake answered by go (REALTIME switch)');
  t.equal(String(a.headers.upgrade).toLowerCase(), 'websocket');
  t.ok(a.headers['sec-websocket-accept'], 'Sec-WebSocket-Accept relayed');
  t.equal(seen[0]?.url, PATH);
  t.equal(String(seen[0]?.headers.upgrade).toLowerCase(), 'websocket', 'upstream was asked to upgrade');
  t.equal(seen[0]?.headers.host, 'registry.example.com', 'Host preserved');
  await echoCheck(t, a, 'go');

  // Flip REALTIME to python: new sockets go there; the open one stays spliced to go.
  await px.write(spec('python'));
  const b = await openSocket(px.port);
  t.teardown(() => b.socket.destroy());
  t.equal(b.status, 101);
  t.equal(b.headers['x-upstream'], 'python', 'after the flip: python');
  await echoCheck(t, b, 'python');
  const msg = Buffer.from('still there?');
  a.socket.write(msg);
  t.ok((await within(readN(a.socket, msg.length), 10_000, 'old socket echo')).equals(msg), 'the socket opened before the flip still echoes (from go)');
  t.equal(up.python.requests.length + up.go.requests.length, 0, 'no plain requests reached the upstreams');
});

t.test('the REALTIME owner down: the upgrade is refused with 502 naming it; the other owner sees nothing', async (t) => {
  const up = await startUpstreams(t);
  const seen: IncomingMessage[] = [];
  acceptUpgrades(up.python, seen);
  const px = await startProxy(t, { migration: { ROUTE_OWNER_FAMILY_REALTIME: 'go' }, upstreams: { python: up.python.url, go: `http://127.0.0.1:${await deadPort()}` } });
  const r = await within(openSocket(px.port), 20_000, 'refused upgrade');
  t.equal(r.status, 502, '502');
  t.equal(r.headers['x-switchboard-owner'], 'go', 'names the failed owner');
  r.socket?.destroy();
  t.equal(seen.length, 0, 'python saw no upgrade');
});

// KNOWN BUG (reported): drain() awaits server.close(), which waits for every
// connection, but closeAllConnections() does not reach upgraded sockets and the
// drain timeout only bounds ordinary in-flight requests: with a realtime
// WebSocket open, drain never returns (SIGTERM never exits).
t.test('a drain does not wait forever for an open WebSocket', async (t) => {
  const up = await startUpstreams(t);
  acceptUpgrades(up.go, []);
  const px = await startProxy(t, { migration: { ROUTE_OWNER_FAMILY_REALTIME: 'go' }, upstreams: up });
  const a = await openSocket(px.port);
  t.teardown(() => a.socket.destroy());
  t.equal(a.status, 101);
  await echoCheck(t, a, 'go');
  let outcome = 'pending';
  const drained = px.proxy.drain(500).then(
    (r) => {
      outcome = `resolved ${JSON.stringify(r)}`;
    },
    (e: unknown) => {
      outcome = `rejected ${String(e)}`;
    },
  );
  const closedByProxy = new Promise<void>((r) => a.socket.once('close', () => r()));
  await Promise.race([drained, closedByProxy, new Promise((r) => setTimeout(r, 5_000))]);
  t.not(outcome, 'pending', `drain(500 ms) finished within 5 s with a WebSocket open (${outcome})`);
  a.socket.destroy();
  await drained;
});
