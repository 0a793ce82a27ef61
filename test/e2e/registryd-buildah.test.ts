/**
 * registryd with Debian's buildah: an image built from scratch with two
 * layers of known files (`buildah from scratch` / `copy` / `commit`, twice,
 * no network, vfs storage in a temp dir: see test/lib/buildah.ts) is pushed
 * as OCI (`e2e/buildah:v1`) and as Docker schema 2 (`e2e/buildah:v1-docker`).
 * skopeo must see the right media types, the registry must serve the pushed
 * digests, both tags must pull back (skopeo to an OCI layout, layer by layer;
 * buildah into a fresh storage, flattened) with every file's bytes equal to
 * what was put in, and the database must hold what Quay would.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request, requireBinaries, runOk, tempDir } from '../lib/proc.js';
import { startRegistryd } from '../lib/registryd.js';
import { blobPath, layoutManifest, sha256File, skopeoIn, type OciManifest } from '../lib/oci.js';
import { buildahIn } from '../lib/buildah.js';

t.setTimeout(900_000);
try {
  requireBinaries(['buildah', 'skopeo', 'tar', 'unshare']);
} catch (e) {
  throw new Error(`${(e as Error).message} (buildah: \`apt-get install -y buildah\`)`);
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

const MiB = 1024 * 1024;
const timings: string[] = [];
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what}: ${Date.now() - t0} ms`);
  }
}

/** One layer's files (path relative to / → bytes). */
type Files = Record<string, Buffer>;

// Layer 2 adds files and replaces etc/e2e/version, so order matters when flattened.
const layer1: Files = {
  'etc/e2e/hello.txt': Buffer.from('hello from layer one\n'),
  'etc/e2e/version': Buffer.from('1\n'),
  'data/one.bin': randomBytes(3 * MiB),
};
const layer2: Files = {
  'etc/e2e/version': Buffer.from('2\n'),
  'data/two.bin': randomBytes(MiB + 12345),
  'opt/e2e/deep/nested/file.txt': Buffer.from('second layer, nested\n'),
};
const flattened: Files = { ...layer1, ...layer2 };

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Every regular file under `dir`, as path → sha256 (paths relative, '/'-separated). */
function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const p = join(dir, rel);
    if (statSync(p).isFile()) out[rel.split('\\').join('/')] = sha(readFileSync(p));
  }
  return out;
}
const hashes = (files: Files): Record<string, string> =>
  Object.fromEntries(
    Object.entries(files)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, sha(v)]),
  );

/**
 * Writes `files` under `dir` (a build context for `buildah copy`), all with
 * mtime `mtime` (seconds). `buildah copy` keeps mtimes, and with the vfs
 * driver a layer's diff is computed by comparing size and mtime (to the
 * second once the lower layer went through a tar): a same-size file copied
 * within the same second as the one it replaces is left out of the new
 * layer. Distinct, fixed mtimes per layer keep layer 2's etc/e2e/version.
 */
function writeContext(dir: string, files: Files, mtime: number): void {
  for (const [name, data] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    utimesSync(p, mtime, mtime);
  }
}

const dir = tempDir(t, 'registryd-e2e-buildah-');
const reg = await timed('registryd build + start', () => startRegistryd(t, join(dir, 'data')));
const host = `127.0.0.1:${reg.port}`;
const skopeo = await skopeoIn(join(dir, 'skopeo'));
const buildah = await buildahIn(join(dir, 'buildah'));
t.comment(`buildah in a private mount namespace: ${buildah.isolated}; skopeo in a user namespace: ${skopeo.userns}`);

const db = (): Database.Database => new Database(join(reg.dataDir, 'quay.db'), { readonly: true, fileMustExist: true });

// ---------------------------------------------------------------- build and push

const ctx1 = join(dir, 'ctx1');
const ctx2 = join(dir, 'ctx2');
writeContext(ctx1, layer1, Date.UTC(2020, 0, 1) / 1000);
writeContext(ctx2, layer2, Date.UTC(2021, 0, 1) / 1000);

await timed('buildah build (2 layers)', async () => {
  const c1 = await buildah.out(['from', '--quiet', 'scratch']);
  await buildah.ok(['copy', '--quiet', c1, `${ctx1}/`, '/']);
  await buildah.ok(['commit', '--quiet', '--rm', c1, 'e2e-stage1']);
  const c2 = await buildah.out(['from', '--quiet', '--pull=never', 'containers-storage:localhost/e2e-stage1:latest']);
  await buildah.ok(['copy', '--quiet', c2, `${ctx2}/`, '/']);
  await buildah.ok(['config', '--label', 'org.example.e2e=buildah', c2]);
  await buildah.ok(['commit', '--quiet', '--rm', c2, 'e2e-final']);
});

