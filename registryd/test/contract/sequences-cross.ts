/**
 * Cross-reading sequences (Quay oracle: one database, one storage). Each runs
 * twice, once writing through Quay and once through the TS side (`writes(s)`
 * sends a step to the writer); reads go through both sides. What one side
 * wrote must read back through the other exactly as through itself: blobs,
 * manifests, tags, referrers, the catalog, an upload continued across the
 * sides, deletes, and the writer's tokens used on the reader.
 */
import { bytes, sha256 } from './lib.js';
import type { Sequence } from './session.js';
import {
  ACCEPT_ALL,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  NO_SUCH_UPLOAD,
  OCI_MANIFEST,
  OCTETS,
  dockerImage,
  getManifest,
  ociImage,
  push,
  putSetup,
  withQuery,
  writes,
} from './sequence-kit.js';

export const CROSS_SEQUENCES: readonly Sequence[] = [
  {
    id: 'cross-pull',
    title: 'images, a manifest list and a referrer pushed through one side, pulled and listed through both',
    oracles: ['quay'],
    cross: true,
    async run(s, repo) {
      const w = writes(s);
      const img = await ociImage(w, repo(), 'cross');
      await putSetup(w, 'PUT OCI image by tag', repo(), 'v1', img.manifest, OCI_MANIFEST);
      const dimg = await dockerImage(w, repo('docker'), 'cross-docker');
      await putSetup(w, 'PUT schema 2 image by tag', repo('docker'), 'v2', dimg.manifest, DOCKER_MANIFEST);
      const list = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: DOCKER_LIST,
          manifests: [{ mediaType: DOCKER_MANIFEST, digest: dimg.digest, size: dimg.manifest.length, platform: { architecture: 'arm64', os: 'linux' } }],
        }),
      );
      await putSetup(w, 'PUT manifest list by tag', repo('docker'), 'list', list, DOCKER_LIST);
      const cd = await push(w, repo(), Buffer.from('{}'), 'empty config');
      const sbomBytes = Buffer.from('{"sbom":1}');
      const ld = await push(w, repo(), sbomBytes, 'sbom blob');
      const sbom = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: 'application/vnd.example.sbom',
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: cd, size: 2 },
          layers: [{ mediaType: 'application/json', digest: ld, size: sbomBytes.length }],
          subject: { mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length },
        }),
      );
      await putSetup(w, 'PUT referrer by digest', repo(), sha256(sbom), sbom, OCI_MANIFEST);

      await getManifest(s, 'GET manifest by tag', repo(), 'v1');
      await getManifest(s, 'HEAD manifest by tag', repo(), 'v1', 'HEAD');
      await getManifest(s, 'GET manifest by digest', repo(), img.digest);
      await getManifest(s, 'GET schema 2 manifest by tag', repo('docker'), 'v2');
      await getManifest(s, 'GET manifest list by tag', repo('docker'), 'list');
      await getManifest(s, 'HEAD manifest list by digest', repo('docker'), sha256(list), 'HEAD');
      const layer = (JSON.parse(img.manifest.toString()) as { layers: { digest: string }[] }).layers[0]!.digest;
      await s.step('GET layer blob', { path: `/v2/${repo()}/blobs/${layer}`, compare: 'bytes' });
      await s.step('HEAD layer blob', { method: 'HEAD', path: `/v2/${repo()}/blobs/${layer}` });
      await s.step('GET layer blob, Range: bytes=0-9', { path: `/v2/${repo()}/blobs/${layer}`, headers: { range: 'bytes=0-9' }, compare: 'bytes' });
      await s.step('tags/list', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
      await s.step('tags/list of the docker repository', { path: `/v2/${repo('docker')}/tags/list`, compare: 'tags' });
      await s.step('GET referrers', { path: `/v2/${repo()}/referrers/${img.digest}`, compare: 'json' });
      await s.login();
      await s.step('_catalog', { path: '/v2/_catalog', compare: 'json' });
    },
  },
  {
    id: 'cross-upload',
    title: 'one blob upload, chunk by chunk, alternating between the sides; a mount from a repository the other side pushed',
    oracles: ['quay'],
    cross: true,
    async run(s, repo) {
      const w = writes(s);
      const data = bytes(3000, 'cross upload');
      const post = await w.step('POST upload (writer)', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/` });
      let url = s.uploadUrl(post, `/v2/${repo()}/blobs/uploads/${NO_SUCH_UPLOAD}`);
      const chunk = (from: number, to: number): Buffer => data.subarray(from, to);
      url = s.uploadUrl(await s.step('PATCH bytes 0-999 (reader)', { method: 'PATCH', path: url, body: chunk(0, 1000), headers: { ...OCTETS, 'content-range': '0-999' } }), url);
      await s.step('status (reader)', { path: url });
      url = s.uploadUrl(
        await w.step('PATCH bytes 1000-1999 (writer)', { method: 'PATCH', path: url, body: chunk(1000, 2000), headers: { ...OCTETS, 'content-range': '1000-1999' } }),
        url,
      );
      await w.step('status (writer)', { path: url });
      url = s.uploadUrl(
        await s.step('PATCH bytes 2000-2999 (reader)', { method: 'PATCH', path: url, body: chunk(2000, 3000), headers: { ...OCTETS, 'content-range': '2000-2999' } }),
        url,
      );
      await s.step('PUT ?digest (reader)', { method: 'PUT', path: withQuery(url, `digest=${sha256(data)}`), headers: OCTETS });
      await w.step('GET blob (writer)', { path: `/v2/${repo()}/blobs/${sha256(data)}`, compare: 'bytes' });
      await s.step('GET blob (reader)', { path: `/v2/${repo()}/blobs/${sha256(data)}`, compare: 'bytes' });

      const other = bytes(500, 'cross mount');
      const d = await push(w, repo('src'), other, 'blob in src (writer)');
      await s.step('POST ?mount&from=src (reader)', {
        method: 'POST',
        path: `/v2/${repo('dst')}/blobs/uploads/?mount=${d}&from=${repo('src')}`,
        scopes: [`repository:${repo('dst')}:pull,push`, `repository:${repo('src')}:pull`],
      });
      await w.step('GET mounted blob (writer)', { path: `/v2/${repo('dst')}/blobs/${d}`, compare: 'bytes' });
      const up = await w.step('POST upload to cancel (writer)', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/` });
      const cancel = s.uploadUrl(up, `/v2/${repo()}/blobs/uploads/${NO_SUCH_UPLOAD}`);
      await s.step('DELETE the upload (reader)', { method: 'DELETE', path: cancel });
      await w.step('status of the cancelled upload (writer)', { path: cancel });
    },
  },
  {
    id: 'cross-delete',
    title: 'tags and manifests pushed through one side, deleted through the other',
    oracles: ['quay'],
    cross: true,
    async run(s, repo) {
      const w = writes(s);
      const img = await ociImage(w, repo(), 'cross-delete');
      await putSetup(w, 'PUT by tag a', repo(), 'a', img.manifest, OCI_MANIFEST);
      await putSetup(w, 'PUT by tag b', repo(), 'b', img.manifest, OCI_MANIFEST);
      const other = await ociImage(w, repo(), 'cross-delete-other');
      await putSetup(w, 'PUT other by tag c', repo(), 'c', other.manifest, OCI_MANIFEST);
      await s.step('DELETE tag a (reader)', { method: 'DELETE', path: `/v2/${repo()}/manifests/a` });
      await getManifest(w, 'GET tag a (writer)', repo(), 'a');
      await w.step('tags/list (writer)', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
      await s.step('DELETE other by digest (reader)', { method: 'DELETE', path: `/v2/${repo()}/manifests/${other.digest}` });
      await getManifest(w, 'GET tag c (writer)', repo(), 'c');
      await w.step('tags/list after both (writer)', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
      await w.step('DELETE tag b (writer)', { method: 'DELETE', path: `/v2/${repo()}/manifests/b` });
      await s.step('GET tag b (reader)', { path: `/v2/${repo()}/manifests/b`, headers: { accept: ACCEPT_ALL } });
      await s.step('tags/list at the end (reader)', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
    },
  },
  {
    id: 'cross-auth',
    title: 'tokens the writer issued, used on the reader: /v2/, a private repository, the catalog, an anonymous token on a public repository',
    oracles: ['quay'],
    cross: true,
    async run(s, repo) {
      const w = writes(s);
      const img = await ociImage(w, repo(), 'cross-auth');
      await putSetup(w, 'PUT by tag', repo(), 'v1', img.manifest, OCI_MANIFEST);
      await s.step('GET /v2/ with a login token', { path: '/v2/', scopes: [] });
      await s.step('tags/list with a pull token', { path: `/v2/${repo()}/tags/list`, compare: 'tags', scopes: [`repository:${repo()}:pull`] });
      await s.step('POST upload with a push token', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/`, scopes: [`repository:${repo()}:pull,push`] });
      await s.step('_catalog with a login token', { path: '/v2/_catalog', compare: 'json', scopes: [] });
      await s.as('devtable').step('devtable: tags/list of devtable/simple', { path: '/v2/devtable/simple/tags/list', compare: 'tags' });
      await s.as('anonymous').step('anonymous: tags/list of public/publicrepo', { path: '/v2/public/publicrepo/tags/list', compare: 'tags' });
      await s.as('devtable+dtrobot').step('dtrobot: tags/list of devtable/complex', { path: '/v2/devtable/complex/tags/list', compare: 'tags' });
    },
  },
];
