/**
 * Upload pinning end to end (DESIGN §3.2, §5): two real Distribution 2.8
 * registries share ONE storage directory (the shared data tier) but sign
 * their upload `_state` with DIFFERENT http.secret values, the way two
 * implementations keep their own upload-session state. A chunked upload is
 * started through `switchboard serve` while V2_UPLOAD is owned by python,
 * the owner is flipped to go mid-upload, and the upload still completes
 * because its later requests follow the upload pin. With PIN_UPLOADS: false
 * the same sequence breaks at the first request after the flip.
 */
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request, requireBinaries, tempDir, waitFor, type Reply, type TLike } from '../lib/proc.js';
import { startRegistry, type Registry } from '../lib/registry.js';
import { buildSwitchboard, startSwitchboard, type AccessLine, type Switchboard } from '../lib/switchboard.js';

t.setTimeout(600_000);

t.before(async () => {
  requireBinaries(['docker-registry']);
  await buildSwitchboard();
});

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Env {
  python: Registry;
  go: Registry;
  sb: Switchboard;
}

function migration(uploadOwner: 'python' | 'go', pullOwner: 'python' | 'go'): Record<string, unknown> {
  return {
    ROUTE_OWNER_DEFAULT: 'python',
    ROUTE_OWNER_CAP_V2_UPLOAD: uploadOwner,
    ROUTE_OWNER_CAP_V2_PUSH: uploadOwner,
    ROUTE_OWNER_CAP_V2_PULL: pullOwner,
  };
}

async function setup(t: TLike, pinUploads: boolean): Promise<Env & { settings: Record<string, unknown> }> {
  const dir = tempDir(t, 'swb-e2e-pin-');
  const storage = join(dir, 'storage');
  mkdirSync(storage);
  const tag = randomBytes(6).toString('hex');
  // Same storage, different secrets: an upload's _state from one does not verify on the other.
  const python = await startRegistry(t, { name: 'python', storageDir: storage, configDir: dir, secret: `python-secret-${tag}` });
  const go = await startRegistry(t, { name: 'go', storageDir: storage, configDir: dir, secret: `go-secret-${tag}` });
  const sbDir = join(dir, 'switchboard');
  mkdirSync(sbDir);
  const settings = { DEBUG_HEADERS: true, PIN_UPLOADS: pinUploads };
  const sb = await startSwitchboard(t, sbDir, { python: python.url, go: go.url }, { migration: migration('python', 'python'), settings });
  return { python, go, sb, settings };
}

/** The path+query of the response's Location; checks it points back at the proxy (Host was preserved). */
function follow(t: Test, r: Reply, sb: Switchboard): string {
  const loc = r.header('location');
  t.ok(loc, `${r.status} response has a Location`);
  const u = new URL(loc, `http://127.0.0.1:${sb.port}`);
  t.equal(u.host, `127.0.0.1:${sb.port}`, 'Location points at the proxy, not at a registry');
  return u.pathname + u.search;
}

function patch(sb: Switchboard, path: string, chunk: Buffer, offset: number): Promise<Reply> {
  return request(sb.port, {
    method: 'PATCH',
    path,
    body: chunk,
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(chunk.length),
      'content-range': `${offset}-${offset + chunk.length - 1}`,
    },
  });
}

function putDigest(sb: Switchboard, path: string, digest: string): Promise<Reply> {
  return request(sb.port, {
    method: 'PUT',
    path: `${path}${path.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`,
    headers: { 'content-length': '0' },
  });
}

function errorCode(r: Reply): string {
  try {
    return String(r.json().errors?.[0]?.code ?? '');
  } catch {
    return '';
  }
}

function debug(r: Reply): { owner: string; reason: string; snapshot: number; route: string } {
  return {
    owner: r.header('x-switchboard-owner'),
    reason: r.header('x-switchboard-reason'),
    snapshot: Number(r.header('x-switchboard-snapshot')),
    route: r.header('x-switchboard-route'),
  };
}