const pushed: Record<'oci' | 'docker', { tag: string; digest: string }> = {
  oci: { tag: 'v1', digest: '' },
  docker: { tag: 'v1-docker', digest: '' },
};
for (const format of ['oci', 'docker'] as const) {
  const p = pushed[format];
  const digestFile = join(dir, `${p.tag}.digest`);
  await timed(`buildah push --format ${format}`, () =>
    buildah.ok([
      'push',
      '--retry',
      '0',
      '--tls-verify=false',
      '--format',
      format,
      '--digestfile',
      digestFile,
      'localhost/e2e-final:latest',
      `docker://${host}/e2e/buildah:${p.tag}`,
    ]),
  );
  p.digest = readFileSync(digestFile, 'utf8').trim();
}

// ---------------------------------------------------------------- checks

const expected = {
  oci: { manifest: OCI_MANIFEST, config: OCI_CONFIG, layer: OCI_LAYER_GZIP },
  docker: { manifest: DOCKER_MANIFEST, config: DOCKER_CONFIG, layer: DOCKER_LAYER_GZIP },
} as const;
const manifests: Partial<Record<'oci' | 'docker', OciManifest>> = {};

t.test('skopeo inspect --raw shows the pushed manifests with the right media types', async (t) => {
  for (const format of ['oci', 'docker'] as const) {
    const { tag, digest } = pushed[format];
    t.match(digest, /^sha256:[0-9a-f]{64}$/, `${tag}: buildah wrote a digest`);
    const raw = (await skopeo.ok(['inspect', '--raw', '--tls-verify=false', `docker://${host}/e2e/buildah:${tag}`])).stdout;
    t.equal(`sha256:${sha(Buffer.from(raw, 'utf8'))}`, digest, `${tag}: served manifest bytes hash to the pushed digest`);
    const m = JSON.parse(raw) as OciManifest;
    manifests[format] = m;
    t.equal(m.schemaVersion, 2);
    t.equal(m.mediaType, expected[format].manifest, `${tag}: manifest media type`);
    t.equal(m.config.mediaType, expected[format].config, `${tag}: config media type`);
    t.equal(m.layers.length, 2, `${tag}: two layers`);
    t.same(
      m.layers.map((l) => l.mediaType),
      [expected[format].layer, expected[format].layer],
      `${tag}: layer media types`,
    );

    // The registry's own answer: Content-Type and Docker-Content-Digest, by tag and by digest.
    for (const ref of [tag, digest]) {
      const r = await request(reg.port, {
        path: `/v2/e2e/buildah/manifests/${ref}`,
        headers: { accept: [OCI_MANIFEST, DOCKER_MANIFEST].join(', ') },
      });
      t.equal(r.status, 200, `GET manifests/${ref}`);
      t.equal(r.header('content-type'), expected[format].manifest, `GET manifests/${ref}: Content-Type`);
      t.equal(r.header('docker-content-digest'), digest, `GET manifests/${ref}: Docker-Content-Digest`);
      t.equal(r.text(), raw, `GET manifests/${ref}: same bytes`);
    }
  }
  const inspect = JSON.parse((await skopeo.ok(['inspect', '--tls-verify=false', `docker://${host}/e2e/buildah:v1`])).stdout) as {
    Labels?: Record<string, string>;
    Layers: string[];
  };
  t.equal(inspect.Labels?.['org.example.e2e'], 'buildah', 'config (with the label) readable through the registry');
  const tags = JSON.parse((await skopeo.ok(['list-tags', '--tls-verify=false', `docker://${host}/e2e/buildah`])).stdout) as { Tags: string[] };
  t.same([...tags.Tags].sort(), ['v1', 'v1-docker'], 'list-tags');
});

