/**
 * Graceful drain of the in-process proxy (DESIGN §5 "a restart drains
 * gracefully"): keep-alive connections during a drain must not lose requests
 * or response headers.
 */
import t from 'tap';
import http from 'node:http';
import { startProxy, startUpstreams, waitFor, within, type Upstream } from './lib/harness.js';

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

function get(port: number, path: string, agent: http.Agent): Promise<Got> {
  return new Promise((resolve, reject) => {
    const r = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body }));
    });
    r.on('error', reject);
  });
}

/** python answers with two Set-Cookie headers; paths containing a gate name wait for that gate. */
function gated(up: Upstream): Map<string, () => void> {
  const gates = new Map<string, () => void>();
  const waits = new Map<string, Promise<void>>();
  for (const g of ['a', 'c']) waits.set(g, new Promise<void>((r) => gates.set(g, r)));
  up.handler = (req, res) => {
    req.resume();
    const g = /\/slow-([ac])\//.exec(req.url ?? '')?.[1];
    const answer = (): void => {
      res.writeHead(200, ['set-cookie', 'a=1', 'set-cookie', 'b=2', 'content-length', '2', 'x-upstream', 'python']);
      res.end('ok');
    };
    if (g) void waits.get(g)!.then(answer);
    else answer();
  };
  return gates;
}

const setCookies = (g: Got): string[] => g.rawHeaders.filter((_, i) => i % 2 === 1 && g.rawHeaders[i - 1]!.toLowerCase() === 'set-cookie');

// A response that was in flight when the drain began says Connection: close, so the
// client opens a new connection (refused: the listener is closed) instead of reusing one.
t.test('a response finishing during a drain tells the client to close its keep-alive connection', async (t) => {
  const up = await startUpstreams(t);
  const gates = gated(up.python);
  const px = await startProxy(t, { upstreams: up });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const a = get(px.port, '/v2/acme/slow-a/tags/list', agent);
  t.ok(await waitFor(() => up.python.requests.length === 1, 10_000), 'A in flight');
  const drained = px.proxy.drain(10_000);
  gates.get('a')!();
  const ra = await within(a, 10_000, 'A');
  t.equal(ra.status, 200, 'A completed');
  t.same(setCookies(ra), ['a=1', 'b=2'], 'A kept both Set-Cookie headers');
  t.equal(ra.headers.connection, 'close', 'A says Connection: close');
  // What a keep-alive client does next: reuse the connection.
  const b = await within(
    get(px.port, '/v2/acme/app/tags/list', agent).then(
      (g) => `answered ${g.status}`,
      (e: Error) => `failed: ${e.message}`,
    ),
    10_000,
    'B',
  );
  t.comment(`next request on the same keep-alive connection: ${b}`);
  t.match(b, /^answered 200$|^failed: .*(ECONNREFUSED)/, 'the next request is answered, or refused at connect (never cut off mid-connection)');
  await drained;
});

// Connection: close is added to the header array (not via setHeader, which would make
// Node apply the array pair by pair and collapse repeated headers such as Set-Cookie).
t.test('repeated response headers survive on a response answered while draining', async (t) => {
  const up = await startUpstreams(t);
  const gates = gated(up.python);
  const px = await startProxy(t, { upstreams: up });
  const agentC = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => {
    agentC.destroy();
  });
  const c = get(px.port, '/v2/acme/slow-c/tags/list', agentC);
  t.ok(await waitFor(() => up.python.requests.length === 1, 10_000), 'C in flight');
  const drained = px.proxy.drain(10_000);
  gates.get('c')!();
  const rc = await within(c, 10_000, 'C');
  t.equal(rc.status, 200, 'C completed during the drain');
  t.equal(rc.headers.connection, 'close', 'C is told to close the connection');
  t.same(setCookies(rc), ['a=1', 'b=2'], 'C kept both Set-Cookie headers');
  t.same(await drained, { forced: 0, upgrades: 0 }, 'drain finished, nothing forced');
});
