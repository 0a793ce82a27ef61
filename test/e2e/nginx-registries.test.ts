/**
 * The rendered nginx front door with real registries behind it:
 *  - upload pins: two Distribution registries share one storage but sign
 *    their upload `_state` with different secrets (two implementations with
 *    their own upload sessions). A chunked upload starts on python; the
 *    operator moves uploads to go and nginx is reloaded mid-upload; the rest
 *    of the upload still reaches python because its Location names the owner.
 *    Dropping the parameter (a client that rebuilds the URL) breaks it: the
 *    documented limit.
 *  - skopeo pushes and pulls an image through nginx to registryd as go and
 *    to Distribution as python: both owners take the `sb_owner` parameter.
 */
import t from 'tap';
import type { Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadInventory } from '../../owner-maps/index.js';
import { parseConfig } from '../../switchboard/config/parse.js';
import { buildSnapshot } from '../../switchboard/core/snapshot.js';
import { renderNginx } from '../../switchboard/nginx/render.js';
import { freePort, request, requireBinaries, tempDir, type Reply } from '../lib/proc.js';
import { startRegistry } from '../lib/registry.js';
import { startRegistryd } from '../lib/registryd.js';
import { requireNginx, startNginx } from '../lib/nginx.js';
import { buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';

t.setTimeout(600_000);
requireNginx();
requireBinaries(['docker-registry', 'skopeo', 'umoci']);
const inv = loadInventory();

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function render(migration: string, upstreams: { python: string; go: string }, port: number, dir: string): string {
  const yaml = `MIGRATION:\n${migration
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}
SWITCHBOARD:
  UPSTREAMS: {python: "${upstreams.python}", go: "${upstreams.go}"}
  DEBUG_HEADERS: true
`;
  const r = parseConfig(yaml, 'c.yaml', inv, {});
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return renderNginx(buildSnapshot(inv, r.config, 1, new Date()), { listen: `127.0.0.1:${port}`, runtimeDir: dir, accessLog: join(dir, 'access.log') }).text;
}

function next(r: Reply): string {
  const loc = r.header('location');
  const u = new URL(loc, 'http://front.invalid');
  return u.pathname + u.search;
}

function patch(port: number, path: string, chunk: Buffer, offset: number): Promise<Reply> {
  return request(port, {
    method: 'PATCH',
    path,
    body: chunk,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': `${offset}-${offset + chunk.length - 1}` },
  });
}

async function pinSetup(t: Test): Promise<{ port: number; reload: (m: string) => Promise<void>; python: Awaited<ReturnType<typeof startRegistry>> }> {
  const dir = tempDir(t, 'swb-nginx-reg-');
  const storage = join(dir, 'storage');
  mkdirSync(storage);
  const tag = randomBytes(6).toString('hex');
  const python = await startRegistry(t, { name: 'python', storageDir: storage, configDir: dir, secret: `python-${tag}` });
  const go = await startRegistry(t, { name: 'go', storageDir: storage, configDir: dir, secret: `go-${tag}` });
  const port = await freePort();
  const ups = { python: python.url, go: go.url };
  const n = await startNginx(t, dir, render('ROUTE_OWNER_DEFAULT: python', ups, port, dir), port);
  return {
    port,
    python,
    reload: async (m) => {
      writeFileSync(n.conf, render(m, ups, port, dir));
      await n.reload();
    },
  };
}

t.test('an upload started on python finishes on python after uploads move to go', async (t) => {
  const e = await pinSetup(t);
  const repo = 'e2e/pinned';
  const chunk1 = randomBytes(1024 * 1024 + 17);
  const chunk2 = randomBytes(500_003);
  const digest = sha256(Buffer.concat([chunk1, chunk2]));

  const post = await request(e.port, { method: 'POST', path: `/v2/${repo}/blobs/uploads/`, headers: { 'content-length': '0' } });
  t.equal(post.status, 202);
  t.equal(post.header('x-switchboard-owner'), 'python');
  t.match(post.header('location'), /\/blobs\/uploads\/[0-9a-f-]{36}\?sb_owner=python&_state=/, "the owner is added in front of the registry's own _state");
  const p1 = await patch(e.port, next(post), chunk1, 0);
  t.equal(p1.status, 202, 'first chunk', { body: p1.text() });

  await e.reload('ROUTE_OWNER_DEFAULT: python\nROUTE_OWNER_CAP_V2_UPLOAD: go\nROUTE_OWNER_CAP_V2_PUSH: go\nROUTE_OWNER_CAP_V2_PULL: go');
  const fresh = await request(e.port, { method: 'POST', path: `/v2/${repo}/blobs/uploads/`, headers: { 'content-length': '0' } });
  t.equal(fresh.header('x-switchboard-owner'), 'go', 'a new upload starts on go');
  t.match(fresh.header('location'), /\?sb_owner=go&_state=/);

  const loc = next(p1);
  t.match(loc, /sb_owner=python/, 'the PATCH answer keeps the pin');
  const p2 = await patch(e.port, loc, chunk2, chunk1.length);
  t.equal(p2.status, 202, 'second chunk after the move', { body: p2.text() });
  t.equal(p2.header('x-switchboard-owner'), 'python', 'pinned to python');
  const putLoc = next(p2);
  const put = await request(e.port, { method: 'PUT', path: `${putLoc}&digest=${encodeURIComponent(digest)}`, headers: { 'content-length': '0' } });
  t.equal(put.status, 201, 'PUT with the digest completes the upload', { body: put.text() });
  t.equal(put.header('x-switchboard-owner'), 'python');
  const blob = await request(e.port, { path: `/v2/${repo}/blobs/${digest}` });
  t.equal(blob.header('x-switchboard-owner'), 'go', 'pulls are on go now');
  t.equal(sha256(blob.body), digest, 'go serves the bytes python stored (shared storage)');

  // The limit: a client that drops the parameter follows the switches, and go does not know python's session.
  const post2 = await request(e.port, { method: 'POST', path: `/v2/${repo}/blobs/uploads/`, headers: { 'content-length': '0' } });
  t.equal(post2.header('x-switchboard-owner'), 'go');
  await e.reload('ROUTE_OWNER_DEFAULT: python');
  const stripped = next(post2).replace(/sb_owner=go&?/, '');
  const lost = await patch(e.port, stripped, chunk1, 0);
  t.equal(lost.header('x-switchboard-owner'), 'python', 'without the parameter the request follows the switches');
  t.ok(lost.status >= 400, `and python refuses a session it did not start (${lost.status})`);
});

t.test('skopeo through the front door: registryd as go, Distribution as python', async (t) => {
  const dir = tempDir(t, 'swb-nginx-skopeo-');
  mkdirSync(join(dir, 'storage'));
  const python = await startRegistry(t, { name: 'python', storageDir: join(dir, 'storage'), configDir: dir, secret: 'python-secret' });
  const go = await startRegistryd(t, join(dir, 'registryd'));
  const port = await freePort();
  const ups = { python: python.url, go: go.url };
  const n = await startNginx(t, dir, render('ROUTE_OWNER_DEFAULT: python\nROUTE_OWNER_FAMILY_REGISTRY_V2: go', ups, port, dir), port);
  await buildImage(join(dir, 'images'), 'app', [{ 'data/blob.bin': randomBytes(3 * 1024 * 1024), 'etc/name': 'app\n' }], join(dir, 'work'));
  const src = layoutManifest(join(dir, 'images'), 'app');
  const skopeo = await skopeoIn(join(dir, 'skopeo'));
  const host = `127.0.0.1:${port}`;

  await skopeo.ok(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${join(dir, 'images')}:app`, `docker://${host}/e2e/app:v1`]);
  const raw = JSON.parse((await skopeo.ok(['inspect', '--raw', '--tls-verify=false', `docker://${host}/e2e/app:v1`])).stdout);
  t.same(raw, src.manifest, 'pushed to and read from registryd through nginx');
  const direct = await request(go.port, { path: `/v2/e2e/app/manifests/v1`, headers: { accept: src.descriptor.mediaType } });
  t.equal(direct.status, 200, 'the image is in registryd');

  writeFileSync(n.conf, render('ROUTE_OWNER_DEFAULT: python', ups, port, dir));
  await n.reload();
  await skopeo.ok(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${join(dir, 'images')}:app`, `docker://${host}/e2e/app:v2`]);
  const fromPython = await request(python.port, { path: `/v2/e2e/app/manifests/v2`, headers: { accept: src.descriptor.mediaType } });
  t.equal(fromPython.status, 200, 'after the switch back, the push landed in Distribution');
  await skopeo.ok(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${host}/e2e/app:v2`, `oci:${join(dir, 'pulled')}:v2`]);
  t.equal(layoutManifest(join(dir, 'pulled'), 'v2').descriptor.digest, src.descriptor.digest, 'pulled back through nginx, same digest');
});
