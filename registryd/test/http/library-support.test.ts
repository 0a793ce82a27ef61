/**
 * FEATURE_LIBRARY_SUPPORT is honoured: on (Quay's default) a one-segment
 * repository path is LIBRARY_NAMESPACE/<name>; off, it matches no /v2 route,
 * as Quay's repopath converter then needs a namespace. Before, registryd
 * served one-segment paths whatever the key said.
 */
import t from 'tap';
import { startTestRegistry } from '../lib/server.js';
import { loadQuayConfig } from '../../../quay/config.js';
import { tempDir } from '../../../test/lib/proc.js';

const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
const put = { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: manifest };

t.test('on: a one-segment name is a library repository', async (t) => {
  const r = await startTestRegistry(t, { librarySupport: true });
  t.equal((await r.req({ method: 'POST', path: '/v2/ubuntu/blobs/uploads/' })).status, 202, 'an upload start makes the repository');
  t.equal((await r.req({ path: '/v2/ubuntu/manifests/latest', ...put })).status, 201);
  t.equal((await r.req({ path: '/v2/library/ubuntu/manifests/latest' })).status, 200, 'the same repository by its full name');
  t.equal((await r.req({ path: '/v2/ubuntu/manifests/latest' })).status, 200);
});

t.test('off: a one-segment path matches no route; two segments work as before', async (t) => {
  const r = await startTestRegistry(t, { librarySupport: false });
  const one = await r.req({ path: '/v2/ubuntu/manifests/latest', ...put });
  t.equal(one.status, 404);
  t.match(JSON.parse(one.body.toString()), { errors: [{ code: 'NAME_UNKNOWN' }] });
  t.equal((await r.req({ method: 'POST', path: '/v2/ubuntu/blobs/uploads/' })).status, 404, 'nor an upload start');
  t.equal((await r.req({ method: 'POST', path: '/v2/library/ubuntu/blobs/uploads/' })).status, 202, 'the library namespace by name still works');
  t.equal((await r.req({ path: '/v2/library/ubuntu/manifests/latest', ...put })).status, 201);
  t.equal((await r.req({ path: '/v2/library/ubuntu/manifests/latest' })).status, 200);
  t.equal((await r.req({ path: '/v2/' })).status, 200);
});

t.test('the quay config reads the key, and the readiness document reports it', async (t) => {
  const dataDir = tempDir(t, 'registryd-library-');
  const off = loadQuayConfig('FEATURE_LIBRARY_SUPPORT: false\n', { mode: 'mirror', dataDir });
  if (!off.ok) throw new Error(JSON.stringify(off.problems));
  t.equal(off.config.librarySupport, false);
  const on = loadQuayConfig('', { mode: 'mirror', dataDir });
  if (!on.ok) throw new Error(JSON.stringify(on.problems));
  t.equal(on.config.librarySupport, true, "Quay's default");
  const r = await startTestRegistry(t, { librarySupport: false });
  t.equal(r.reg.readiness.features.FEATURE_LIBRARY_SUPPORT, false);
  t.same(r.reg.readiness.withdrawn, []);
});
