/**
 * /api/v1 contract, API_MANIFEST_READ (endpoints/api/manifest.py): one
 * manifest with its layers, its labels, one label, pull statistics. Real
 * Quay and the go side on one database and one storage
 * (test/lib/api-contract.ts), the same requests as the same identities.
 *
 * initdb's manifests are all Docker schema 1 (no config blob), so images of
 * every other kind are pushed into real Quay through /v2 first: Docker
 * schema 2 with empty history layers and odd history values, OCI with and
 * without history, ML-model artifacts (include_modelcard), an OCI index, a
 * manifest whose tag moved away (no alive tag: 404), and one whose config
 * blob is then removed from storage (Quay's abort(404), `{"message": …}`).
 * Runs on SQLite, and on PostgreSQL with API_CONTRACT_DB=postgres.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkParity, startApiPair, EVERYONE } from '../lib/api-contract.js';
import { OCI_INDEX, OCI_MANIFEST, sha256, V2Client } from '../lib/v2-client.js';

t.setTimeout(600_000);

const database = process.env.API_CONTRACT_DB === 'postgres' ? 'postgres' : 'sqlite';
const pair = await startApiPair(t, { database });

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const REPO = 'devtable/mfcontract';

const v2 = new V2Client(pair.quay.port, pair.host, 'devtable:password');

/** Pushes the config and layer blobs and the manifest under `tag`; returns the manifest digest. */
async function push(
  tag: string,
  o: {
    config: unknown;
    layers: { bytes: string; mediaType?: string; annotations?: Record<string, string> }[];
    manifest: (config: { digest: string; size: number }, layers: Record<string, unknown>[]) => Record<string, unknown>;
    mediaType: string;
  },
): Promise<{ digest: string; configDigest: string }> {
  const config = Buffer.from(JSON.stringify(o.config));
  const configDigest = await v2.pushBlob(REPO, config);
  const layers: Record<string, unknown>[] = [];
  for (const l of o.layers) {
    const bytes = Buffer.from(l.bytes);
    layers.push({ mediaType: l.mediaType ?? OCI_LAYER, size: bytes.length, digest: await v2.pushBlob(REPO, bytes), ...(l.annotations ? { annotations: l.annotations } : {}) });
  }
  const manifest = Buffer.from(JSON.stringify(o.manifest({ digest: configDigest, size: config.length }, layers)));
  const r = await v2.putManifest(REPO, tag, manifest, o.mediaType);
  if (r.status !== 201) throw new Error(`push ${REPO}:${tag}: ${r.status} ${r.text()}`);
  return { digest: sha256(manifest), configDigest };
}

const unique = `${Date.now()}`;

// Docker schema 2: an empty history layer (the shared empty blob), created_by that parses as JSON,
// one that does not, a created date with an offset, one in year 1, author and comment.
const docker = await push('docker', {
  mediaType: DOCKER_MANIFEST,
  config: {
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { 'com.example.kind': 'docker', 'other.label': 'x' } },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [
      { created: '2018-04-03T18:37:09.284840891Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ', author: 'someone <a@b.c>' },
      { created: '2018-04-03T18:37:09.613317719+02:00', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
      { created: '0001-01-01T00:00:00Z', created_by: '["/bin/sh", "-c", "echo hi"]', comment: 'buildkit.dockerfile.v0' },
      { created_by: '' },
    ],
  },
  layers: [
    { bytes: `docker layer one ${unique}`, mediaType: DOCKER_LAYER },
    { bytes: `docker layer two ${unique}`, mediaType: DOCKER_LAYER },
    { bytes: `docker layer three ${unique}`, mediaType: DOCKER_LAYER },
  ],
  manifest: (config, layers) => ({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: { mediaType: DOCKER_CONFIG, ...config }, layers }),
});

// OCI image with history and annotations.
const oci = await push('oci', {
  mediaType: OCI_MANIFEST,
  config: {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-02T03:04:05Z',
    config: { Labels: { 'com.example.kind': 'oci' } },
    rootfs: { type: 'layers', diff_ids: ['sha256:00'] },
    history: [{ created: '2024-01-02T03:04:05.123Z', created_by: 'COPY . /app # buildkit', comment: 'c' }],
  },
  layers: [{ bytes: `oci layer ${unique}` }],
  manifest: (config, layers) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers, annotations: { 'org.example.note': 'hello' } }),
});