async function accessLines(sb: Switchboard, want: (l: AccessLine[]) => boolean): Promise<AccessLine[]> {
  await waitFor(() => want(sb.accessLog()), 10_000);
  return sb.accessLog();
}

/** Starts an upload through the proxy and sends its first chunk; returns the Location to continue at. */
async function startAndFirstChunk(t: Test, e: Env, repo: string, chunk1: Buffer): Promise<{ uuid: string; next: string; version: number }> {
  const version = await e.sb.version();
  const post = await request(e.sb.port, { method: 'POST', path: `/v2/${repo}/blobs/uploads/`, headers: { 'content-length': '0' } });
  t.equal(post.status, 202, 'POST /blobs/uploads/ → 202 Accepted');
  t.match(debug(post), { owner: 'python', reason: 'capability_switch', snapshot: version, route: 'ROUTE_0004' }, 'upload start decided by V2_UPLOAD=python');
  const uuid = post.header('docker-upload-uuid');
  t.match(uuid, /^[0-9a-f-]{36}$/, 'Docker-Upload-UUID');
  let next = follow(t, post, e.sb);
  t.match(next, new RegExp(`^/v2/${repo}/blobs/uploads/${uuid}\\?_state=`), 'Location carries the uuid and the signed _state');

  const p1 = await patch(e.sb, next, chunk1, 0);
  t.equal(p1.status, 202, `first PATCH → 202`, { body: p1.text() });
  t.equal(p1.header('range'), `0-${chunk1.length - 1}`, 'Range covers the first chunk');
  t.equal(debug(p1).owner, 'python', 'first chunk went to python');
  next = follow(t, p1, e.sb);
  return { uuid, next, version };
}

