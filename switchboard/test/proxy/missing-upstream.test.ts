/**
 * An owner without an upstream (SWITCHBOARD.UPSTREAMS leaves it out): its
 * requests get a 503 in the family's format naming the key to set; the other
 * owner's requests are served; nothing is sent to the wrong owner.
 */
import t from 'tap';
import { request, startProxy, startUpstreams } from './lib/harness.js';

const up = await startUpstreams(t);
const px = await startProxy(t, {
  migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_PULL: 'go' },
  settings: { UPSTREAMS: { go: up.go.url } },
});

t.test('python-owned requests: 503 naming SWITCHBOARD.UPSTREAMS.python', async (t) => {
  const v2 = await request(px.port, { path: '/v2/' });
  t.equal(v2.status, 503);
  t.equal(v2.headers['x-switchboard-owner'], 'python');
  const err = v2.json().errors[0];
  t.equal(err.code, 'UNAVAILABLE');
  t.equal(err.message, 'owner python has no upstream: set SWITCHBOARD.UPSTREAMS.python', 'says what to set, not that python failed');
  t.equal(v2.headers['x-switchboard-error'], 'not_configured');
  const api = await request(px.port, { path: '/api/v1/repository/acme/app' });
  t.equal(api.status, 503);
  t.match(api.json().detail, /SWITCHBOARD\.UPSTREAMS\.python/);
  t.equal(api.json().error_type, 'upstream_not_configured');
  t.equal(up.python.requests.length, 0);
});

t.test('go-owned requests are served as usual', async (t) => {
  const before = up.go.requests.length;
  const m = await request(px.port, { path: '/v2/acme/app/manifests/latest' });
  t.equal(m.status, 200);
  t.equal(m.headers['x-upstream'], 'go');
  t.equal(up.go.requests.length - before, 1);
});
