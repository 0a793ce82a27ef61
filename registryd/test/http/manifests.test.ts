/**
 * Manifests, tags, catalog, referrers and the error envelope over HTTP, and
 * what they write in Quay's tables (tag history, hidden temp tags,
 * manifestblob links).
 */
import t from 'tap';
import { imageManifest, pushBlob, sha256, startTestRegistry } from '../lib/server.js';

const r = await startTestRegistry(t);
const db = (r.reg.store as unknown as { db: import('better-sqlite3').Database }).db;
const OCI = 'application/vnd.oci.image.manifest.v1+json';

const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
const layer = Buffer.from('layer bytes');
const cfg = await pushBlob(r, 'acme/app', config);
const lay = await pushBlob(r, 'acme/app', layer);
const manifest = imageManifest(cfg, config.length, [{ digest: lay, size: layer.length }]);
const mdigest = sha256(manifest);

const errCode = (res: { json(): any }): string => res.json().errors[0].code;

t.test('PUT by tag, then GET/HEAD by tag and by digest return the exact bytes', async (t) => {
  const put = await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/v1', body: manifest, headers: { 'content-type': OCI } });
  t.equal(put.status, 201);
  t.equal(put.header('docker-content-digest'), mdigest);
  t.equal(put.header('location'), `/v2/acme/app/manifests/${mdigest}`);
  for (const ref of ['v1', mdigest]) {
    const get = await r.req({ path: `/v2/acme/app/manifests/${ref}` });
    t.equal(get.status, 200, ref);
    t.same(get.body, manifest);
    t.equal(get.header('content-type'), OCI);
    t.equal(get.header('docker-content-digest'), mdigest);
    const head = await r.req({ method: 'HEAD', path: `/v2/acme/app/manifests/${ref}` });
    t.equal(head.status, 200);
    t.equal(head.header('content-length'), String(manifest.length));
    t.equal(head.body.length, 0);
  }
  const links = db
    .prepare(
      `SELECT s.content_checksum d FROM manifestblob mb JOIN imagestorage s ON s.id = mb.blob_id
    JOIN manifest m ON m.id = mb.manifest_id WHERE m.digest = ? ORDER BY d`,
    )
    .all(mdigest) as { d: string }[];
  t.same(
    links.map((l) => l.d),
    [cfg, lay].sort(),
    'config and layer linked through manifestblob',
  );
});