t.test('pinned: an owner flip mid-upload does not move the upload session', async (t) => {
  const e = await setup(t, true);
  const repo = 'e2e/pinned';
  const chunk1 = randomBytes(1024 * 1024 + 123);
  const chunk2 = randomBytes(700_001);
  const blob = Buffer.concat([chunk1, chunk2]);
  const digest = sha256(blob);

  const { uuid, next: afterChunk1, version: v0 } = await startAndFirstChunk(t, e, repo, chunk1);
  const st0 = await e.sb.status();
  t.ok(st0.pins.active >= 1, `the proxy holds the pin (/status pins.active = ${st0.pins.active})`);

  // The operator flips uploads (and pulls) to go.
  const v1 = await e.sb.reconfigure({ migration: migration('go', 'go'), settings: e.settings });
  t.ok(v1 > v0, `new snapshot installed (version ${v0} → ${v1})`);

  // New sessions follow the switch…
  const fresh = await request(e.sb.port, { method: 'POST', path: `/v2/${repo}/blobs/uploads/`, headers: { 'content-length': '0' } });
  t.equal(fresh.status, 202, 'a new upload starts on go');
  t.match(debug(fresh), { owner: 'go', reason: 'capability_switch', snapshot: v1 }, 'new session decided by V2_UPLOAD=go');
  const freshUuid = fresh.header('docker-upload-uuid');
  const cancel = await request(e.sb.port, { method: 'DELETE', path: follow(t, fresh, e.sb) });
  t.equal(cancel.status, 204, 'the new session is cancelled on go');
  t.match(debug(cancel), { owner: 'go', reason: 'upload_pin' }, 'DELETE of the new session follows its (go) pin');

  // …the one in flight stays with python.
  const status = await request(e.sb.port, { path: afterChunk1 });
  t.equal(status.status, 204, `GET upload status → 204`, { body: status.text() });
  t.equal(status.header('range'), `0-${chunk1.length - 1}`, 'python still has the first chunk');
  t.match(debug(status), { owner: 'python', reason: 'upload_pin', snapshot: v1, route: 'ROUTE_0006' }, 'status request pinned to python');

  const p2 = await patch(e.sb, follow(t, status, e.sb), chunk2, chunk1.length);
  t.equal(p2.status, 202, `second PATCH after the flip → 202`, { body: p2.text() });
  t.equal(p2.header('range'), `0-${blob.length - 1}`, 'Range covers both chunks');
  t.match(debug(p2), { owner: 'python', reason: 'upload_pin', snapshot: v1, route: 'ROUTE_0007' }, 'x-switchboard-reason: upload_pin on the PATCH');

  const put = await putDigest(e.sb, follow(t, p2, e.sb), digest);
  t.equal(put.status, 201, `PUT ?digest= → 201 Created`, { body: put.text() });
  t.equal(put.header('docker-content-digest'), digest, 'Docker-Content-Digest');
  t.match(debug(put), { owner: 'python', reason: 'upload_pin', snapshot: v1, route: 'ROUTE_0008' }, 'x-switchboard-reason: upload_pin on the PUT');
  t.match(put.header('location'), `/v2/${repo}/blobs/${digest}`, 'Location names the blob');

  // The blob is readable with the right digest: through the proxy (V2_PULL=go now) and from both registries.
  const viaProxy = await request(e.sb.port, { path: `/v2/${repo}/blobs/${digest}` });
  t.equal(viaProxy.status, 200, 'GET blob through the proxy');
  t.equal(debug(viaProxy).owner, 'go', 'read served by go (shared storage)');
  t.equal(viaProxy.body.length, blob.length, 'length');
  t.equal(sha256(viaProxy.body), digest, 'digest of the bytes read through the proxy');
  for (const r of [e.python, e.go]) {
    const direct = await request(r.port, { path: `/v2/${repo}/blobs/${digest}` });
    t.equal(direct.status, 200, `GET blob directly from ${r.name}`);
    t.equal(sha256(direct.body), digest, `${r.name} serves the right bytes`);
  }

  // The proxy's access log and the registries' own logs tell the same story.
  const log = await accessLines(e.sb, (l) => l.some((x) => x.method === 'GET' && x.path === `/v2/${repo}/blobs/${digest}`));
  const session = log.filter((l) => l.path.includes(uuid));
  t.same(
    session.map((l) => [l.method, l.owner, l.reason, l.status]),
    [
      ['PATCH', 'python', 'upload_pin', 202],
      ['GET', 'python', 'upload_pin', 204],
      ['PATCH', 'python', 'upload_pin', 202],
      ['PUT', 'python', 'upload_pin', 201],
    ],
    'access log: every request of the session went to python by its pin',
  );
  t.ok(
    session.slice(1).every((l) => l.snapshot_version === v1),
    'post-flip requests were decided against the new snapshot',
  );
  t.ok(
    log.some((l) => l.path.includes(freshUuid) && l.owner === 'go'),
    'the fresh session is logged on go',
  );
  // Registry access logs arrive through a pipe: wait for the session's last line.
  await waitFor(() => e.python.requests().some((r) => r.method === 'PUT' && r.path.includes(uuid)), 10_000);
  t.same(
    e.python
      .requests()
      .filter((r) => r.path.includes(uuid))
      .map((r) => [r.method, r.status]),
    [
      ['PATCH', 202],
      ['GET', 204],
      ['PATCH', 202],
      ['PUT', 201],
    ],
    'python registry served the whole session',
  );
  t.same(
    e.go.requests().filter((r) => r.path.includes(uuid)),
    [],
    'go registry never saw the session',
  );
});

