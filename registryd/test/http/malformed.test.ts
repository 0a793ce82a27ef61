/**
 * Bad input gets a 4xx in the OCI envelope, never a 500 and never a crash:
 * malformed names, digests, ranges, references, query parameters and
 * manifests, across every registry route.
 */
import t from 'tap';
import { pushBlob, sha256, startTestRegistry } from '../lib/server.js';

const r = await startTestRegistry(t);
const good = await pushBlob(r, 'acme/app', 'x');
const start = await r.req({ method: 'POST', path: '/v2/acme/app/blobs/uploads/' });
const upload = start.header('location');

const digests = ['sha256:', 'sha256:xyz', 'sha256:' + 'A'.repeat(64), 'sha512:' + 'a'.repeat(128), 'md5:abc', ':abc', 'sha256:' + 'a'.repeat(63), 'sha256:%00', 'x'.repeat(5000)];
const names = ['UPPER/app', 'a/app', 'acme/-app', 'acme/app..', 'acme//app', '%2e%2e/x', 'acme/%ff', 'acme/' + 'a'.repeat(300), 'acme/ap%20p'];
const manifests = [
  '',
  'null',
  '{}',
  '[]',
  '{"schemaVersion":"2"}',
  '\xff\xfe',
  '{"schemaVersion":2,"config":{"digest":1},"layers":[]}',
  '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:zz"}]}',
  '{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"' + good + '","size":-1},"layers":[]}',
  '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"a/b","digest":"' + good + '","size":1},"layers":[]}',
  '{"schemaVersion":1,"name":"acme/app","tag":"x","fsLayers":[]}',
  '{'.repeat(10000),
];

interface Case {
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}
const cases: Case[] = [];
for (const d of digests) {
  for (const m of ['GET', 'HEAD', 'DELETE']) cases.push({ method: m, path: `/v2/acme/app/blobs/${d}` });
  for (const m of ['GET', 'HEAD', 'PUT', 'DELETE']) cases.push({ method: m, path: `/v2/acme/app/manifests/${d}`, body: '{}' });
  cases.push({ method: 'GET', path: `/v2/acme/app/referrers/${d}` });
  cases.push({ method: 'POST', path: `/v2/acme/app/blobs/uploads/?digest=${encodeURIComponent(d)}`, body: 'x' });
  cases.push({ method: 'POST', path: `/v2/acme/app/blobs/uploads/?mount=${encodeURIComponent(d)}&from=acme/app` });
  cases.push({ method: 'PUT', path: `${upload}?digest=${encodeURIComponent(d)}` });
}
for (const n of names) {
  cases.push({ method: 'GET', path: `/v2/${n}/tags/list` });
  cases.push({ method: 'GET', path: `/v2/${n}/manifests/latest` });
  cases.push({ method: 'POST', path: `/v2/${n}/blobs/uploads/` });
  cases.push({ method: 'POST', path: `/v2/acme/app/blobs/uploads/?mount=${good}&from=${encodeURIComponent(n)}` });
}
for (const body of manifests) {
  for (const ct of [
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.oci.image.index.v1+json',
    'application/json',
    'text/plain',
  ]) {
    cases.push({ method: 'PUT', path: '/v2/acme/app/manifests/m1', body: Buffer.from(body, 'latin1'), headers: { 'content-type': ct } });
  }
  cases.push({ method: 'PUT', path: '/v2/acme/app/manifests/m2', body: Buffer.from(body, 'latin1') });
}
for (const range of ['', 'bytes', 'bytes=', 'bytes=-', 'bytes=5-2', 'bytes=0-0,2-3', 'bytes=99999999999999999999-', 'items=0-1', 'bytes=-0']) {
  cases.push({ method: 'GET', path: `/v2/acme/app/blobs/${good}`, headers: { range } });
}
for (const cr of ['', '-', '0-', '-5', 'bytes 0-1/2', '5-2', '99999999999999999999-99999999999999999999', '0-1/*', 'x']) {
  cases.push({ method: 'PATCH', path: upload, body: 'ab', headers: { 'content-range': cr } });
}
for (const q of ['n=-1', 'n=abc', 'n=99999999999999999999', 'last=%ff', 'n=1&last=' + 'z'.repeat(5000)]) {
  cases.push({ method: 'GET', path: `/v2/acme/app/tags/list?${q}` });
  cases.push({ method: 'GET', path: `/v2/_catalog?${q}` });
}
for (const tag of ['-x', '.x', 'a'.repeat(129), 'tag%20space']) cases.push({ method: 'PUT', path: `/v2/acme/app/manifests/${tag}`, body: '{}' });
cases.push({ method: 'GET', path: '/v2/acme/app/blobs/uploads/%2e%2e%2f%2e%2e%2fquay.db' });
cases.push({ method: 'PATCH', path: '/v2/acme/app/blobs/uploads/../../quay.db', body: 'x' });

t.test(`${cases.length} malformed requests: 4xx with an OCI error body, no 5xx`, async (t) => {
  const fives: string[] = [];
  let envelopes = 0;
  for (const c of cases) {
    const res = await r.req({ method: c.method, path: c.path, ...(c.body !== undefined ? { body: c.body } : {}), headers: c.headers ?? {} });
    if (res.status >= 500) fives.push(`${c.method} ${c.path.slice(0, 80)} → ${res.status} ${res.text().slice(0, 200)}`);
    if (res.status >= 400 && res.body.length > 0 && c.method !== 'HEAD') {
      const body = res.json() as { errors?: { code: string }[] };
      if (Array.isArray(body.errors) && typeof body.errors[0]?.code === 'string') envelopes++;
      else fives.push(`${c.method} ${c.path.slice(0, 80)} → ${res.status} without an OCI error body`);
    }
  }
  t.same(fives, [], 'no 5xx, every error body is an OCI envelope');
  t.ok(envelopes > cases.length / 2, `${envelopes} OCI error bodies`);
  t.same(
    r.logs.filter((l) => l.includes('"level":"error"')),
    [],
    'nothing logged as an internal error',
  );
  const ok = await r.req({ path: `/v2/acme/app/blobs/${good}` });
  t.equal(ok.text(), 'x', 'the registry still serves afterwards');
  t.equal((await r.req({ path: '/v2/acme/app/blobs/uploads/' + encodeURIComponent('../../quay.db') })).status >= 400, true);
  t.equal(sha256('x'), good);
});
