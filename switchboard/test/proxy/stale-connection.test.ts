/**
 * An owner that closes a kept-alive connection just as the proxy reuses it
 * (gunicorn drops idle ones after 2 s and sends no Keep-Alive hint): a GET or
 * HEAD without a body, which got no answer, is sent once more on a fresh
 * connection; a request with a body is not (the owner may have acted on it),
 * and the client gets the 502.
 */
import t from 'tap';
import type { Socket } from 'node:net';
import { request, startProxy, startUpstreams } from './lib/harness.js';

const TAGS = { ROUTE_OWNER_CAP_V2_TAGS: 'go', ROUTE_OWNER_CAP_V2_PUSH: 'go' };

t.test('a reused connection the owner drops: GET is sent again, PUT with a body is not', async (t) => {
  const up = await startUpstreams(t);
  // Every second request to arrive on a connection is dropped unanswered (the first is answered and the connection kept).
  const served = new WeakMap<Socket, number>();
  let dropped = 0;
  up.go.handler = (req, res) => {
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    if (n === 2) {
      dropped++;
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'go' });
      res.end('{}');
    });
  };
  const px = await startProxy(t, { migration: TAGS, upstreams: up }, { metrics: true });

  t.equal((await request(px.port, { path: '/v2/acme/app/tags/list' })).status, 200, 'first request: a new connection, answered');
  const get = await request(px.port, { path: '/v2/acme/app/tags/list' });
  t.equal(get.status, 200, 'the GET on the reused connection was dropped, sent again, and answered');
  t.equal(dropped, 1);
  const text = await px.metrics!.registry.metrics();
  t.match(text, /switchboard_upstream_retries_total\{owner="go",capability="V2_TAGS",family="REGISTRY_V2"\} 1/);

  t.equal((await request(px.port, { path: '/v2/acme/app/tags/list' })).status, 200, 'dropped on its reused connection too, and answered on a fresh one');
  t.equal(dropped, 2);
  const put = await request(px.port, { method: 'PUT', path: '/v2/acme/app/manifests/v1', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.equal(put.status, 502, 'a PUT with a body is never sent twice: the client gets the 502');
  t.equal(dropped, 3, 'the PUT reached the owner once');
  t.match(await px.metrics!.registry.metrics(), /switchboard_upstream_retries_total\{owner="go",capability="V2_TAGS",family="REGISTRY_V2"\} 2/);
});