t.test('PIN_UPLOADS: false — the same flip breaks the upload (the pin is what made it work)', async (t) => {
  const e = await setup(t, false);
  const repo = 'e2e/unpinned';
  const chunk1 = randomBytes(1024 * 1024 + 123);
  const chunk2 = randomBytes(700_001);
  const blob = Buffer.concat([chunk1, chunk2]);
  const digest = sha256(blob);

  const { uuid, next: afterChunk1, version: v0 } = await startAndFirstChunk(t, e, repo, chunk1);
  const v1 = await e.sb.reconfigure({ migration: migration('go', 'go'), settings: e.settings });
  t.ok(v1 > v0, `new snapshot installed (version ${v0} → ${v1})`);

  const p2 = await patch(e.sb, afterChunk1, chunk2, chunk1.length);
  t.ok(p2.status >= 400, `second PATCH after the flip fails: ${p2.status} ${p2.text().trim()}`);
  t.match(debug(p2), { owner: 'go', reason: 'capability_switch', snapshot: v1 }, 'the PATCH followed the switch to go (no pin)');
  const patchCode = errorCode(p2);
  t.ok(['BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN'].includes(patchCode), `Distribution's error code: ${patchCode}`);
  t.comment(`no-pin PATCH after the flip: HTTP ${p2.status} ${patchCode}`);

  const put = await putDigest(e.sb, afterChunk1, digest);
  t.ok(put.status >= 400, `PUT ?digest= after the flip fails: ${put.status} ${put.text().trim()}`);
  t.equal(debug(put).owner, 'go', 'the PUT went to go too');
  const putCode = errorCode(put);
  t.ok(['BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN'].includes(putCode), `Distribution's error code: ${putCode}`);
  t.comment(`no-pin PUT after the flip: HTTP ${put.status} ${putCode}`);

  for (const r of [e.python, e.go]) {
    const head = await request(r.port, { method: 'HEAD', path: `/v2/${repo}/blobs/${digest}` });
    t.equal(head.status, 404, `the blob does not exist on ${r.name}`);
  }
  t.ok(await waitFor(() => e.go.requests().some((r) => r.method === 'PATCH' && r.path.includes(uuid) && r.status === p2.status), 10_000), 'go registry itself refused the PATCH');

  // Control: the session itself is intact on python; switching back lets it finish.
  await e.sb.reconfigure({ migration: migration('python', 'python'), settings: e.settings });
  const p2b = await patch(e.sb, afterChunk1, chunk2, chunk1.length);
  t.equal(p2b.status, 202, `back on python the same PATCH succeeds`, { body: p2b.text() });
  t.equal(debug(p2b).owner, 'python', 'python took it');
  const putb = await putDigest(e.sb, follow(t, p2b, e.sb), digest);
  t.equal(putb.status, 201, `and the PUT completes`, { body: putb.text() });
  const got = await request(e.sb.port, { path: `/v2/${repo}/blobs/${digest}` });
  t.equal(sha256(got.body), digest, 'blob readable after completing on python');
});

t.test('pinned owner down mid-upload: a registry-style 502 from the proxy, never the other owner', async (t) => {
  const e = await setup(t, true);
  const repo = 'e2e/pinned-down';
  const chunk1 = randomBytes(256 * 1024);
  const chunk2 = randomBytes(1000);
  const { uuid, next } = await startAndFirstChunk(t, e, repo, chunk1);
  await e.sb.reconfigure({ migration: migration('go', 'go'), settings: e.settings });
  await e.python.stop();

  const p2 = await patch(e.sb, next, chunk2, chunk1.length);
  t.equal(p2.status, 502, 'PATCH answered 502 by the proxy', { body: p2.text() });
  t.equal(p2.header('x-switchboard-owner'), 'python', 'naming the pinned owner');
  t.match(p2.header('x-switchboard-error'), /^(refused|reset)$/, `failure kind ${p2.header('x-switchboard-error')}`);
  t.match(p2.json(), { errors: [{ code: 'UNAVAILABLE', detail: { owner: 'python' } }] }, 'OCI-style error body');
  const st = await e.sb.status();
  t.ok(st.upstreams.python.errors >= 1, '/status counts the python upstream error');
  await waitFor(() => e.sb.accessLog().some((l) => l.method === 'PATCH' && l.status === 502), 10_000);
  t.match(
    e.sb
      .accessLog()
      .filter((l) => l.path.includes(uuid))
      .at(-1),
    { method: 'PATCH', owner: 'python', reason: 'upload_pin', status: 502 },
    'access log: the failed PATCH, pinned to python',
  );
  t.same(
    e.go.requests().filter((r) => r.path.includes(uuid)),
    [],
    'go never saw the session',
  );
});