// OCI image without history: Quay synthesizes the last layer's history from the config (Cmd, created, author).
const ociNoHistory = await push('oci-nohistory', {
  mediaType: OCI_MANIFEST,
  config: { architecture: 'amd64', os: 'linux', created: '2023-05-06T07:08:09Z', author: 'me', config: { Cmd: ['/bin/app', '--flag'] }, rootfs: { type: 'layers', diff_ids: [] } },
  layers: [{ bytes: `nohist one ${unique}` }, { bytes: `nohist two ${unique}` }],
  manifest: (config, layers) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers }),
});

// ML-model artifacts: several layers, the model card is the one titled README.md; and a single-layer one.
const modelcard = await push('model', {
  mediaType: OCI_MANIFEST,
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
  layers: [
    { bytes: `weights ${unique}`, annotations: { 'org.opencontainers.image.title': 'model.bin' } },
    { bytes: `# Model card\n\nUnicode: caf\u00e9 \u2713 ${unique}\n`, annotations: { 'org.opencontainers.image.title': 'README.md' } },
  ],
  manifest: (config, layers) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/x-mlmodel', config: { mediaType: OCI_CONFIG, ...config }, layers }),
});
const modelcardOne = await push('model-one', {
  mediaType: OCI_MANIFEST,
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
  layers: [{ bytes: `just a card ${unique}` }],
  manifest: (config, layers) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/x-mlmodel', config: { mediaType: OCI_CONFIG, ...config }, layers }),
});

// An OCI index over the OCI image.
const ociBytes = await v2.getManifest(REPO, oci.digest);
const index = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ mediaType: OCI_MANIFEST, digest: oci.digest, size: ociBytes.body.length, platform: { architecture: 'amd64', os: 'linux' } }],
  }),
);
const indexPut = await v2.putManifest(REPO, 'index', index, OCI_INDEX);
if (indexPut.status !== 201) throw new Error(`push index: ${indexPut.status} ${indexPut.text()}`);
const indexDigest = sha256(index);

// A manifest whose only tag then moves to another manifest: no alive tag, so not found.
const moved = await push('moving', {
  mediaType: OCI_MANIFEST,
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: 'first' }] },
  layers: [{ bytes: `moving one ${unique}` }],
  manifest: (config, layers) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers }),
});
await push('moving', {
  mediaType: OCI_MANIFEST,
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: 'second' }] },
  layers: [{ bytes: `moving two ${unique}` }],
  manifest: (config, layers) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers }),
});

// A manifest whose config blob is gone from storage: its layers cannot be listed.
const broken = await push('broken', {
  mediaType: OCI_MANIFEST,
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: 'broken' }] },
  layers: [{ bytes: `broken one ${unique}` }],
  manifest: (config, layers) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers }),
});
const brokenHex = broken.configDigest.slice('sha256:'.length);
const brokenPath = join(pair.quay.storageDir, 'sha256', brokenHex.slice(0, 2), brokenHex);
if (!existsSync(brokenPath)) throw new Error(`config blob not where Quay's layout puts it: ${brokenPath}`);
rmSync(brokenPath);

const M = (digest: string, repo = REPO): string => `/api/v1/repository/${repo}/manifest/${digest}`;
// initdb's data differs from run to run: devtable/simple:latest's manifest and its first label, as Quay lists them.
const simpleTags = (await pair.call('python', '/api/v1/repository/devtable/simple/tag/?specificTag=latest', 'devtable')).body as { tags: { manifest_digest: string }[] };
const SIMPLE = simpleTags.tags[0]!.manifest_digest;
const simpleLabels = (await pair.call('python', `/api/v1/repository/devtable/simple/manifest/${SIMPLE}/labels`, 'devtable')).body as { labels: { id: string }[] };
const SIMPLE_LABEL = simpleLabels.labels[0]?.id ?? 'no-label';
const publicTags = (await pair.call('python', '/api/v1/repository/public/publicrepo/tag/', 'anonymous')).body as { tags: { manifest_digest: string }[] };
const PUBLIC = publicTags.tags[0]!.manifest_digest;
const PUSHED = [docker.digest, oci.digest, ociNoHistory.digest, modelcard.digest, modelcardOne.digest, indexDigest];

