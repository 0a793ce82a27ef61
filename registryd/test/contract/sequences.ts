/**
 * The request sequences the contract runs on both registries. Each runs in
 * repositories of its own (`repo()`), so no state leaks between sequences;
 * the code is the same for both targets and only follows what responses say
 * (upload Locations), never which registry answered.
 */
import { bytes, sha256 } from './lib.js';
import type { Response, Sequence } from './session.js';
import {
  ACCEPT_ALL,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  NO_SUCH_UPLOAD,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  OCTETS,
  SHA512_OF_NOTHING,
  Upload,
  dockerImage,
  getManifest,
  ociImage,
  push,
  putManifest,
  putSetup,
  withQuery,
} from './sequence-kit.js';

export const SEQUENCES: readonly Sequence[] = [
  {
    id: 'base',
    title: 'GET and HEAD /v2/',
    async run(s) {
      await s.step('GET /v2/', { path: '/v2/', compare: 'json' });
      await s.step('HEAD /v2/', { method: 'HEAD', path: '/v2/' });
    },
  },
  {
    id: 'monolithic-post',
    title: 'monolithic push: a single POST ?digest= with the body',
    async run(s, repo) {
      const data = bytes(3000, 'monolithic');
      const d = sha256(data);
      await s.step('POST ?digest with body', {
        method: 'POST',
        path: `/v2/${repo()}/blobs/uploads/?digest=${d}`,
        body: data,
        headers: { 'content-type': 'application/octet-stream' },
      });
      await s.step('HEAD blob', { method: 'HEAD', path: `/v2/${repo()}/blobs/${d}` });
      await s.step('GET blob', { path: `/v2/${repo()}/blobs/${d}`, compare: 'bytes' });
    },
  },
  {
    id: 'monolithic-post-empty',
    title: 'monolithic push of the empty blob: POST ?digest= without a body',
    async run(s, repo) {
      const d = sha256(Buffer.alloc(0));
      await s.step('POST ?digest=<empty> without body', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/?digest=${d}` });
      await s.step('HEAD empty blob', { method: 'HEAD', path: `/v2/${repo()}/blobs/${d}` });
    },
  },
  {
    id: 'monolithic-put',
    title: 'POST, then one PUT ?digest= with the whole body',
    async run(s, repo) {
      const data = bytes(5000, 'post-put');
      const d = await push(s, repo(), data, 'blob');
      await s.step('HEAD blob', { method: 'HEAD', path: `/v2/${repo()}/blobs/${d}` });
      await s.step('GET blob', { path: `/v2/${repo()}/blobs/${d}`, compare: 'bytes' });
      await push(s, repo(), data, 'the same blob again');
    },
  },
  {
    id: 'chunked',
    title: 'POST, PATCH ×2 with Content-Range, PATCH without, status between, PUT ?digest without body',
    async run(s, repo) {
      const data = bytes(300, 'chunked');
      const d = sha256(data);
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('status of the empty upload', {});
      await up.step('PATCH 0-99', { method: 'PATCH', body: data.subarray(0, 100), headers: { ...OCTETS, 'content-range': '0-99' } });
      await up.step('status after 100 bytes', {});
      await up.step('PATCH 100-249', { method: 'PATCH', body: data.subarray(100, 250), headers: { ...OCTETS, 'content-range': '100-249' } });
      await up.step('status after 250 bytes', {});
      await up.step('PATCH the rest without Content-Range', { method: 'PATCH', body: data.subarray(250), headers: OCTETS });
      await up.step('PUT ?digest without body', { method: 'PUT', query: `digest=${d}` });
      await up.step('status after commit', {});
      await s.step('GET blob', { path: `/v2/${repo()}/blobs/${d}`, compare: 'bytes' });
    },
  },
  {
    id: 'chunked-final-body',
    title: 'POST, PATCH, then PUT ?digest= carrying the last chunk',
    async run(s, repo) {
      const data = bytes(200, 'final body');
      const d = sha256(data);
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PATCH 0-119', { method: 'PATCH', body: data.subarray(0, 120), headers: { ...OCTETS, 'content-range': '0-119' } });
      await up.step('PUT ?digest with the last 80 bytes', { method: 'PUT', query: `digest=${d}`, body: data.subarray(120), headers: OCTETS });
      await s.step('GET blob', { path: `/v2/${repo()}/blobs/${d}`, compare: 'bytes' });
    },
  },
  {
    id: 'chunk-gap',
    title: 'a PATCH whose Content-Range would leave a gap, then the upload goes on',
    async run(s, repo) {
      const data = bytes(30, 'gap');
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PATCH 0-9', { method: 'PATCH', body: data.subarray(0, 10), headers: { ...OCTETS, 'content-range': '0-9' } });
      await up.step('PATCH 20-29 (gap)', { method: 'PATCH', body: data.subarray(20, 30), headers: { ...OCTETS, 'content-range': '20-29' } });
      await up.step('status after the gapped chunk', {});
      await up.step('PATCH 10-29', { method: 'PATCH', body: data.subarray(10), headers: { ...OCTETS, 'content-range': '10-29' } });
      await up.step('PUT ?digest of the 30 bytes in order', { method: 'PUT', query: `digest=${sha256(data)}` });
    },
  },
  {
    id: 'chunk-overlap',
    title: 'a PATCH whose Content-Range overlaps what the upload already has',
    async run(s, repo) {
      const data = bytes(30, 'overlap');
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PATCH 0-19', { method: 'PATCH', body: data.subarray(0, 20), headers: { ...OCTETS, 'content-range': '0-19' } });
      await up.step('PATCH 10-29 (overlap)', { method: 'PATCH', body: data.subarray(10), headers: { ...OCTETS, 'content-range': '10-29' } });
      await up.step('status after the overlapping chunk', {});
      await up.step('PUT ?digest of the 30 bytes in order', { method: 'PUT', query: `digest=${sha256(data)}` });
    },
  },
  {
    id: 'chunk-bad-range',
    title: 'PATCH with malformed Content-Range headers',
    async run(s, repo) {
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PATCH Content-Range: bytes 0-9/10', { method: 'PATCH', body: bytes(10, 'r'), headers: { ...OCTETS, 'content-range': 'bytes 0-9/10' } });
      await up.step('PATCH Content-Range: abc', { method: 'PATCH', body: bytes(10, 'r'), headers: { ...OCTETS, 'content-range': 'abc' } });
      await up.step('PATCH Content-Range: 9-0 (end before start)', { method: 'PATCH', body: bytes(10, 'r'), headers: { ...OCTETS, 'content-range': '9-0' } });
      await up.step('status after the malformed chunks', {});
    },
  },
  {
    id: 'patch-content-type',
    title: 'PATCH with a Content-Type other than application/octet-stream',
    async run(s, repo) {
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PATCH Content-Type: text/plain', { method: 'PATCH', body: 'abc', headers: { 'content-type': 'text/plain' } });
      await up.step('status after it', {});
    },
  },
  {
    id: 'upload-cancel',
    title: 'DELETE an upload, then use it',
    async run(s, repo) {
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PATCH 3 bytes', { method: 'PATCH', body: 'abc', headers: OCTETS });
      await up.step('DELETE upload', { method: 'DELETE' });
      await up.step('status after DELETE', {});
      await up.step('PATCH after DELETE', { method: 'PATCH', body: 'def', headers: OCTETS });
      await up.step('PUT after DELETE', { method: 'PUT', query: `digest=${sha256('abcdef')}` });
      await up.step('DELETE again', { method: 'DELETE' });
    },
  },
  {
    id: 'put-wrong-digest',
    title: 'final PUT whose digest does not match the content',
    async run(s, repo) {
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PATCH 3 bytes', { method: 'PATCH', body: 'abc', headers: OCTETS });
      await up.step('PUT ?digest=<digest of other bytes>', { method: 'PUT', query: `digest=${sha256('not abc')}` });
      await up.step('status after the refused PUT', {});
      await up.step('PUT ?digest=<right digest> after the refused PUT', { method: 'PUT', query: `digest=${sha256('abc')}` });
      await s.step('HEAD the wrong digest', { method: 'HEAD', path: `/v2/${repo()}/blobs/${sha256('not abc')}` });
    },
  },
  {
    id: 'put-bad-digest-param',
    title: 'final PUT without a digest and with a malformed one',
    async run(s, repo) {
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PATCH 3 bytes', { method: 'PATCH', body: 'abc', headers: OCTETS });
      await up.step('PUT without digest', { method: 'PUT' });
      await up.step('status after PUT without digest', {});
      await up.step('PUT ?digest=sha256:xyz', { method: 'PUT', query: 'digest=sha256:xyz' });
      await up.step('status after PUT with malformed digest', {});
      await up.step('PUT ?digest=<right digest>', { method: 'PUT', query: `digest=${sha256('abc')}` });
    },
  },
  {
    id: 'put-sha512',
    title: 'uploads committed under a sha512 digest of their content',
    async run(s, repo) {
      const up = await Upload.start(s, 'POST upload', repo());
      await up.step('PUT ?digest=sha512:<of nothing> without body', { method: 'PUT', query: `digest=${SHA512_OF_NOTHING}` });
      await s.step('POST ?digest=sha512:<of nothing> without body', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/?digest=${SHA512_OF_NOTHING}` });
      await s.step('HEAD the sha256 of nothing', { method: 'HEAD', path: `/v2/${repo()}/blobs/${sha256('')}` });
    },
  },
  {
    id: 'unknown-upload',
    title: 'an upload uuid nobody handed out, in an existing and an unknown repository',
    async run(s, repo) {
      await push(s, repo(), Buffer.from('exists'), 'make the repository');
      const url = `/v2/${repo()}/blobs/uploads/${NO_SUCH_UPLOAD}`;
      await s.step('GET status', { path: url });
      await s.step('PATCH', { method: 'PATCH', path: url, body: 'abc', headers: OCTETS });
      await s.step('PUT ?digest', { method: 'PUT', path: withQuery(url, `digest=${sha256('abc')}`), body: 'abc', headers: OCTETS });
      await s.step('DELETE', { method: 'DELETE', path: url });
      await s.step('GET status, not a uuid', { path: `/v2/${repo()}/blobs/uploads/not-a-uuid` });
      await s.step('GET status in an unknown repository', { path: `/v2/${repo('nowhere')}/blobs/uploads/${NO_SUCH_UPLOAD}` });
      await s.step('tags/list of that unknown repository afterwards', { path: `/v2/${repo('nowhere')}/tags/list`, compare: 'tags' });
    },
  },
  {
    id: 'upload-other-repo',
    title: "an upload continued under another repository's path",
    async run(s, repo) {
      await push(s, repo('b'), Buffer.from('b exists'), 'make repository b');
      const up = await Upload.start(s, 'POST upload in a', repo('a'));
      const other = up.url.replace(`/v2/${repo('a')}/`, `/v2/${repo('b')}/`);
      await s.step('PATCH it under b', { method: 'PATCH', path: other, body: 'abc', headers: OCTETS });
      await up.step('status under a', {});
    },
  },
  {
    id: 'blob-range',
    title: 'blob GET/HEAD with Range: first bytes, suffix, open-ended, unsatisfiable, multi-range',
    async run(s, repo) {
      const data = bytes(1000, 'range');
      const d = await push(s, repo(), data, 'blob');
      const path = `/v2/${repo()}/blobs/${d}`;
      const get = (label: string, range: string, method = 'GET'): Promise<Response> => s.step(label, { method, path, headers: { range }, compare: 'bytes' });
      await get('Range: bytes=0-9', 'bytes=0-9');
      await get('Range: bytes=990-2000 (end past the size)', 'bytes=990-2000');
      await get('Range: bytes=-10 (suffix)', 'bytes=-10');
      await get('Range: bytes=995- (open-ended)', 'bytes=995-');
      await get('Range: bytes=1000-1010 (unsatisfiable)', 'bytes=1000-1010');
      await get('Range: bytes=5-2 (end before start)', 'bytes=5-2');
      await get('Range: bytes=0-1,5-6 (multi-range)', 'bytes=0-1,5-6');
      await get('Range: items=0-1 (other unit)', 'items=0-1');
      await get('HEAD with Range: bytes=0-9', 'bytes=0-9', 'HEAD');
    },
  },
  {
    id: 'blob-unknown',
    title: 'unknown blobs, in an existing and an unknown repository',
    async run(s, repo) {
      await push(s, repo(), Buffer.from('exists'), 'make the repository');
      const d = sha256('never pushed');
      await s.step('HEAD unknown blob', { method: 'HEAD', path: `/v2/${repo()}/blobs/${d}` });
      await s.step('GET unknown blob', { path: `/v2/${repo()}/blobs/${d}` });
      await s.step('GET blob in unknown repository', { path: `/v2/${repo('nowhere')}/blobs/${d}` });
      await s.step('HEAD blob in unknown repository', { method: 'HEAD', path: `/v2/${repo('nowhere')}/blobs/${d}` });
      await s.step('GET blob pushed to another repository', { path: `/v2/${repo()}/blobs/${sha256('other repository')}` });
    },
  },
  {
    id: 'blob-malformed-digest',
    title: 'malformed and unsupported digests in blob paths',
    async run(s, repo) {
      await push(s, repo(), Buffer.from('exists'), 'make the repository');
      await s.step('GET blobs/sha256:xyz', { path: `/v2/${repo()}/blobs/sha256:xyz` });
      await s.step('HEAD blobs/sha256:xyz', { method: 'HEAD', path: `/v2/${repo()}/blobs/sha256:xyz` });
      await s.step('GET blobs/sha256:<63 hex>', { path: `/v2/${repo()}/blobs/sha256:${'a'.repeat(63)}` });
      await s.step('GET blobs/sha256:<64 uppercase hex>', { path: `/v2/${repo()}/blobs/sha256:${'A'.repeat(64)}` });
      await s.step('GET blobs/notadigest', { path: `/v2/${repo()}/blobs/notadigest` });
      await s.step('GET blobs/sha512:<128 hex>', { path: `/v2/${repo()}/blobs/${SHA512_OF_NOTHING}` });
      await s.step('HEAD blobs/sha512:<128 hex>', { method: 'HEAD', path: `/v2/${repo()}/blobs/${SHA512_OF_NOTHING}` });
      await s.step('DELETE blobs/sha256:xyz', { method: 'DELETE', path: `/v2/${repo()}/blobs/sha256:xyz` });
      await s.step('POST ?digest=sha256:xyz', { method: 'POST', path: `/v2/${repo()}/blobs/uploads/?digest=sha256:xyz`, body: 'x' });
    },
  },
  {
    id: 'blob-delete',
    title: 'DELETE a blob, then read it',
    async run(s, repo) {
      const d = await push(s, repo(), bytes(64, 'delete me'), 'blob');
      await s.step('DELETE blob', { method: 'DELETE', path: `/v2/${repo()}/blobs/${d}` });
      await s.step('HEAD after DELETE', { method: 'HEAD', path: `/v2/${repo()}/blobs/${d}` });
      await s.step('DELETE unknown blob', { method: 'DELETE', path: `/v2/${repo()}/blobs/${sha256('never pushed')}` });
    },
  },
  {
    id: 'mount',
    title: 'cross-repository mount: success, unknown source repository, blob not in the source',
    async run(s, repo) {
      const data = bytes(700, 'mount');
      const d = await push(s, repo('src'), data, 'blob in src');
      await s.step('POST ?mount&from=src', { method: 'POST', path: `/v2/${repo('dst')}/blobs/uploads/?mount=${d}&from=${repo('src')}` });
      await s.step('HEAD mounted blob', { method: 'HEAD', path: `/v2/${repo('dst')}/blobs/${d}` });
      await s.step('GET mounted blob', { path: `/v2/${repo('dst')}/blobs/${d}`, compare: 'bytes' });
      const miss = await s.step('POST ?mount&from=<unknown repository>', { method: 'POST', path: `/v2/${repo('dst2')}/blobs/uploads/?mount=${d}&from=${repo('nowhere')}` });
      await s.step('status of the session it opened', { path: s.uploadUrl(miss, `/v2/${repo('dst2')}/blobs/uploads/${NO_SUCH_UPLOAD}`) });
      await s.step('POST ?mount=<blob not in src>&from=src', { method: 'POST', path: `/v2/${repo('dst3')}/blobs/uploads/?mount=${sha256('absent')}&from=${repo('src')}` });
      await s.step('POST ?mount without from', { method: 'POST', path: `/v2/${repo('dst4')}/blobs/uploads/?mount=${d}` });
      await s.step('HEAD blob after mount without from', { method: 'HEAD', path: `/v2/${repo('dst4')}/blobs/${d}` });
    },
  },
  {
    id: 'manifest-oci',
    title: 'OCI image manifest: PUT by tag, GET/HEAD by tag and digest',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'oci');
      await putSetup(s, 'PUT by tag', repo(), 'v1', img.manifest, OCI_MANIFEST);
      await getManifest(s, 'GET by tag', repo(), 'v1');
      await getManifest(s, 'HEAD by tag', repo(), 'v1', 'HEAD');
      await getManifest(s, 'GET by digest', repo(), img.digest);
      await getManifest(s, 'HEAD by digest', repo(), img.digest, 'HEAD');
      await getManifest(s, 'GET by tag, Accept: OCI manifest only', repo(), 'v1', 'GET', OCI_MANIFEST);
      await getManifest(s, 'GET by tag without Accept', repo(), 'v1', 'GET', null);
      await getManifest(s, 'GET by digest without Accept', repo(), img.digest, 'GET', null);
      await putManifest(s, 'PUT the same manifest again under v1', repo(), 'v1', img.manifest, OCI_MANIFEST);
      await putManifest(s, 'PUT under a second tag', repo(), 'v2', img.manifest, OCI_MANIFEST);
      await s.step('tags/list', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
    },
  },
  {
    id: 'manifest-by-digest',
    title: 'OCI image manifest PUT by digest, untagged',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'bydigest');
      await putSetup(s, 'PUT by digest', repo(), img.digest, img.manifest, OCI_MANIFEST);
      await getManifest(s, 'GET by digest', repo(), img.digest);
      await s.step('tags/list', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
    },
  },
  {
    id: 'manifest-oci-index',
    title: 'OCI index over two manifests pushed by digest',
    async run(s, repo) {
      const a = await ociImage(s, repo(), 'amd64');
      const b = await ociImage(s, repo(), 'arm64');
      await putSetup(s, 'PUT child amd64 by digest', repo(), a.digest, a.manifest, OCI_MANIFEST);
      await putSetup(s, 'PUT child arm64 by digest', repo(), b.digest, b.manifest, OCI_MANIFEST);
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
            { mediaType: OCI_MANIFEST, digest: b.digest, size: b.manifest.length, platform: { architecture: 'arm64', os: 'linux' } },
          ],
        }),
      );
      await putSetup(s, 'PUT index by tag', repo(), 'multi', index, OCI_INDEX);
      await getManifest(s, 'GET index by tag', repo(), 'multi');
      await getManifest(s, 'GET index by digest', repo(), sha256(index));
      await getManifest(s, 'GET child by digest', repo(), a.digest);
      const dangling = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('no such child'), size: 10, platform: { architecture: 'amd64', os: 'linux' } }],
        }),
      );
      await putManifest(s, 'PUT index with an unknown child', repo(), 'dangling', dangling, OCI_INDEX);
    },
  },
  {
    id: 'manifest-docker',
    title: 'Docker schema 2 manifest and manifest list',
    async run(s, repo) {
      const img = await dockerImage(s, repo(), 'docker');
      await putSetup(s, 'PUT schema 2 by tag', repo(), 'v2', img.manifest, DOCKER_MANIFEST);
      await getManifest(s, 'GET by tag', repo(), 'v2');
      await getManifest(s, 'HEAD by digest', repo(), img.digest, 'HEAD');
      await getManifest(s, 'GET by tag, Accept: schema 2 only', repo(), 'v2', 'GET', DOCKER_MANIFEST);
      const list = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: DOCKER_LIST,
          manifests: [{ mediaType: DOCKER_MANIFEST, digest: img.digest, size: img.manifest.length, platform: { architecture: 'arm64', os: 'linux' } }],
        }),
      );
      await putSetup(s, 'PUT manifest list by tag', repo(), 'list', list, DOCKER_LIST);
      await getManifest(s, 'GET list by tag', repo(), 'list');
      await getManifest(s, 'GET list by digest', repo(), sha256(list));
      await putManifest(s, 'PUT schema 2 under the OCI content type', repo(), 'mixed', img.manifest, OCI_MANIFEST);
    },
  },
  {
    id: 'manifest-refused',
    title: 'manifest PUTs a registry must refuse',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'refused');
      await putManifest(s, 'PUT by digest, body has another digest', repo(), sha256('something else'), img.manifest, OCI_MANIFEST);
      const missing = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: sha256('no config'), size: 9 },
          layers: [{ mediaType: OCI_LAYER, digest: sha256('no layer'), size: 8 }],
        }),
      );
      await putManifest(s, 'PUT by tag, blobs missing', repo(), 'missing', missing, OCI_MANIFEST);
      await putManifest(s, 'PUT by digest, blobs missing', repo(), sha256(missing), missing, OCI_MANIFEST);
      await putManifest(s, 'PUT invalid JSON', repo(), 'broken', Buffer.from('{"schemaVersion": 2,'), OCI_MANIFEST);
      await putManifest(s, 'PUT unsupported Content-Type', repo(), 'odd', img.manifest, 'application/x-unknown');
      await putManifest(s, 'PUT without Content-Type', repo(), 'untyped', img.manifest, null);
      await putManifest(s, 'PUT schemaVersion 3', repo(), 'v3', Buffer.from(JSON.stringify({ ...JSON.parse(img.manifest.toString()), schemaVersion: 3 })), OCI_MANIFEST);
      await putManifest(s, 'PUT to an invalid tag', repo(), '-bad', img.manifest, OCI_MANIFEST);
      await putManifest(s, 'PUT by sha512 digest', repo(), SHA512_OF_NOTHING, img.manifest, OCI_MANIFEST);
      await s.step('tags/list after the PUTs', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
    },
  },
  {
    id: 'manifest-unknown',
    title: 'unknown tags and digests; manifests of an unknown repository',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'known');
      await putSetup(s, 'PUT by tag', repo(), 'known', img.manifest, OCI_MANIFEST);
      await getManifest(s, 'GET unknown tag', repo(), 'unknown');
      await getManifest(s, 'HEAD unknown tag', repo(), 'unknown', 'HEAD');
      await getManifest(s, 'GET unknown digest', repo(), sha256('unknown manifest'));
      await getManifest(s, 'GET malformed digest', repo(), 'sha256:xyz');
      await getManifest(s, 'GET sha512 digest', repo(), SHA512_OF_NOTHING);
      await getManifest(s, 'GET tag in unknown repository', repo('nowhere'), 'known');
      await getManifest(s, 'HEAD digest in unknown repository', repo('nowhere'), img.digest, 'HEAD');
    },
  },
  {
    id: 'manifest-delete',
    title: 'manifest DELETE by digest and by tag',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'delete');
      await putSetup(s, 'PUT by tag', repo(), 'doomed', img.manifest, OCI_MANIFEST);
      await s.step('DELETE by digest', { method: 'DELETE', path: `/v2/${repo()}/manifests/${img.digest}` });
      await getManifest(s, 'GET by tag after DELETE', repo(), 'doomed');
      await getManifest(s, 'GET by digest after DELETE', repo(), img.digest);
      await s.step('DELETE by digest again', { method: 'DELETE', path: `/v2/${repo()}/manifests/${img.digest}` });
      await s.step('tags/list after DELETE', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
      await s.step('DELETE malformed digest', { method: 'DELETE', path: `/v2/${repo()}/manifests/sha256:xyz` });
      await s.step('DELETE unknown digest in unknown repository', { method: 'DELETE', path: `/v2/${repo('nowhere')}/manifests/${img.digest}` });
    },
  },
  {
    id: 'manifest-delete-tag',
    title: 'manifest DELETE by tag',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'untag');
      await putSetup(s, 'PUT by tag a', repo(), 'a', img.manifest, OCI_MANIFEST);
      await putSetup(s, 'PUT by tag b', repo(), 'b', img.manifest, OCI_MANIFEST);
      await s.step('DELETE by tag a', { method: 'DELETE', path: `/v2/${repo()}/manifests/a` });
      await getManifest(s, 'GET by tag a after DELETE', repo(), 'a');
      await getManifest(s, 'GET by tag b after DELETE of a', repo(), 'b');
      await getManifest(s, 'GET by digest after DELETE of a', repo(), img.digest);
      await s.step('tags/list after DELETE of a', { path: `/v2/${repo()}/tags/list`, compare: 'tags' });
      await s.step('DELETE unknown tag', { method: 'DELETE', path: `/v2/${repo()}/manifests/never` });
    },
  },
  {
    id: 'tags-list',
    title: 'tags/list and its n/last pagination',
    async run(s, repo) {
      const img = await ociImage(s, repo(), 'tags');
      for (const tag of ['delta', 'alpha', 'charlie', 'bravo', 'echo']) await putSetup(s, `PUT ${tag}`, repo(), tag, img.manifest, OCI_MANIFEST);
      const list = (label: string, q: string): Promise<Response> => s.step(label, { path: `/v2/${repo()}/tags/list${q}`, compare: 'tags' });
      await list('tags/list', '');
      await list('tags/list?n=2', '?n=2');
      await list('tags/list?n=2&last=bravo', '?n=2&last=bravo');
      await list('tags/list?last=charlie', '?last=charlie');
      await list('tags/list?n=0', '?n=0');
      await list('tags/list?n=5 (exactly all)', '?n=5');
      await list('tags/list?n=10', '?n=10');
      await list('tags/list?n=abc', '?n=abc');
      await list('tags/list?last=zulu', '?last=zulu');
      await s.step('tags/list of an unknown repository', { path: `/v2/${repo('nowhere')}/tags/list`, compare: 'tags' });
    },
  },
  {
    id: 'catalog',
    title: '_catalog and its n/last pagination (a namespace, or a registry pair, of its own)',
    isolated: true,
    async run(s) {
      // Created in this order: a registry that lists by creation (Quay: by id) and one that lists by name differ.
      for (const name of ['delta', 'alpha', 'charlie', 'bravo']) {
        const img = await ociImage(s, `${s.ns}/${name}`, `cat-${name}`);
        await putSetup(s, `PUT <ns>/${name}:latest`, `${s.ns}/${name}`, 'latest', img.manifest, OCI_MANIFEST);
      }
      const cat = (label: string, q: string): Promise<Response> => s.step(label, { path: `/v2/_catalog${q}`, compare: 'json' });
      await s.login();
      await cat('_catalog', '');
      await cat('_catalog?n=2', '?n=2');
      await cat('_catalog?n=2&last=<ns>/bravo', `?n=2&last=${s.ns}/bravo`);
      await cat('_catalog?last=<ns>/charlie', `?last=${s.ns}/charlie`);
      await cat('_catalog?n=0', '?n=0');
      await cat('_catalog?n=4 (exactly all)', '?n=4');
      await cat('_catalog?n=abc', '?n=abc');
    },
  },
  {
    id: 'referrers',
    title: 'referrers of a manifest, with and without artifactType',
    async run(s, repo) {
      const subject = await ociImage(s, repo(), 'subject');
      await putSetup(s, 'PUT subject by tag', repo(), 'v1', subject.manifest, OCI_MANIFEST);
      const emptyConfig = Buffer.from('{}');
      const cd = await push(s, repo(), emptyConfig, 'empty config');
      const sbomLayer = Buffer.from('{"sbom":true}');
      const ld = await push(s, repo(), sbomLayer, 'sbom');
      const artifact = (type: string, ann: string): Buffer =>
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            artifactType: type,
            config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: cd, size: emptyConfig.length },
            layers: [{ mediaType: 'application/json', digest: ld, size: sbomLayer.length }],
            subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
            annotations: { 'org.example.name': ann },
          }),
        );
      const sbom = artifact('application/vnd.example.sbom', 'sbom');
      const sig = artifact('application/vnd.example.signature', 'sig');
      await putSetup(s, 'PUT sbom referrer by digest', repo(), sha256(sbom), sbom, OCI_MANIFEST);
      await putSetup(s, 'PUT signature referrer by digest', repo(), sha256(sig), sig, OCI_MANIFEST);
      await s.step('GET referrers', { path: `/v2/${repo()}/referrers/${subject.digest}`, compare: 'json' });
      await s.step('GET referrers?artifactType=sbom', { path: `/v2/${repo()}/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`, compare: 'json' });
      await s.step('GET referrers of an unknown subject', { path: `/v2/${repo()}/referrers/${sha256('no subject')}`, compare: 'json' });
      await s.step('GET referrers in an unknown repository', { path: `/v2/${repo('nowhere')}/referrers/${subject.digest}`, compare: 'json' });
      await s.step('GET referrers/sha256:xyz', { path: `/v2/${repo()}/referrers/sha256:xyz`, compare: 'json' });
    },
  },
  {
    id: 'invalid-names',
    title: 'repository names a registry must refuse',
    async run(s) {
      await s.step('POST upload to <ns>/Upper', { method: 'POST', path: `/v2/${s.ns}/Upper/blobs/uploads/` });
      await s.step('tags/list of <NS>/lower', { path: `/v2/${s.ns.toUpperCase()}/lower/tags/list` });
      await s.step('GET manifest of <ns>/Upper', { path: `/v2/${s.ns}/Upper/manifests/latest` });
      await s.step('tags/list of <ns>/-dash', { path: `/v2/${s.ns}/-dash/tags/list` });
      await s.step('tags/list of <ns>/a..b', { path: `/v2/${s.ns}/a..b/tags/list` });
    },
  },
  {
    id: 'single-segment-name',
    title: 'a one-segment repository name',
    async run(s) {
      const data = Buffer.from('single');
      const name = s.target.oneSegment ?? 'onesegment';
      const post = await s.step('POST upload to onesegment', { method: 'POST', path: `/v2/${name}/blobs/uploads/` });
      const url = s.uploadUrl(post, `/v2/${name}/blobs/uploads/${NO_SUCH_UPLOAD}`);
      await s.step('PUT ?digest with body', { method: 'PUT', path: withQuery(url, `digest=${sha256(data)}`), body: data, headers: { 'content-type': 'application/octet-stream' } });
      await s.step('GET blob', { path: `/v2/${name}/blobs/${sha256(data)}`, compare: 'bytes' });
      await s.step('tags/list', { path: `/v2/${name}/tags/list`, compare: 'tags' });
    },
  },
  {
    id: 'slashes',
    title: 'trailing slashes and doubled slashes',
    async run(s, repo) {
      await push(s, repo(), Buffer.from('slashes'), 'make the repository');
      const img = await ociImage(s, repo(), 'slashes');
      await putSetup(s, 'PUT by tag', repo(), 'v1', img.manifest, OCI_MANIFEST);
      await s.step('GET /v2 (no trailing slash)', { path: '/v2' });
      await s.step('GET /v2//', { path: '/v2//' });
      await s.step('POST blobs/uploads (no trailing slash)', { method: 'POST', path: `/v2/${repo()}/blobs/uploads` });
      await s.step('GET tags/list/', { path: `/v2/${repo()}/tags/list/` });
      await s.step('GET <repo>//tags/list', { path: `/v2/${repo()}//tags/list` });
      await s.step('GET //v2/<repo>/tags/list', { path: `//v2/${repo()}/tags/list` });
      await s.step('GET manifests/v1/', { path: `/v2/${repo()}/manifests/v1/` });
      await s.step('GET unknown endpoint', { path: `/v2/${repo()}/nothing-here` });
      await s.step('PATCH /v2/', { method: 'PATCH', path: '/v2/' });
    },
  },
];