t.test('moving a tag keeps history in the tag table', async (t) => {
  const other = imageManifest(cfg, config.length, [{ digest: lay, size: layer.length }], { annotations: { v: '2' } });
  t.equal((await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/moving', body: manifest, headers: { 'content-type': OCI } })).status, 201);
  t.equal((await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/moving', body: other, headers: { 'content-type': OCI } })).status, 201);
  const rows = db.prepare("SELECT lifetime_end_ms e, hidden FROM tag WHERE name = 'moving' ORDER BY id").all() as { e: number | null; hidden: number }[];
  t.equal(rows.length, 2);
  t.type(rows[0]!.e, 'number', 'old row closed');
  t.equal(rows[1]!.e, null, 'new row open-ended');
  t.same((await r.req({ path: '/v2/acme/app/manifests/moving' })).body, other);
});

t.test('PUT by digest keeps the manifest alive with a hidden temp tag, invisible in tags/list', async (t) => {
  const m = imageManifest(cfg, config.length, [{ digest: lay, size: layer.length }], { annotations: { by: 'digest' } });
  const d = sha256(m);
  const put = await r.req({ method: 'PUT', path: `/v2/acme/app/manifests/${d}`, body: m, headers: { 'content-type': OCI } });
  t.equal(put.status, 201);
  const tags = db.prepare('SELECT t.name, t.hidden, t.lifetime_end_ms e FROM tag t JOIN manifest m ON m.id = t.manifest_id WHERE m.digest = ?').all(d) as {
    name: string;
    hidden: number;
    e: number;
  }[];
  t.equal(tags.length, 1);
  t.match(tags[0]!.name, /^\$temp-[0-9a-f-]{36}$/);
  t.equal(tags[0]!.hidden, 1);
  t.ok(tags[0]!.e > Date.now(), 'expires in the future');
  t.equal((await r.req({ path: `/v2/acme/app/manifests/${d}` })).status, 200);
  t.notOk((await r.req({ path: '/v2/acme/app/tags/list' })).json().tags.some((n: string) => n.startsWith('$temp')));
  const mismatch = await r.req({ method: 'PUT', path: `/v2/acme/app/manifests/${sha256('x')}`, body: m, headers: { 'content-type': OCI } });
  t.equal(mismatch.status, 400);
  t.equal(errCode(mismatch), 'DIGEST_INVALID');
});

t.test('manifest errors', async (t) => {
  const missing = imageManifest(cfg, config.length, [{ digest: sha256('not pushed'), size: 10 }]);
  const res = await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/bad', body: missing, headers: { 'content-type': OCI } });
  t.equal(res.status, 400);
  t.equal(errCode(res), 'MANIFEST_BLOB_UNKNOWN');
  t.equal(res.json().errors[0].detail.digest, sha256('not pushed'));
  for (const [body, why] of [
    ['not json', 'not JSON'],
    ['[]', 'array'],
    ['{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}', 'no config'],
    [JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: 'sha256:zz', size: 1 }, layers: [] }), 'bad digest'],
  ] as const) {
    const bad = await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/bad', body, headers: { 'content-type': OCI } });
    t.equal(bad.status, 400, why);
    t.equal(errCode(bad), 'MANIFEST_INVALID', why);
  }
  const unknown = await r.req({ path: '/v2/acme/app/manifests/nope' });
  t.equal(unknown.status, 404);
  t.equal(errCode(unknown), 'MANIFEST_UNKNOWN');
  for (const d of [`sha512:${'b'.repeat(128)}`, `sha256:${'B'.repeat(64)}`]) {
    for (const method of ['GET', 'DELETE']) {
      const miss = await r.req({ method, path: `/v2/acme/app/manifests/${d}` });
      t.equal(miss.status, 404, `${method} manifests/${d.slice(0, 10)}…: 404, as Quay's string lookup`);
      t.equal(errCode(miss), 'MANIFEST_UNKNOWN');
    }
  }
  const noRepo = await r.req({ path: '/v2/acme/none/manifests/v1' });
  t.equal(noRepo.status, 404);
  t.equal(errCode(noRepo), 'NAME_UNKNOWN');
  const badName = await r.req({ path: '/v2/acme/UPPER/manifests/v1' });
  t.equal(badName.status, 400);
  t.equal(errCode(badName), 'NAME_INVALID');
  // Quay looks any <algorithm>:<hex> up as it is: an impossible or foreign digest names no blob.
  for (const d of ['sha256:1234', `sha512:${'a'.repeat(128)}`, `sha256:${'A'.repeat(64)}`, 'md5:abcd']) {
    const miss = await r.req({ path: `/v2/acme/app/blobs/${d}` });
    t.equal(miss.status, 404, `${d}: 404`);
    t.equal(errCode(miss), 'BLOB_UNKNOWN', `${d}: BLOB_UNKNOWN, as Quay`);
    const del = await r.req({ method: 'DELETE', path: `/v2/acme/app/blobs/${d}` });
    t.equal(del.status, 405, `DELETE ${d}: Quay's 405`);
    t.equal(errCode(del), 'UNSUPPORTED');
  }
  const unknownBlob = await r.req({ path: `/v2/acme/app/blobs/${sha256('absent')}` });
  t.equal(unknownBlob.status, 404);
  t.equal(errCode(unknownBlob), 'BLOB_UNKNOWN');
});

t.test('blob ranges', async (t) => {
  const data = Buffer.from('0123456789');
  const d = await pushBlob(r, 'acme/app', data);
  const part = await r.req({ path: `/v2/acme/app/blobs/${d}`, headers: { range: 'bytes=2-5' } });
  t.equal(part.status, 206);
  t.equal(part.text(), '2345');
  t.equal(part.header('content-range'), 'bytes 2-5/10');
  t.equal((await r.req({ path: `/v2/acme/app/blobs/${d}`, headers: { range: 'bytes=-3' } })).text(), '789');
  t.equal((await r.req({ path: `/v2/acme/app/blobs/${d}`, headers: { range: 'bytes=7-' } })).text(), '789');
  const out = await r.req({ path: `/v2/acme/app/blobs/${d}`, headers: { range: 'bytes=20-30' } });
  t.equal(out.status, 416);
  t.equal(out.header('content-range'), 'bytes */10');
});

t.test('tags/list and _catalog paginate with Link headers', async (t) => {
  t.equal(
    (await r.req({ method: 'PUT', path: '/v2/acme/paged/manifests/a', body: manifest, headers: { 'content-type': OCI } })).status,
    404,
    'a manifest PUT does not create a repository',
  );
  await r.req({ method: 'POST', path: '/v2/acme/paged/blobs/uploads/' });
  for (const tag of ['a', 'b', 'c', 'd']) {
    t.equal(
      (await r.req({ method: 'PUT', path: `/v2/acme/paged/manifests/${tag}`, body: manifest, headers: { 'content-type': OCI } })).status,
      400,
      'blobs are per repository: not linked to acme/paged yet',
    );
  }
  await r.req({ method: 'POST', path: `/v2/acme/paged/blobs/uploads/?mount=${cfg}&from=acme/app` });
  await r.req({ method: 'POST', path: `/v2/acme/paged/blobs/uploads/?mount=${lay}&from=acme/app` });
  for (const tag of ['d', 'b', 'a', 'c']) {
    t.equal((await r.req({ method: 'PUT', path: `/v2/acme/paged/manifests/${tag}`, body: manifest, headers: { 'content-type': OCI } })).status, 201);
  }
  const all = await r.req({ path: '/v2/acme/paged/tags/list' });
  t.same(all.json(), { name: 'acme/paged', tags: ['a', 'b', 'c', 'd'] });
  const p1 = await r.req({ path: '/v2/acme/paged/tags/list?n=2' });
  t.same(p1.json().tags, ['a', 'b']);
  t.equal(p1.header('link'), '</v2/acme/paged/tags/list?n=2&last=b>; rel="next"');
  const p2 = await r.req({ path: '/v2/acme/paged/tags/list?n=2&last=b' });
  t.same(p2.json().tags, ['c', 'd']);
  t.equal(p2.header('link'), '', 'no Link when nothing follows a full page');
  const cat = await r.req({ path: '/v2/_catalog?n=1' });
  t.equal(cat.json().repositories.length, 1);
  t.match(cat.header('link'), /^<\/v2\/_catalog\?n=1&last=[^>]+>; rel="next"$/);
  const full = await r.req({ path: '/v2/_catalog' });
  t.ok(full.json().repositories.includes('acme/paged'));
  t.ok(full.json().repositories.includes('acme/app'));
});

t.test('delete by tag and by digest', async (t) => {
  await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/gone', body: manifest, headers: { 'content-type': OCI } });
  t.equal((await r.req({ method: 'DELETE', path: '/v2/acme/app/manifests/gone' })).status, 202);
  t.equal((await r.req({ path: '/v2/acme/app/manifests/gone' })).status, 404);
  const again = await r.req({ method: 'DELETE', path: '/v2/acme/app/manifests/gone' });
  t.equal(again.status, 404);
  t.equal(errCode(again), 'MANIFEST_UNKNOWN');
  const expired = await r.req({ path: '/v2/acme/app/manifests/gone' });
  t.equal(errCode(expired), 'TAG_EXPIRED', 'a deleted tag reads as expired (Quay)');
  const m = imageManifest(cfg, config.length, [{ digest: lay, size: layer.length }], { annotations: { del: 'digest' } });
  const d = sha256(m);
  await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/d1', body: m, headers: { 'content-type': OCI } });
  await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/d2', body: m, headers: { 'content-type': OCI } });
  t.equal((await r.req({ method: 'DELETE', path: `/v2/acme/app/manifests/${d}` })).status, 202);
  t.equal((await r.req({ path: '/v2/acme/app/manifests/d1' })).status, 404, 'every tag on it ended');
  t.equal((await r.req({ path: '/v2/acme/app/manifests/d2' })).status, 404);
  t.equal((await r.req({ path: `/v2/acme/app/manifests/${d}` })).status, 404);
});

t.test('referrers: subject, artifactType filter, OCI-Subject header', async (t) => {
  const subject = { mediaType: OCI, digest: mdigest, size: manifest.length };
  const empty = await pushBlob(r, 'acme/app', '{}');
  const sig = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI,
      artifactType: 'application/vnd.example.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [],
      subject,
      annotations: { who: 'me' },
    }),
  );
  const sbom = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI,
      config: { mediaType: 'application/vnd.example.sbom', digest: empty, size: 2 },
      layers: [],
      subject,
    }),
  );
  for (const m of [sig, sbom]) {
    const put = await r.req({ method: 'PUT', path: `/v2/acme/app/manifests/${sha256(m)}`, body: m, headers: { 'content-type': OCI } });
    t.equal(put.status, 201);
    t.equal(put.header('oci-subject'), mdigest);
  }
  const all = await r.req({ path: `/v2/acme/app/referrers/${mdigest}` });
  t.equal(all.status, 200);
  t.equal(all.header('content-type'), 'application/vnd.oci.image.index.v1+json');
  const idx = all.json();
  t.equal(idx.schemaVersion, 2);
  t.same(idx.manifests.map((m: { digest: string }) => m.digest).sort(), [sha256(sig), sha256(sbom)].sort());
  const s = idx.manifests.find((m: { digest: string }) => m.digest === sha256(sig));
  t.same(s, { mediaType: OCI, digest: sha256(sig), size: sig.length, artifactType: 'application/vnd.example.sig', annotations: { who: 'me' } });
  t.equal(idx.manifests.find((m: { digest: string }) => m.digest === sha256(sbom)).artifactType, 'application/vnd.example.sbom', 'config media type when no artifactType');
  const filtered = await r.req({ path: `/v2/acme/app/referrers/${mdigest}?artifactType=application/vnd.example.sbom` });
  t.same(
    filtered.json().manifests.map((m: { digest: string }) => m.digest),
    [sha256(sbom)],
  );
  t.equal(filtered.header('oci-filters-applied'), 'artifactType');
  const none = await r.req({ path: `/v2/acme/app/referrers/${sha256('nothing')}` });
  t.same(none.json().manifests, []);
});

