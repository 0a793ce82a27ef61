/**
 * Manifest PUTs whose descriptors lie about sizes, over HTTP: a size other
 * than the stored blob's (imagestorage.image_size) or child manifest's, sizes
 * near 2^63 and totals that would overflow, non-integer and negative sizes.
 * Each is refused with Quay's 400 MANIFEST_INVALID envelope and leaves no
 * manifest or tag behind; what is accepted is stored as an SQLite INTEGER.
 */
import t, { type Test } from 'tap';
import { pushBlob, sha256, startTestRegistry } from '../lib/server.js';
import type { Reply } from '../../../test/lib/proc.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';

const r = await startTestRegistry(t);
const db = (r.reg.store as unknown as { db: import('better-sqlite3').Database }).db;

const config = '{"architecture":"amd64","os":"linux"}';
const layerA = 'layer A bytes';
const layerB = 'the second layer, longer';
const cfg = await pushBlob(r, 'acme/sizes', config);
const a = await pushBlob(r, 'acme/sizes', layerA);
const b = await pushBlob(r, 'acme/sizes', layerB);

/** An OCI image manifest as text: sizes are written verbatim, so any JSON number can be tried. */
function oci(configSize: string | number, layers: readonly { digest: string; size: string | number; urls?: boolean }[]): string {
  const ls = layers.map(
    (l) => `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${l.digest}","size":${l.size}${l.urls ? ',"urls":["https://example.com/blob"]' : ''}}`,
  );
  return `{"schemaVersion":2,"mediaType":"${OCI}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${cfg}","size":${configSize}},"layers":[${ls.join(',')}]}`;
}

function put(ref: string, body: string, contentType = OCI): Promise<Reply> {
  return r.req({ method: 'PUT', path: `/v2/acme/sizes/manifests/${ref}`, body, headers: { 'content-type': contentType } });
}

const manifestRows = (): number => (db.prepare('SELECT count(*) n FROM manifest').get() as { n: number }).n;
const tagRows = (): number => (db.prepare('SELECT count(*) n FROM tag').get() as { n: number }).n;

/** 400 MANIFEST_INVALID in Quay's envelope, with the detail message matching; nothing stored. */
async function refused(t: Test, res: Reply, message: RegExp | string, before: { manifests: number; tags: number }): Promise<void> {
  t.equal(res.status, 400);
  const e = res.json().errors[0];
  t.equal(e.code, 'MANIFEST_INVALID');
  t.equal(e.message, 'manifest invalid');
  t.same(Object.keys(e.detail), ['message']);
  if (typeof message === 'string') t.equal(e.detail.message, message);
  else t.match(e.detail.message, message);
  t.equal(manifestRows(), before.manifests, 'no manifest row');
  t.equal(tagRows(), before.tags, 'no tag');
}

const counts = (): { manifests: number; tags: number } => ({ manifests: manifestRows(), tags: tagRows() });

t.test("a layer size other than the blob's is refused, by tag and by digest", async (t) => {
  const before = counts();
  const body = oci(config.length, [
    { digest: a, size: layerA.length + 1 },
    { digest: b, size: layerB.length },
  ]);
  await refused(t, await put('wrong-layer', body), `Size of layer ${a} does not match that retrieved: ${layerA.length} vs ${layerA.length + 1}`, before);
  await refused(t, await put(sha256(body), body), `Size of layer ${a} does not match that retrieved: ${layerA.length} vs ${layerA.length + 1}`, before);
  const smaller = oci(config.length, [
    { digest: a, size: layerA.length },
    { digest: b, size: 1 },
  ]);
  await refused(t, await put('smaller', smaller), `Size of layer ${b} does not match that retrieved: ${layerB.length} vs 1`, before);
  t.equal((await r.req({ path: '/v2/acme/sizes/manifests/wrong-layer' })).status, 404, 'the tag does not exist');
});

t.test("a config size other than the blob's is refused with Quay's message (OCI and Docker schema 2)", async (t) => {
  const before = counts();
  await refused(
    t,
    await put('wrong-config', oci(config.length + 5, [{ digest: a, size: layerA.length }])),
    `Size of config does not match that retrieved: ${config.length} vs ${config.length + 5}`,
    before,
  );
  const docker = JSON.stringify({
    schemaVersion: 2,
    mediaType: DOCKER,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: cfg, size: 3 },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: a, size: layerA.length }],
  });
  await refused(t, await put('wrong-docker-config', docker, DOCKER), `Size of config does not match that retrieved: ${config.length} vs 3`, before);
});

