/**
 * Error answers: other digest algorithms and malformed digests on every
 * blob and manifest route, manifests a registry must refuse, and the whole
 * error bodies (codes, messages, details: BodyMode `error`) of the common
 * lookups, which clients print.
 */
import { bytes, sha256 } from './lib.js';
import type { Sequence } from './session.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  NO_SUCH_UPLOAD,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  OCTETS,
  SHA512_OF_NOTHING,
  ociImage,
  push,
  putManifest,
  putSetup,
  withQuery,
} from './sequence-kit.js';

const SHA384_OF_NOTHING = 'sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b';
const json = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc));

export const ERROR_SEQUENCES: readonly Sequence[] = [
  {
    id: 'digest-algorithms',
    title: 'blobs and manifests by sha512, sha384, an unknown algorithm, upper-case hex: GET, HEAD, DELETE, upload commit',
    async run(s, repo) {
      const data = bytes(100, 'algorithms');
      const d = await push(s, repo(), data, 'blob');
      const img = await ociImage(s, repo(), 'algorithms');
      await putSetup(s, 'PUT manifest by tag', repo(), 'v1', img.manifest, OCI_MANIFEST);
      const refs: [string, string][] = [
        ['sha512', SHA512_OF_NOTHING],
        ['sha384', SHA384_OF_NOTHING],
        ['md5', 'md5:d41d8cd98f00b204e9800998ecf8427e'],
        ['upper-case hex of the blob', `sha256:${d.slice(7).toUpperCase()}`],
        ['upper-case algorithm', `SHA256:${d.slice(7)}`],
      ];
      for (const [what, ref] of refs) {
        await s.step(`GET blob by ${what}`, { path: `/v2/${repo()}/blobs/${ref}` });
        await s.step(`HEAD blob by ${what}`, { method: 'HEAD', path: `/v2/${repo()}/blobs/${ref}` });
        await s.step(`DELETE blob by ${what}`, { method: 'DELETE', path: `/v2/${repo()}/blobs/${ref}` });
        await s.step(`GET manifest by ${what}`, { path: `/v2/${repo()}/manifests/${ref}` });
        await s.step(`HEAD manifest by ${what}`, { method: 'HEAD', path: `/v2/${repo()}/manifests/${ref}` });
        await s.step(`DELETE manifest by ${what}`, { method: 'DELETE', path: `/v2/${repo()}/manifests/${ref}` });
        await s.step(`GET referrers of ${what}`, { path: `/v2/${repo()}/referrers/${ref}` });
      }
      await s.step('POST ?digest=sha384 with a body', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/?digest=${SHA384_OF_NOTHING}`, body: Buffer.alloc(0), headers: OCTETS });
      const post = await s.step('POST upload for a sha384 commit', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/` });
      const url = s.uploadUrl(post, `/v2/${repo()}/blobs/uploads/${NO_SUCH_UPLOAD}`);
      await s.step('PUT ?digest=sha384 of nothing', { method: 'PUT', path: withQuery(url, `digest=${SHA384_OF_NOTHING}`), headers: OCTETS });
      await s.step('tags/list afterwards', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
    },
  },
  {
    id: 'error-bodies',
    title: 'whole error bodies of unknown blobs, manifests, uploads and repositories, and of refused manifests',
    // Messages are prose: Quay's are the ones its clients show; Distribution's are not ours to follow.
    oracles: ['quay'],
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'error-bodies');
      await putSetup(s, 'PUT by tag', repo(), 'v1', img.manifest, OCI_MANIFEST);
      const err = { compare: 'error' } as const;
      await s.step('GET unknown blob', { path: `/v2/${repo()}/blobs/${sha256('never')}`, ...err });
      await s.step('GET unknown manifest tag', { path: `/v2/${repo()}/manifests/never`, ...err });
      await s.step('GET unknown manifest digest', { path: `/v2/${repo()}/manifests/${sha256('never')}`, ...err });
      await s.step('GET unknown upload', { path: `/v2/${repo()}/blobs/uploads/${NO_SUCH_UPLOAD}`, ...err });
      await s.step('DELETE unknown tag', { method: 'DELETE', path: `/v2/${repo()}/manifests/never`, ...err });
      await s.step('tags/list of an unknown repository', { path: `/v2/${repo('nowhere')}/tags/list`, ...err });
      await s.step('PUT manifest with unknown blobs', {
        method: 'PUT',
        path: `/v2/${repo()}/manifests/missing`,
        headers: { 'content-type': OCI_MANIFEST },
        ...err,
        body: json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: sha256('no config'), size: 9 }, layers: [] }),
      });
      await s.step('PUT manifest that is not JSON', { method: 'PUT', path: `/v2/${repo()}/manifests/broken`, headers: { 'content-type': OCI_MANIFEST }, body: 'not json', ...err });
      await s.step('PUT manifest with an unknown content type', {
        method: 'PUT',
        path: `/v2/${repo()}/manifests/odd`,
        headers: { 'content-type': 'application/x-odd' },
        body: img.manifest,
        ...err,
      });
      await s.step('POST ?digest= with the wrong digest', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/?digest=${sha256('other')}`, body: 'abc', headers: OCTETS, ...err });
      await s.step('blob GET with an unsatisfiable range', { path: `/v2/${repo()}/blobs/${sha256('never')}`, headers: { range: 'bytes=5-1' }, ...err });
    },
  },
  {
    id: 'manifest-invalid',
    title: 'manifests that do not fit their schema: wrong config type, missing fields, negative sizes, index entries without platform, body and header types that disagree',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'invalid');
      const doc = JSON.parse(img.manifest.toString()) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
      const cfg = doc.config;
      const layer = doc.layers[0]!;
      const put = (label: string, body: unknown, type: string): Promise<unknown> =>
        putManifest(
          s,
          label,
          repo(),
          label
            .replace(/[^a-z0-9]+/gi, '-')
            .slice(0, 60)
            .replace(/^-+/, ''),
          json(body),
          type,
        );
      await put(
        'schema 2 with an OCI config type',
        { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: { mediaType: OCI_CONFIG, ...cfg }, layers: [{ mediaType: DOCKER_LAYER, ...layer }] },
        DOCKER_MANIFEST,
      );
      await put(
        'schema 2 without mediaType in the body',
        { schemaVersion: 2, config: { mediaType: DOCKER_CONFIG, ...cfg }, layers: [{ mediaType: DOCKER_LAYER, ...layer }] },
        DOCKER_MANIFEST,
      );
      await put(
        'schema 2 with a negative layer size',
        { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: { mediaType: DOCKER_CONFIG, ...cfg }, layers: [{ mediaType: DOCKER_LAYER, digest: layer.digest, size: -1 }] },
        DOCKER_MANIFEST,
      );
      await put('OCI manifest without config', { schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [{ mediaType: OCI_LAYER, ...layer }] }, OCI_MANIFEST);
      await put('OCI manifest without layers', { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...cfg } }, OCI_MANIFEST);
      await put(
        'OCI manifest with the wrong size of a blob',
        { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...cfg }, layers: [{ mediaType: OCI_LAYER, digest: layer.digest, size: layer.size + 1 }] },
        OCI_MANIFEST,
      );
      await put('OCI manifest whose body says index', { schemaVersion: 2, mediaType: OCI_INDEX, config: { mediaType: OCI_CONFIG, ...cfg }, layers: [] }, OCI_MANIFEST);
      const bareConfig = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
      const bare = await push(s, repo(), bareConfig, 'a config without history');
      await put(
        'schema 2 whose config has no history',
        {
          schemaVersion: 2,
          mediaType: DOCKER_MANIFEST,
          config: { mediaType: DOCKER_CONFIG, digest: bare, size: bareConfig.length },
          layers: [{ mediaType: DOCKER_LAYER, ...layer }],
        },
        DOCKER_MANIFEST,
      );
      await put(
        'schema 2 with an OCI layer type',
        { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: { mediaType: DOCKER_CONFIG, digest: bare, size: bareConfig.length }, layers: [{ mediaType: OCI_LAYER, ...layer }] },
        DOCKER_MANIFEST,
      );
      await put(
        'OCI manifest with a malformed layer digest',
        { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...cfg }, layers: [{ mediaType: OCI_LAYER, digest: 'sha256:xyz', size: 1 }] },
        OCI_MANIFEST,
      );
      await putSetup(s, 'PUT the image by digest', repo(), img.digest, img.manifest, OCI_MANIFEST);
      const child = { mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length };
      await put('OCI index without manifests', { schemaVersion: 2, mediaType: OCI_INDEX }, OCI_INDEX);
      await put('OCI index entry without size', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: img.digest }] }, OCI_INDEX);
      await put(
        'OCI index entry with a platform without os',
        { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...child, platform: { architecture: 'amd64' } }] },
        OCI_INDEX,
      );
      await put('OCI index entry with the wrong size', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...child, size: child.size + 1 }] }, OCI_INDEX);
      await put('OCI index without platform (allowed)', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child] }, OCI_INDEX);
      await put('schema 2 list entry without platform', { schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [{ ...child, mediaType: DOCKER_MANIFEST }] }, DOCKER_LIST);
      await put(
        'schema 2 list of an OCI child',
        { schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [{ ...child, platform: { architecture: 'amd64', os: 'linux' } }] },
        DOCKER_LIST,
      );
      await put('content type with a charset parameter', JSON.parse(img.manifest.toString()), `${OCI_MANIFEST}; charset=utf-8`);
      await put('application/json content type', JSON.parse(img.manifest.toString()), 'application/json');
      await s.step('tags/list afterwards', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
    },
  },
];
