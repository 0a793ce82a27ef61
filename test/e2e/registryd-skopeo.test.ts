/**
 * registryd with real clients: umoci-built OCI images (one with a 256 MiB
 * layer of random bytes) pushed, inspected, listed, pulled, retagged, copied
 * across repositories, converted to Docker schema 2, synced and deleted with
 * skopeo. Pulled bytes must equal pushed bytes, and the database must hold
 * what Quay would (tags, manifests, blob links).
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { requireBinaries, tempDir } from '../lib/proc.js';
import { startRegistryd } from '../lib/registryd.js';
import { blobPath, buildImage, layoutManifest, sha256File, skopeoIn, unpackImage } from '../lib/oci.js';

t.setTimeout(1_200_000);
requireBinaries(['skopeo', 'umoci']);

const MiB = 1024 * 1024;
const dir = tempDir(t, 'registryd-e2e-skopeo-');
const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
const reg = await startRegistryd(t, join(dir, 'data'));
const skopeo = await skopeoIn(join(dir, 'skopeo'));
const host = `127.0.0.1:${reg.port}`;
const tls = '--dest-tls-verify=false';
const srcTls = '--src-tls-verify=false';

const bigFile = randomBytes(256 * MiB);
const bigSha = createHash('sha256').update(bigFile).digest('hex');
await buildImage(images, 'big', [{ 'data/random.bin': bigFile, 'etc/name': 'big\n' }, { 'etc/motd': 'second layer\n' }], join(dir, 'work'));
await buildImage(images, 'small', [{ 'etc/name': 'small\n' }], join(dir, 'work'));

const db = (): Database.Database => new Database(join(reg.dataDir, 'quay.db'), { readonly: true });

t.test('push a 256 MiB image, pull it back byte for byte', async (t) => {
  const src = layoutManifest(images, 'big');
  const digestFile = join(dir, 'big.digest');
  await skopeo.ok(['copy', '--retry-times', '0', '--preserve-digests', tls, '--digestfile', digestFile, `oci:${images}:big`, `docker://${host}/e2e/app:v1`]);
  t.equal(readFileSync(digestFile, 'utf8').trim(), src.descriptor.digest, 'manifest digest preserved');

  const inspect = JSON.parse((await skopeo.ok(['inspect', '--raw', '--tls-verify=false', `docker://${host}/e2e/app:v1`])).stdout);
  t.same(inspect, src.manifest, 'inspect --raw returns the pushed manifest');

  const out = join(dir, 'pulled');
  await skopeo.ok(['copy', '--retry-times', '0', srcTls, `docker://${host}/e2e/app:v1`, `oci:${out}:v1`]);
  const pulled = layoutManifest(out, 'v1');
  t.equal(pulled.descriptor.digest, src.descriptor.digest);
  for (const b of [src.manifest.config, ...src.manifest.layers]) {
    t.equal(await sha256File(blobPath(out, b.digest)), b.digest, `blob ${b.digest.slice(0, 19)} intact`);
  }
  await unpackImage(out, 'v1', join(dir, 'bundle'));
  t.equal(
    createHash('sha256')
      .update(readFileSync(join(dir, 'bundle', 'rootfs', 'data', 'random.bin')))
      .digest('hex'),
    bigSha,
    '256 MiB file unpacks intact',
  );

  const d = db();
  const tags = d
    .prepare(
      `SELECT t.name, m.digest FROM tag t JOIN manifest m ON m.id = t.manifest_id JOIN repository r ON r.id = t.repository_id
    WHERE r.name = 'app' AND t.hidden = 0 AND t.lifetime_end_ms IS NULL`,
    )
    .all();
  t.same(tags, [{ name: 'v1', digest: src.descriptor.digest }], "tag row in Quay's tag table");
  t.equal((d.prepare('SELECT count(*) n FROM blobupload').get() as { n: number }).n, 0, 'no upload left open');
  d.close();
  t.same(readdirSync(join(reg.dataDir, 'storage', 'uploads')), [], 'no upload object left');
});

t.test('list-tags, retag, cross-repository copy, v2s2 conversion', async (t) => {
  await skopeo.ok(['copy', tls, `oci:${images}:small`, `docker://${host}/e2e/app:v2`]);
  await skopeo.ok(['copy', srcTls, tls, `docker://${host}/e2e/app:v1`, `docker://${host}/e2e/app:latest`]);
  const tags = JSON.parse((await skopeo.ok(['list-tags', '--tls-verify=false', `docker://${host}/e2e/app`])).stdout);
  t.same(tags.Tags.sort(), ['latest', 'v1', 'v2']);

  await skopeo.ok(['copy', srcTls, tls, `docker://${host}/e2e/app:v1`, `docker://${host}/other/copy:v1`]);
  const a = await skopeo.ok(['inspect', '--raw', '--tls-verify=false', `docker://${host}/other/copy:v1`]);
  t.equal(a.stdout, (await skopeo.ok(['inspect', '--raw', '--tls-verify=false', `docker://${host}/e2e/app:v1`])).stdout, 'same manifest in the other repository');

  await skopeo.ok(['copy', '--format', 'v2s2', srcTls, tls, `docker://${host}/e2e/app:v2`, `docker://${host}/e2e/docker:v2`]);
  const raw = JSON.parse((await skopeo.ok(['inspect', '--raw', '--tls-verify=false', `docker://${host}/e2e/docker:v2`])).stdout);
  t.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json', 'stored as Docker schema 2');
  const pulled = join(dir, 'pulled-v2s2');
  await skopeo.ok(['copy', srcTls, `docker://${host}/e2e/docker:v2`, `dir:${pulled}`]);
  t.ok(readdirSync(pulled).length >= 3, 'pulled back');
});

t.test('sync a repository and delete a tag', async (t) => {
  const out = join(dir, 'synced');
  mkdirSync(out);
  await skopeo.ok(['sync', '--src', 'docker', '--dest', 'dir', srcTls, `${host}/e2e/app`, out]);
  const synced = readdirSync(out, { recursive: true })
    .map(String)
    .filter((p) => p.endsWith('manifest.json'));
  t.equal(synced.length, 3, 'three tags synced');

  await skopeo.ok(['delete', '--tls-verify=false', `docker://${host}/e2e/app:v2`]);
  const tags = JSON.parse((await skopeo.ok(['list-tags', '--tls-verify=false', `docker://${host}/e2e/app`])).stdout);
  t.same(tags.Tags.sort(), ['latest', 'v1']);
  const gone = await skopeo.run(['inspect', '--tls-verify=false', `docker://${host}/e2e/app:v2`]);
  t.not(gone.code, 0, 'deleted tag no longer resolves');
});