t.test("an index entry whose size is not the child manifest's byte length is refused", async (t) => {
  const child = oci(config.length, [{ digest: a, size: layerA.length }]).replace('}]}', '}],"annotations":{"note":"caf\u00e9"}}');
  const childBytes = Buffer.byteLength(child);
  t.not(childBytes, child.length, 'the child has a multi-byte character: bytes, not characters, are compared');
  t.equal((await put(sha256(child), child)).status, 201);
  const index = (size: number): string =>
    JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ mediaType: OCI, digest: sha256(child), size, platform: { architecture: 'amd64', os: 'linux' } }] });
  const before = counts();
  await refused(t, await put('wrong-child', index(child.length), INDEX), `Size of manifest does not match that retrieved: ${childBytes} vs ${child.length}`, before);
  t.equal((await put('right-child', index(childBytes), INDEX)).status, 201);
});

t.test('sizes near 2^63, and layers whose total would overflow, are refused', async (t) => {
  const before = counts();
  const foreign = (size: string): { digest: string; size: string; urls: true } => ({ digest: sha256(`foreign ${size}`), size, urls: true });
  await refused(t, await put('huge', oci(config.length, [foreign('9223372036854775807')])), /layers\[0\]\.size 9223372036854775807 is larger than 9007199254740991 bytes/, before);
  await refused(
    t,
    await put('huge2', oci(config.length, [foreign('4611686018427387904'), foreign('4611686018427387904')])),
    /layers\[0\]\.size 4611686018427387904 is larger than/,
    before,
  );
  await refused(
    t,
    await put('overflow', oci(config.length, [{ digest: a, size: layerA.length }, foreign('9007199254740991')])),
    'the layers add up to more than 9007199254740991 bytes',
    before,
  );
  await refused(t, await put('real-huge', oci(config.length, [{ digest: a, size: '18446744073709551617' }])), /is larger than/, before);
});

t.test('non-integer, negative and non-number sizes are refused', async (t) => {
  const before = counts();
  for (const [size, why] of [
    ['13.5', /layers\[0\]\.size 13\.5 is not written as a whole number/],
    ['13.0', /layers\[0\]\.size 13\.0 is not written as a whole number/],
    ['1.3e1', /layers\[0\]\.size 1\.3e1 is not written as a whole number/],
    ['-13', /layers\[0\]\.size -13 is negative/],
    ['"13"', /layers\[0\]\.size must be a number of bytes/],
  ] as const) {
    await refused(t, await put('odd', oci(config.length, [{ digest: a, size }])), why, before);
  }
  await refused(t, await put('odd-config', oci('-1', [{ digest: a, size: layerA.length }])), /config\.size -1 is negative/, before);
});

t.test("exact sizes are accepted: the total is the blobs' and stored as an INTEGER", async (t) => {
  const body = oci(config.length, [
    { digest: a, size: layerA.length },
    { digest: b, size: layerB.length },
    { digest: a, size: layerA.length },
  ]);
  const res = await put('good', body);
  t.equal(res.status, 201);
  const row = db.prepare('SELECT layers_compressed_size AS total, typeof(layers_compressed_size) AS type FROM manifest WHERE digest = ?').get(sha256(body));
  t.same(row, { total: 2 * layerA.length + layerB.length, type: 'integer' });
  const get = await r.req({ path: '/v2/acme/sizes/manifests/good' });
  t.equal(get.text(), body, 'served as pushed');
  for (const [digest, len] of [
    [a, layerA.length],
    [b, layerB.length],
    [cfg, config.length],
  ] as const) {
    t.equal((await r.req({ method: 'HEAD', path: `/v2/acme/sizes/blobs/${digest}` })).header('content-length'), String(len), 'each blob serves the size the manifest declares');
  }
  t.equal((db.prepare("SELECT count(*) n FROM manifest WHERE typeof(layers_compressed_size) NOT IN ('integer', 'null')").get() as { n: number }).n, 0, 'no size stored as a float');
});