t.test('RepositoryManifest.get: initdb schema 1 manifests, every identity, errors', async (t) => {
  t.equal((await pair.call('python', M(SIMPLE, 'devtable/simple'), 'devtable')).status, 200, 'the main path answers 200');
  await checkParity(
    t,
    pair,
    [
      M(SIMPLE, 'devtable/simple'),
      `${M(SIMPLE, 'devtable/simple')}?include_modelcard=true`,
      M(SIMPLE, 'devtable/nosuchrepo'),
      M('sha256:0000000000000000000000000000000000000000000000000000000000000000', 'devtable/simple'),
      M('sha256:abc', 'devtable/simple'),
      M('sha256:abc', 'public/publicrepo'),
      M(SIMPLE, 'public/publicrepo'),
      M(PUBLIC, 'public/publicrepo'),
      `${M(PUBLIC, 'public/publicrepo')}/labels`,
    ],
    EVERYONE,
  );
});

t.test('RepositoryManifest.get: pushed schema 2, OCI, artifacts and an index', async (t) => {
  await checkParity(t, pair, [M(docker.digest), M(oci.digest)], EVERYONE);
  const paths = PUSHED.flatMap((d) => [M(d), `${M(d)}?include_modelcard=true`, `${M(d)}?include_modelcard=false`, `${M(d)}?include_modelcard=0`]);
  await checkParity(t, pair, paths, ['devtable', 'devtable-token']);
  const card = await pair.call('go', `${M(modelcard.digest)}?include_modelcard=1`, 'devtable');
  t.match((card.body as { modelcard?: string }).modelcard, /^# Model card/, 'the model card is the README.md layer');
  const layers = (await pair.call('go', M(docker.digest), 'devtable')).body as { layers: { blob_digest: string; command: unknown; created_datetime: string | null }[] };
  t.equal(layers.layers.length, 4, 'one layer per history entry, empty ones included');
  t.same(layers.layers[2]!.command, ['/bin/sh', '-c', 'echo hi'], 'a created_by that is JSON is loaded');
  t.equal(layers.layers[2]!.created_datetime, 'Mon, 01 Jan 0001 00:00:00 -0000', 'four-digit year');
});

t.test('RepositoryManifest.get: no alive tag, and a config missing from storage', async (t) => {
  await checkParity(t, pair, [M(moved.digest), `${M(moved.digest)}/labels`, M(broken.digest), `${M(broken.digest)}/labels`], ['devtable', 'reader', 'anonymous']);
  const gone = await pair.callBoth(M(broken.digest), 'devtable');
  t.equal(gone.python.status, 404);
  t.match(gone.python.body, { message: /requested URL was not found/ }, "Quay's abort(404) body");
});

t.test('RepositoryManifestLabels.get and ManageRepositoryManifestLabel.get', async (t) => {
  const base = M(SIMPLE, 'devtable/simple');
  await checkParity(
    t,
    pair,
    [
      `${base}/labels`,
      `${base}/labels?filter=fo`,
      `${base}/labels?filter=FO`,
      `${base}/labels?filter=`,
      `${base}/labels?filter=%25`,
      `${base}/labels?filter=_`,
      `${base}/labels?filter=nothing`,
      `${base}/labels/${SIMPLE_LABEL}`,
      `${base}/labels/not-a-label`,
      `${M(SIMPLE, 'devtable/nosuchrepo')}/labels`,
      `${M(SIMPLE, 'devtable/nosuchrepo')}/labels/${SIMPLE_LABEL}`,
    ],
    EVERYONE,
  );
  const pushedLabels: string[] = [];
  for (const d of [docker.digest, oci.digest]) {
    pushedLabels.push(`${M(d)}/labels`, `${M(d)}/labels?filter=com.`, `${M(d)}/labels?filter=org.example`);
    const found = (await pair.call('python', `${M(d)}/labels`, 'devtable')).body as { labels: { id: string }[] };
    t.ok(found.labels.length > 0, 'labels from the pushed config');
    for (const l of found.labels) pushedLabels.push(`${M(d)}/labels/${l.id}`);
    pushedLabels.push(`${M(oci.digest)}/labels/${found.labels[0]!.id}`);
  }
  await checkParity(t, pair, pushedLabels, ['devtable', 'reader', 'devtable-token']);
});

t.test('RepositoryManifestPullStatistics.get: FEATURE_IMAGE_PULL_STATS off, the path falls through to Repository.get', async (t) => {
  await checkParity(
    t,
    pair,
    [`${M(SIMPLE, 'devtable/simple')}/pull_statistics`, `${M(docker.digest)}/pull_statistics`, `${M(SIMPLE, 'public/publicrepo')}/pull_statistics`],
    EVERYONE,
  );
});
