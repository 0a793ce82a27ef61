/**
 * Upload pinning with real registries: two docker-registry processes share one
 * storage directory (the shared data tier) but sign their upload state with
 * different http.secret values, so a chunk that lands on the other instance is
 * refused. Through switchboard, V2_UPLOAD flips from python to go in the middle
 * of a chunked upload: with pinning the upload still completes; without it, it
 * fails.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { buildOnce, tempDir } from '../../switchboard/test/proxy/lib/harness.js';
import { startRegistry, startSwitchboard } from '../lib/registry.js';

t.before(async () => { await buildOnce(); });

interface Step { status: number; location: string | null; reason: string | null; owner: string | null; body: string }

async function call(base: string, method: string, pathOrUrl: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Step> {
  const url = new URL(pathOrUrl, base);
  const r = await fetch(url, { method, body, headers });
  return {
    status: r.status, location: r.headers.get('location'), reason: r.headers.get('x-switchboard-reason'),
    owner: r.headers.get('x-switchboard-owner'), body: await r.text(),
  };
}

/** POST, PATCH chunk 1, flip V2_UPLOAD, PATCH chunk 2, PUT ?digest. Returns every step. */
async function chunkedUploadWithFlip(t: Parameters<typeof tempDir>[0], pin: boolean): Promise<{ steps: Step[]; digest: string; base: string; registries: string[] }> {
  const dir = tempDir(t, 'swb-e2e-pin-');
  const storage = join(dir, 'storage');
  const python = await startRegistry(t, dir, storage, 'python-secret');
  const go = await startRegistry(t, dir, storage, 'go-secret');
  const sb = await startSwitchboard(t, dir, python, go, { ROUTE_OWNER_CAP_V2_UPLOAD: 'python' }, { PIN_UPLOADS: pin });
  const base = `http://127.0.0.1:${sb.port}`;
  const a = randomBytes(3 * 1024 * 1024);
  const b = randomBytes(2 * 1024 * 1024 + 17);
  const digest = `sha256:${createHash('sha256').update(a).update(b).digest('hex')}`;
  const steps: Step[] = [];
  const start = await call(base, 'POST', '/v2/e2e/pinned/blobs/uploads/');
  steps.push(start);
  const p1 = await call(base, 'PATCH', start.location!, a, { 'content-type': 'application/octet-stream', 'content-range': `0-${a.length - 1}` });
  steps.push(p1);
  await sb.rewrite({ ROUTE_OWNER_CAP_V2_UPLOAD: 'go' });
  const p2 = await call(base, 'PATCH', p1.location ?? start.location!, b,
    { 'content-type': 'application/octet-stream', 'content-range': `${a.length}-${a.length + b.length - 1}` });
  steps.push(p2);
  const putUrl = new URL(p2.location ?? p1.location ?? start.location!, base);
  putUrl.searchParams.set('digest', digest);
  steps.push(await call(base, 'PUT', putUrl.toString()));
  return { steps, digest, base, registries: [python.url, go.url] };
}

t.test('pinned: the upload started on python completes on python after V2_UPLOAD flips to go', async (t) => {
  const { steps, digest, base, registries } = await chunkedUploadWithFlip(t, true);
  const [start, p1, p2, put] = steps as [Step, Step, Step, Step];
  t.equal(start.status, 202, 'upload started');
  t.equal(start.owner, 'python');
  t.equal(p1.status, 202, 'first chunk accepted');
  t.equal(p2.status, 202, 'second chunk (after the flip) accepted');
  t.equal(p2.owner, 'python', 'the second chunk went to the owner that holds the session');
  t.equal(p2.reason, 'upload_pin');
  t.equal(put.status, 201, `upload completed (${put.body.slice(0, 200)})`);
  t.equal(put.reason, 'upload_pin');
  const viaProxy = await fetch(`${base}/v2/e2e/pinned/blobs/${digest}`);
  const bytes = Buffer.from(await viaProxy.arrayBuffer());
  t.equal(viaProxy.status, 200);
  t.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, digest, 'the blob reads back with its digest through the proxy');
  for (const r of registries) {
    t.equal((await fetch(`${r}/v2/e2e/pinned/blobs/${digest}`, { method: 'HEAD' })).status, 200, `and directly from ${r} (shared storage)`);
  }
  const fresh = await call(base, 'POST', '/v2/e2e/pinned/blobs/uploads/');
  t.equal(fresh.owner, 'go', 'a new upload starts on the new owner');
});

t.test('not pinned (PIN_UPLOADS: false): the same upload breaks when the owner flips', async (t) => {
  const { steps } = await chunkedUploadWithFlip(t, false);
  const [start, p1, p2, put] = steps as [Step, Step, Step, Step];
  t.equal(start.status, 202);
  t.equal(p1.status, 202);
  t.equal(p2.owner, 'go', 'the second chunk followed the switch to the other instance');
  const failed = p2.status >= 400 ? p2 : put;
  t.ok(failed.status >= 400, `the upload fails (PATCH ${p2.status}, PUT ${put.status})`);
  t.match(failed.body, /BLOB_UPLOAD_INVALID|BLOB_UPLOAD_UNKNOWN|DIGEST_INVALID/, `Distribution refuses it: ${failed.body.slice(0, 160)}`);
});
