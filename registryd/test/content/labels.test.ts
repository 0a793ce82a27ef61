/**
 * The labels Quay records for a new manifest (pure, no registry): from the
 * config of Docker and OCI images, annotations over them for OCI, the
 * annotations alone for other OCI manifests, none for indexes; the value's
 * media type by Quay's is_json.
 */
import t from 'tap';
import { parseManifest } from '../../content/manifest.js';
import { isJsonValue, labelsNeedConfig, manifestLabels } from '../../content/labels.js';
import { sha256 } from '../lib/server.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { b: 'from config', a: '{"k": [1]}', '': 'no key', n: 5 } } }));
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256('layer'), size: 5 };
const parse = (doc: unknown, type: string) => parseManifest(Buffer.from(JSON.stringify(doc)), type);

t.test("images: the config's labels, OCI annotations over them", async (t) => {
  const docker = parse(
    {
      schemaVersion: 2,
      mediaType: DOCKER,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(config), size: config.length },
      layers: [{ ...layer, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }],
    },
    DOCKER,
  );
  t.ok(labelsNeedConfig(docker));
  t.same(
    manifestLabels(docker, config),
    [
      { key: 'b', value: 'from config', mediaType: 'text/plain' },
      { key: 'a', value: '{"k": [1]}', mediaType: 'application/json' },
    ],
    'empty keys and non-strings skipped',
  );
  const oci = parse(
    {
      schemaVersion: 2,
      mediaType: OCI,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [layer],
      annotations: { b: 'from annotation', c: '[1, 2]' },
    },
    OCI,
  );
  t.same(
    manifestLabels(oci, config),
    [
      { key: 'b', value: 'from annotation', mediaType: 'text/plain' },
      { key: 'a', value: '{"k": [1]}', mediaType: 'application/json' },
      { key: 'c', value: '[1, 2]', mediaType: 'application/json' },
    ],
    "an annotation keeps the config label's place",
  );
  t.same(
    manifestLabels(oci, null),
    [
      { key: 'b', value: 'from annotation', mediaType: 'text/plain' },
      { key: 'c', value: '[1, 2]', mediaType: 'application/json' },
    ],
    'a config that cannot be read gives none of its labels',
  );
  t.same(manifestLabels(oci, Buffer.from('{"config": null}')).length, 2);
});

t.test('artifacts: annotations only; indexes: nothing', async (t) => {
  const artifact = parse(
    {
      schemaVersion: 2,
      mediaType: OCI,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
      layers: [layer],
      annotations: { 'org.opencontainers.image.created': '2026-01-01' },
    },
    OCI,
  );
  t.notOk(labelsNeedConfig(artifact));
  t.same(manifestLabels(artifact, config), [{ key: 'org.opencontainers.image.created', value: '2026-01-01', mediaType: 'text/plain' }]);
  const index = parse(
    { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], annotations: { a: 'b' } },
    'application/vnd.oci.image.index.v1+json',
  );
  t.same(manifestLabels(index, null), []);
});

t.test('is_json: an object or an array Python can parse', async (t) => {
  for (const v of ['{}', '[]', '{"a": 1}', '[NaN, Infinity, -Infinity]']) t.ok(isJsonValue(v), v);
  for (const v of ['', '"text"', '12', '{bad}', '[1,', 'true', ' {}']) t.notOk(isJsonValue(v), JSON.stringify(v));
});
