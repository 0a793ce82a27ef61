/**
 * The upload state machine over HTTP: monolithic, chunked (Content-Range,
 * overlap, gap), resume status, cancel, digest check, cross-repository
 * mount; Quay's header quirks; what lands in Quay's tables and storage paths.
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { pushBlob, sha256, startTestRegistry, storageFile } from '../lib/server.js';
import { decodeShaState } from '../../upload/sha-state.js';
import { ResumableSha256 } from '../../upload/sha256.js';
import { waitFor } from '../../../test/lib/proc.js';

const r = await startTestRegistry(t);
const db = (r.reg.store as unknown as { db: import('better-sqlite3').Database }).db;

t.test('GET /v2/ answers 200 true with the API version header', async (t) => {
  const res = await r.req({ path: '/v2/' });
  t.equal(res.status, 200);
  t.equal(res.json(), true);
  t.equal(res.header('docker-distribution-api-version'), 'registry/2.0');
});

t.test('monolithic upload: POST ?digest= with the body', async (t) => {
  const data = randomBytes(5000);
  const digest = sha256(data);
  const res = await r.req({ method: 'POST', path: `/v2/acme/mono/blobs/uploads/?digest=${digest}`, body: data });
  t.equal(res.status, 201);
  t.equal(res.header('location'), `/v2/acme/mono/blobs/${digest}`);
  t.equal(res.header('docker-content-digest'), digest);
  t.same(readFileSync(storageFile(r.dataDir, digest)), data, "bytes at Quay's storage path");
  const row = db.prepare('SELECT image_size, cas_path, content_checksum FROM imagestorage WHERE content_checksum = ?').get(digest);
  t.same(row, { image_size: 5000, cas_path: 1, content_checksum: digest });
  t.equal((db.prepare('SELECT count(*) n FROM blobupload').get() as { n: number }).n, 0, 'no upload row left');
  const head = await r.req({ method: 'HEAD', path: `/v2/acme/mono/blobs/${digest}` });
  t.equal(head.status, 200);
  t.equal(head.header('content-length'), '5000');
  t.equal(head.header('docker-content-digest'), digest);
  const get = await r.req({ path: `/v2/acme/mono/blobs/${digest}` });
  t.same(get.body, data);
});

t.test('monolithic upload with the wrong digest: DIGEST_INVALID, nothing stored', async (t) => {
  const data = Buffer.from('some bytes');
  const wrong = sha256('other bytes');
  const res = await r.req({ method: 'POST', path: `/v2/acme/mono/blobs/uploads/?digest=${wrong}`, body: data });
  t.equal(res.status, 400);
  t.equal(res.json().errors[0].code, 'DIGEST_INVALID');
  t.notOk(existsSync(storageFile(r.dataDir, wrong)));
  t.notOk(existsSync(storageFile(r.dataDir, sha256(data))));
  t.equal((db.prepare('SELECT count(*) n FROM blobupload').get() as { n: number }).n, 0);
  t.same(readdirSync(join(r.dataDir, 'storage', 'uploads')), [], 'upload object removed');
});

t.test("chunked upload: headers, overlap skipped, gap refused, state in Quay's encoding", async (t) => {
  const data = randomBytes(300_000);
  const start = await r.req({ method: 'POST', path: '/v2/acme/chunked/blobs/uploads/' });
  t.equal(start.status, 202);
  const uuid = start.header('docker-upload-uuid');
  t.match(uuid, /^[0-9a-f-]{36}$/);
  t.equal(start.header('location'), `/v2/acme/chunked/blobs/uploads/${uuid}`);
  t.equal(start.header('range'), 'bytes=0--1', "Quay's POST Range quirk");
  const loc = start.header('location');

  const p1 = await r.req({ method: 'PATCH', path: loc, body: data.subarray(0, 100_000), headers: { 'content-range': '0-99999' } });
  t.equal(p1.status, 202);
  t.equal(p1.header('range'), '0-99999', 'PATCH Range without bytes=');
  const st = await r.req({ path: loc });
  t.equal(st.status, 204);
  t.equal(st.header('range'), 'bytes=0-100000', 'GET Range is one past the last byte (Quay)');

  const gap = await r.req({ method: 'PATCH', path: loc, body: data.subarray(150_000, 160_000), headers: { 'content-range': '150000-159999' } });
  t.equal(gap.status, 416);
  t.equal(gap.body.length, 0, 'a 416 has no body (Quay, Distribution)');
  t.equal(gap.header('range'), '0-100000', "Quay's 416 Range quirk");
  t.equal(gap.header('location'), loc);
  const malformed = await r.req({ method: 'PATCH', path: loc, body: 'x', headers: { 'content-range': 'bytes 0-0/1' } });
  t.equal(malformed.status, 400);
  t.equal(malformed.json().errors[0].code, 'INVALID_REQUEST');

  // Overlapping chunk: the first 50,000 bytes are already there and are skipped.
  const p2 = await r.req({ method: 'PATCH', path: loc, body: data.subarray(50_000, 200_000), headers: { 'content-range': '50000-199999' } });
  t.equal(p2.status, 202);
  t.equal(p2.header('range'), '0-199999');

  const row = db.prepare('SELECT byte_count, chunk_count, sha_state FROM blobupload WHERE uuid = ?').get(uuid) as { byte_count: number; chunk_count: number; sha_state: string };
  t.equal(row.byte_count, 200_000);
  t.equal(row.chunk_count, 2);
  t.equal(row.sha_state.length, 216, 'base64 of the 160-byte pickle');
  const resumed = new ResumableSha256(decodeShaState(row.sha_state)).update(data.subarray(200_000)).digestHex();
  t.equal('sha256:' + resumed, sha256(data), 'the stored hasher state resumes to the right digest');

  const done = await r.req({ method: 'PUT', path: `${loc}?digest=${sha256(data)}`, body: data.subarray(200_000) });
  t.equal(done.status, 201);
  t.equal(done.header('location'), `/v2/acme/chunked/blobs/${sha256(data)}`);
  t.same(readFileSync(storageFile(r.dataDir, sha256(data))), data);
  t.equal((await r.req({ path: loc })).status, 404, 'upload gone after commit');
});

t.test('a final PUT with the wrong digest cancels the upload (as Quay does)', async (t) => {
  const start = await r.req({ method: 'POST', path: '/v2/acme/wrong/blobs/uploads/' });
  const loc = start.header('location');
  const uuid = start.header('docker-upload-uuid');
  await r.req({ method: 'PATCH', path: loc, body: 'abc' });
  const noDigest = await r.req({ method: 'PUT', path: loc });
  t.equal(noDigest.status, 400);
  t.equal(noDigest.json().errors[0].code, 'BLOB_UPLOAD_INVALID');
  const bad = await r.req({ method: 'PUT', path: `${loc}?digest=${sha256('nope')}`, body: 'def' });
  t.equal(bad.status, 400);
  t.equal(bad.json().errors[0].code, 'DIGEST_INVALID');
  t.equal((db.prepare('SELECT count(*) n FROM blobupload WHERE uuid = ?').get(uuid) as { n: number }).n, 0, 'upload row removed');
  t.notOk(existsSync(join(r.dataDir, 'storage', 'uploads', uuid)));
  t.notOk(existsSync(storageFile(r.dataDir, sha256('abcdef'))));
  t.equal((await r.req({ path: loc })).status, 404);
});

t.test('cancel: DELETE removes row and upload object; later requests are BLOB_UPLOAD_UNKNOWN', async (t) => {
  const start = await r.req({ method: 'POST', path: '/v2/acme/cancel/blobs/uploads/' });
  const loc = start.header('location');
  const uuid = start.header('docker-upload-uuid');
  await r.req({ method: 'PATCH', path: loc, body: 'abc' });
  t.ok(existsSync(join(r.dataDir, 'storage', 'uploads', uuid)));
  const del = await r.req({ method: 'DELETE', path: loc });
  t.equal(del.status, 204);
  t.notOk(existsSync(join(r.dataDir, 'storage', 'uploads', uuid)));
  const again = await r.req({ method: 'PATCH', path: loc, body: 'def' });
  t.equal(again.status, 404);
  t.equal(again.json().errors[0].code, 'BLOB_UPLOAD_UNKNOWN');
  const other = await r.req({ method: 'GET', path: '/v2/acme/cancel/blobs/uploads/not-a-real-uuid' });
  t.equal(other.json().errors[0].code, 'BLOB_UPLOAD_UNKNOWN');
});

t.test('an upload whose hasher state cannot be read is refused cleanly (BLOB_UPLOAD_INVALID, not 500)', async (t) => {
  const start = await r.req({ method: 'POST', path: '/v2/acme/foreign/blobs/uploads/' });
  const uuid = start.header('docker-upload-uuid');
  // What the old `rehash` library (or anything else) might have left in the column.
  db.prepare('UPDATE blobupload SET sha_state = ? WHERE uuid = ?').run(Buffer.from('not a resumablesha256 pickle').toString('base64'), uuid);
  const res = await r.req({ method: 'PATCH', path: start.header('location'), body: 'x' });
  t.equal(res.status, 400);
  t.equal(res.json().errors[0].code, 'BLOB_UPLOAD_INVALID');
  t.same(
    r.logs.filter((l) => l.includes('"level":"error"')),
    [],
  );
});

t.test('upload requests for a repository that does not exist: NAME_UNKNOWN, nothing created', async (t) => {
  const res = await r.req({ path: '/v2/acme/nowhere/blobs/uploads/0b6b3c1e-5a0e-4c41-9d38-000000000000' });
  t.equal(res.status, 404);
  t.equal(res.json().errors[0].code, 'NAME_UNKNOWN');
  t.equal((await r.req({ path: '/v2/acme/nowhere/tags/list' })).status, 404, 'the repository was not created');
});

t.test('an upload belongs to its repository', async (t) => {
  const start = await r.req({ method: 'POST', path: '/v2/acme/one/blobs/uploads/' });
  const uuid = start.header('docker-upload-uuid');
  await r.req({ method: 'POST', path: '/v2/acme/two/blobs/uploads/' });
  const res = await r.req({ method: 'PATCH', path: `/v2/acme/two/blobs/uploads/${uuid}`, body: 'x' });
  t.equal(res.status, 404);
  t.equal(res.json().errors[0].code, 'BLOB_UPLOAD_UNKNOWN');
});

t.test('cross-repository mount', async (t) => {
  const digest = await pushBlob(r, 'acme/source', 'mount me');
  const res = await r.req({ method: 'POST', path: `/v2/acme/target/blobs/uploads/?mount=${digest}&from=acme/source` });
  t.equal(res.status, 201);
  t.equal(res.header('location'), `/v2/acme/target/blobs/${digest}`);
  t.equal((await r.req({ path: `/v2/acme/target/blobs/${digest}` })).text(), 'mount me');
  // Unknown source: falls back to a normal upload session.
  const miss = await r.req({ method: 'POST', path: `/v2/acme/target2/blobs/uploads/?mount=${sha256('absent')}&from=acme/source` });
  t.equal(miss.status, 202);
  t.ok(miss.header('docker-upload-uuid'));
});

t.test('a client that disconnects mid-chunk leaves the upload as it was', async (t) => {
  const start = await r.req({ method: 'POST', path: '/v2/acme/cut/blobs/uploads/' });
  const loc = start.header('location');
  const uuid = start.header('docker-upload-uuid');
  await r.req({ method: 'PATCH', path: loc, body: Buffer.alloc(1000, 1) });
  await new Promise<void>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: r.port, method: 'PATCH', path: loc, headers: { 'content-length': 10_000_000 } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(200_000, 2), () =>
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100),
    );
  });
  const file = join(r.dataDir, 'storage', 'uploads', uuid);
  t.ok(await waitFor(() => readFileSync(file).length === 1000, 5000), 'partial chunk rolled back in storage');
  const row = db.prepare('SELECT byte_count, chunk_count FROM blobupload WHERE uuid = ?').get(uuid);
  t.same(row, { byte_count: 1000, chunk_count: 1 });
  const rest = Buffer.alloc(500, 3);
  const fin = await r.req({ method: 'PUT', path: `${loc}?digest=${sha256(Buffer.concat([Buffer.alloc(1000, 1), rest]))}`, body: rest });
  t.equal(fin.status, 201, 'the upload completes after the failed chunk');
});

t.test('size limit: BLOB_UPLOAD_TOO_LARGE and nothing kept', async (t) => {
  const small = await startTestRegistry(t, { maxBlobBytes: 1000 });
  const data = Buffer.alloc(2000, 7);
  const res = await small.req({ method: 'POST', path: `/v2/acme/big/blobs/uploads/?digest=${sha256(data)}`, body: data });
  t.equal(res.status, 413);
  t.equal(res.json().errors[0].code, 'BLOB_UPLOAD_INVALID');
  t.notOk(existsSync(storageFile(small.dataDir, sha256(data))));
});