t.test('an index needs its children in the repository', async (t) => {
  const idx = (children: string[]): Buffer =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((d) => ({ mediaType: OCI, digest: d, size: manifest.length, platform: { architecture: 'amd64', os: 'linux' } })),
      }),
    );
  const good = await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/multi', body: idx([mdigest]), headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } });
  t.equal(good.status, 201);
  const bad = await r.req({
    method: 'PUT',
    path: '/v2/acme/app/manifests/multi2',
    body: idx([sha256('no such manifest')]),
    headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
  });
  t.equal(bad.status, 400);
  t.equal(errCode(bad), 'MANIFEST_BLOB_UNKNOWN');
});

t.test('manifest PUT with an unsupported Content-Type is 415', async (t) => {
  const res = await r.req({ method: 'PUT', path: '/v2/acme/app/manifests/ct', body: manifest, headers: { 'content-type': 'text/plain' } });
  t.equal(res.status, 415);
  t.equal(errCode(res), 'MANIFEST_INVALID');
});

t.test('unknown paths and methods', async (t) => {
  const nf = await r.req({ path: '/v2/acme/app/whatever' });
  t.equal(nf.status, 404);
  const m = await r.req({ method: 'POST', path: '/v2/acme/app/tags/list' });
  t.equal(m.status, 405);
  t.equal(errCode(m), 'UNSUPPORTED');
});