t.test('skopeo copy to an OCI layout: each layer holds exactly its files, byte for byte', async (t) => {
  const layout = join(dir, 'pulled-oci');
  for (const format of ['oci', 'docker'] as const) {
    const { tag } = pushed[format];
    await timed(`skopeo copy ${tag} → oci layout`, () =>
      skopeo.ok(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${host}/e2e/buildah:${tag}`, `oci:${layout}:${tag}`]),
    );
    const { manifest } = layoutManifest(layout, tag);
    t.equal(manifest.layers.length, 2, `${tag}: two layers`);
    t.same(
      manifest.layers.map((l) => l.digest),
      manifests[format]?.layers.map((l) => l.digest),
      `${tag}: same layer blobs as pushed`,
    );
    t.equal(await sha256File(blobPath(layout, manifest.config.digest)), manifest.config.digest, `${tag}: config blob intact`);
    const config = JSON.parse(readFileSync(blobPath(layout, manifest.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] } };
    for (const [i, want] of [layer1, layer2].entries()) {
      const layer = manifest.layers[i]!;
      const blob = blobPath(layout, layer.digest);
      t.equal(await sha256File(blob), layer.digest, `${tag}: layer ${i + 1} blob intact`);
      t.equal(statSync(blob).size, layer.size, `${tag}: layer ${i + 1} size`);
      const out = join(dir, `layer-${tag}-${i + 1}`);
      mkdirSync(out);
      await runOk('tar', ['-xzf', blob, '-C', out, '--no-same-owner']);
      t.same(filesUnder(out), hashes(want), `${tag}: layer ${i + 1} holds exactly its files, same bytes`);
      const diffId = await runOk('sh', ['-c', 'gzip -dc "$1" | sha256sum', 'sh', blob]);
      t.equal(`sha256:${diffId.stdout.split(' ')[0]}`, config.rootfs.diff_ids[i], `${tag}: layer ${i + 1} diff_id matches the config`);
    }
  }
});

t.test('buildah pull into a fresh storage: the flattened rootfs has the same bytes', async (t) => {
  const fresh = await buildahIn(join(dir, 'buildah-pull'));
  for (const format of ['oci', 'docker'] as const) {
    const { tag, digest } = pushed[format];
    const ref = `${host}/e2e/buildah:${tag}`;
    await timed(`buildah pull ${tag}`, () => fresh.ok(['pull', '--quiet', '--retry', '0', '--tls-verify=false', `docker://${ref}`]));
    t.equal(await fresh.out(['inspect', '--type', 'image', '--format', '{{.FromImageDigest}}', ref]), digest, `${tag}: pulled image has the pushed digest`);
    const c = await fresh.out(['from', '--quiet', '--pull=never', ref]);
    const mnt = await fresh.out(['mount', c]);
    t.same(filesUnder(mnt), hashes(flattened), `${tag}: every file present with the bytes put in (layer 2 replaced etc/e2e/version)`);
    t.equal(readFileSync(join(mnt, 'etc/e2e/version'), 'utf8'), '2\n');
    await fresh.ok(['umount', c]);
    await fresh.ok(['rm', c]);
  }
});

t.test('registryd database: tags, manifests and blob links as Quay has them', async (t) => {
  const d = db();
  t.teardown(() => d.close());
  const rows = d
    .prepare(
      `SELECT t.name AS tag, t.lifetime_start_ms AS start, t.lifetime_end_ms AS "end", t.hidden AS hidden,
      m.id AS manifestId, m.digest AS digest, mt.name AS mediaType, m.config_media_type AS configMediaType
    FROM tag t
    JOIN repository r ON r.id = t.repository_id
    JOIN "user" u ON u.id = r.namespace_user_id
    JOIN manifest m ON m.id = t.manifest_id
    JOIN mediatype mt ON mt.id = m.media_type_id
    WHERE u.username = 'e2e' AND r.name = 'buildah'
    ORDER BY t.name, t.id`,
    )
    .all() as { tag: string; start: number; end: number | null; hidden: number; manifestId: number; digest: string; mediaType: string; configMediaType: string | null }[];
  t.same(
    rows.map((r) => r.tag),
    ['v1', 'v1-docker'],
    'one row per tag (each pushed once)',
  );
  for (const format of ['oci', 'docker'] as const) {
    const { tag, digest } = pushed[format];
    const row = rows.find((r) => r.tag === tag);
    if (!row) {
      t.fail(`no tag row for ${tag}`);
      continue;
    }
    t.equal(row.end, null, `${tag}: open lifetime`);
    t.ok(row.start > 0 && row.start <= Date.now(), `${tag}: lifetime started`);
    t.equal(row.hidden, 0, `${tag}: not hidden`);
    t.equal(row.digest, digest, `${tag}: manifest digest`);
    t.equal(row.mediaType, expected[format].manifest, `${tag}: manifest media type`);
    t.comment(`${tag}: manifest.config_media_type = ${String(row.configMediaType)}`);
    const m = manifests[format];
    const blobs = (
      d
        .prepare(
          `SELECT s.content_checksum AS digest FROM manifestblob mb JOIN imagestorage s ON s.id = mb.blob_id
      WHERE mb.manifest_id = ? ORDER BY s.content_checksum`,
        )
        .all(row.manifestId) as { digest: string }[]
    ).map((b) => b.digest);
    t.same(blobs, m ? [m.config.digest, ...m.layers.map((l) => l.digest)].sort() : [], `${tag}: manifest linked to its config and both layers`);
  }
  t.equal((d.prepare('SELECT count(*) AS n FROM blobupload').get() as { n: number }).n, 0, 'no upload left open');
  t.same(readdirSync(join(reg.dataDir, 'storage', 'uploads')), [], 'no upload object left');
});

t.teardown(() => {
  process.stdout.write(`# timings:\n${timings.map((l) => `#   ${l}`).join('\n')}\n`);
});
