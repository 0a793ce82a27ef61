/**
 * Header hygiene (DESIGN §5, RFC 9110 §7.6.1): hop-by-hop headers and the
 * headers a Connection header names are not forwarded in either direction;
 * Host is preserved (a Connection header cannot strip it); X-Forwarded-*
 * and Forwarded from a client are replaced by what the proxy saw, and from a
 * trusted front proxy (SWITCHBOARD.TRUSTED_PROXIES) kept and appended to;
 * repeated response headers (Set-Cookie) survive.
 */
import t from 'tap';
import { rawRequest, request, startProxy, startUpstreams } from './lib/harness.js';
import { requestHeaders } from '../../proxy/headers.js';

t.test('request headers: hop-by-hop and Connection-named headers dropped, Host kept, X-Forwarded-* added', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { upstreams: up });

  const r = await rawRequest(px.port, [
    'GET /v2/acme/app/manifests/latest HTTP/1.1',
    'Host: registry.example.com',
    'Connection: close, X-Hop-Secret',
    'Keep-Alive: timeout=5, max=100',
    'TE: trailers',
    'Trailer: X-Checksum',
    'Upgrade: h2c',
    'Proxy-Authorization: Basic dXNlcjpwYXNz',
    'Proxy-Connection: keep-alive',
    'X-Hop-Secret: do-not-forward',
    'X-Forwarded-For: 203.0.113.9',
    'Authorization: Bearer end-to-end',
    'X-Keep: yes',
  ]);
  t.equal(r.status, 200);
  t.equal(r.get('x-upstream')[0], 'python');
  const seen = up.python.requests[0]!;
  t.ok(seen, 'python got the request');
  const names = new Set<string>();
  for (let i = 0; i < seen.rawHeaders.length; i += 2) names.add(seen.rawHeaders[i]!.toLowerCase());
  for (const h of ['keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'x-hop-secret']) {
    t.notOk(names.has(h), `${h} not forwarded`);
  }
  // The upstream connection's own Connection header is the proxy's, not the client's.
  t.notMatch(String(seen.headers.connection ?? ''), /x-hop-secret|close/i, 'client Connection tokens not forwarded');
  t.equal(seen.headers.host, 'registry.example.com', 'Host preserved');
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', "the client's X-Forwarded-For replaced by its address (no trusted proxy)");
  t.equal(seen.headers['x-forwarded-proto'], 'http', 'X-Forwarded-Proto set');
  t.equal(seen.headers['x-forwarded-host'], 'registry.example.com', 'X-Forwarded-Host set from Host');
  t.equal(seen.headers.authorization, 'Bearer end-to-end', 'end-to-end Authorization kept');
  t.equal(seen.headers['x-keep'], 'yes', 'ordinary header kept');
});

t.test('from a trusted proxy: X-Forwarded-Proto/-Host kept when present; several X-Forwarded-For lines appended in order', async (t) => {
  const up = await startUpstreams(t);
  const px = await startProxy(t, { upstreams: up, settings: { TRUSTED_PROXIES: ['127.0.0.0/8'] } });
  await rawRequest(px.port, [
    'GET /v2/acme/app/tags/list HTTP/1.1',
    'Host: internal.svc:8080',
    'Connection: close',
    'X-Forwarded-For: 198.51.100.1',
    'X-Forwarded-For: 10.0.0.2',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: registry.example.com',
  ]);
  const seen = up.python.requests[0]!;
  t.equal(seen.headers.host, 'internal.svc:8080', 'Host preserved as sent');
  t.equal(seen.headers['x-forwarded-for'], '198.51.100.1, 10.0.0.2, 127.0.0.1', 'all hops kept, client appended');
  t.equal(seen.headers['x-forwarded-proto'], 'https', 'X-Forwarded-Proto kept');
  t.equal(seen.headers['x-forwarded-host'], 'registry.example.com', 'X-Forwarded-Host kept');
  const protoLines = seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'x-forwarded-proto');
  t.equal(protoLines.length, 1, 'X-Forwarded-Proto not duplicated');
  const xffLines = seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'x-forwarded-for');
  t.equal(xffLines.length, 1, 'one X-Forwarded-For line upstream');

  await rawRequest(px.port, ['GET /v2/acme/app/tags/list HTTP/1.1', 'Host: registry.example.com', 'Connection: close']);
  const second = up.python.requests[1]!;
  t.equal(second.headers['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For set when absent');
});

t.test('from any other client: X-Forwarded-*, Forwarded replaced; Connection cannot strip Host (issue 14)', async (t) => {
  const up = await startUpstreams(t);
  // Trusts a range the test client is not in.
  const px = await startProxy(t, { upstreams: up, settings: { TRUSTED_PROXIES: ['10.0.0.0/8', 'fd00::/8'] } });
  await rawRequest(px.port, [
    'GET /v2/acme/app/tags/list HTTP/1.1',
    'Host: registry.example.com',
    'Connection: close, host, content-length',
    'X-Forwarded-For: 10.9.9.9',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: admin.internal',
    'Forwarded: for=10.9.9.9;proto=https;host=admin.internal',
  ]);
  const seen = up.python.requests[0]!;
  t.equal(seen.headers.host, 'registry.example.com', 'Host kept although Connection names it');
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For: the address the proxy saw');
  t.equal(seen.headers['x-forwarded-proto'], 'http', 'X-Forwarded-Proto: the scheme the proxy served');
  t.equal(seen.headers['x-forwarded-host'], 'registry.example.com', 'X-Forwarded-Host: from Host');
  t.equal(seen.headers.forwarded, undefined, 'Forwarded dropped');
  const lines = (n: string): number => seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === n).length;
  t.equal(lines('x-forwarded-for') + lines('x-forwarded-proto') + lines('x-forwarded-host'), 3, 'one line each');
});

t.test('trusted proxies: the client is the nearest untrusted hop of X-Forwarded-For', async (t) => {
  const { TrustedProxies, parseCidr } = await import('../../proxy/client-address.js');
  const tp = new TrustedProxies(['10.0.0.0/8', '::1', '192.168.1.7']);
  t.equal(tp.clientOf('127.0.0.1', '1.2.3.4'), '127.0.0.1', 'an untrusted peer is the client, whatever it claims');
  t.equal(tp.clientOf('10.1.1.1', '1.2.3.4'), '1.2.3.4', 'a trusted peer: its X-Forwarded-For');
  t.equal(tp.clientOf('::ffff:10.1.1.1', '6.6.6.6, 1.2.3.4, 192.168.1.7'), '1.2.3.4', 'trusted hops skipped from the right; the spoofable left part ignored');
  t.equal(tp.clientOf('::1', ['6.6.6.6', '2001:db8::5']), '2001:db8::5', 'IPv6, several header lines');
  t.equal(tp.clientOf('10.1.1.1', 'not-an-ip'), '10.1.1.1', 'garbage: the peer');
  t.equal(tp.clientOf('10.1.1.1', undefined), '10.1.1.1');
  t.same(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/', '::1/129', '']) t.equal(parseCidr(bad), null, `${JSON.stringify(bad)} refused`);
});

t.test('response headers: hop-by-hop and Connection-named dropped; Set-Cookie repeats and Location kept', async (t) => {
  const up = await startUpstreams(t);
  up.python.handler = (req, res) => {
    req.resume();
    req.on('end', () => {
      const body = 'hello';
      res.writeHead(201, [
        'Connection',
        'X-Resp-Hop',
        'Keep-Alive',
        'timeout=5',
        'X-Resp-Hop',
        'secret',
        'Proxy-Authenticate',
        'Basic realm="x"',
        'Upgrade',
        'h2c',
        'Set-Cookie',
        'a=1; Path=/',
        'Set-Cookie',
        'b=2; Path=/',
        'Location',
        `http://${req.headers.host}/v2/acme/app/blobs/uploads/u-1`,
        'X-Keep',
        'yes',
        'x-upstream',
        'python',
        'Content-Length',
        String(body.length),
      ]);
      res.end(body);
    });
  };
  const px = await startProxy(t, { upstreams: up });
  const r = await rawRequest(px.port, ['GET /v2/acme/app/manifests/latest HTTP/1.1', 'Host: registry.example.com', 'Connection: close']);
  t.equal(r.status, 201);
  for (const h of ['keep-alive', 'x-resp-hop', 'proxy-authenticate', 'upgrade', 'trailer']) t.same(r.get(h), [], `${h} not forwarded to the client`);
  t.notMatch(r.get('connection').join(','), /x-resp-hop/i, 'upstream Connection tokens not forwarded');
  t.same(r.get('set-cookie'), ['a=1; Path=/', 'b=2; Path=/'], 'both Set-Cookie headers, in order');
  t.same(r.get('location'), ['http://registry.example.com/v2/acme/app/blobs/uploads/u-1'], 'Location built from the preserved Host');
  t.same(r.get('x-keep'), ['yes']);
  t.equal(r.body.toString(), 'hello');
});

t.test('a chunked upstream response with a Trailer declaration: body intact, Trailer header not forwarded', async (t) => {
  const up = await startUpstreams(t);
  up.python.handler = (req, res) => {
    req.resume();
    res.writeHead(200, { 'x-upstream': 'python', trailer: 'x-checksum', 'content-type': 'text/plain' });
    res.write('part one;');
    res.addTrailers({ 'x-checksum': 'abc' });
    res.end('part two');
  };
  const px = await startProxy(t, { upstreams: up });
  const r = await request(px.port, { path: '/v2/acme/app/manifests/latest', headers: { te: 'trailers' } });
  t.equal(r.status, 200);
  t.equal(r.text(), 'part one;part two', 'body intact');
  t.equal(r.headers.trailer, undefined, 'Trailer header not forwarded');
  t.equal(up.python.requests[0]!.headers.te, undefined, 'TE not forwarded');
});

t.test("the dashboard's session cookie never reaches an owner", async (t) => {
  const out = (raw: string[]): string[] => requestHeaders(raw, { clientAddress: '10.0.0.1', proto: 'http' });
  const cookies = (h: string[]): string[] => h.filter((_, i) => i % 2 === 1 && h[i - 1]!.toLowerCase() === 'cookie');
  t.same(cookies(out(['Host', 'x', 'Cookie', 'a=1; sb_session=abc.def; b=2'])), ['a=1; b=2'], 'removed from a cookie list');
  t.same(cookies(out(['Host', 'x', 'Cookie', 'sb_session=abc.def'])), [], 'a header holding only it is dropped');
  t.same(cookies(out(['Host', 'x', 'Cookie', 'a=1'])), ['a=1'], 'other cookies pass');
});
