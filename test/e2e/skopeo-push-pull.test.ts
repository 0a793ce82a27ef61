/**
 * A real client, end to end: OCI images built offline with umoci (one with a
 * 64 MiB layer of random bytes, one small) are pushed with skopeo through
 * `switchboard serve` while V2_PUSH/V2_UPLOAD are owned by one implementation
 * and V2_PULL by the other, then inspected, listed and pulled back. Both
 * owners are real Distribution 2.8 registries on ONE shared storage directory
 * (the shared data tier), so what one writes the other reads.
 *
 * Evidence that the split really happened comes from two independent places:
 * the switchboard access log (owner per request) and each registry's own
 * access log (which instance actually served it). The pulled manifests and
 * layers must be byte-identical to the pushed ones, and the 64 MiB file must
 * unpack with its original hash.
 *
 * Round 1: push on python, pull on go (big image, e2e/app:v1).
 * Round 2: the operator swaps the owners; push on go, pull on python (small image, e2e/app:v2).
 */
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request, requireBinaries, tempDir, waitFor } from '../lib/proc.js';
import { startRegistry, type Registry, type RegistryRequest } from '../lib/registry.js';
import { buildSwitchboard, startSwitchboard, type AccessLine, type OwnerName, type Switchboard } from '../lib/switchboard.js';
import { blobPath, buildImage, layoutManifest, sha256File, skopeoIn, unpackImage, type Skopeo } from '../lib/oci.js';

t.setTimeout(1_200_000);

// ---------------------------------------------------------------- setup (fails loudly, never skips)

requireBinaries(['docker-registry', 'skopeo', 'umoci']);
await buildSwitchboard();

const MiB = 1024 * 1024;
const dir = tempDir(t, 'swb-e2e-skopeo-');
const storage = join(dir, 'storage');
const images = join(dir, 'images');
for (const d of [storage, join(dir, 'work'), join(dir, 'sb')]) mkdirSync(d, { recursive: true });

const tag = randomBytes(6).toString('hex');
const python = await startRegistry(t, { name: 'python', storageDir: storage, configDir: dir, secret: `python-${tag}` });
const go = await startRegistry(t, { name: 'go', storageDir: storage, configDir: dir, secret: `go-${tag}` });
const registries: Record<OwnerName, Registry> = { python, go };

const migration = (push: OwnerName, pull: OwnerName): Record<string, unknown> => ({
  ROUTE_OWNER_DEFAULT: 'python',
  ROUTE_OWNER_CAP_V2_PUSH: push,
  ROUTE_OWNER_CAP_V2_UPLOAD: push,
  ROUTE_OWNER_CAP_V2_PULL: pull,
});
const sb: Switchboard = await startSwitchboard(
  t,
  join(dir, 'sb'),
  { python: python.url, go: go.url },
  {
    migration: migration('python', 'go'),
    settings: { DEBUG_HEADERS: true },
  },
);
const skopeo: Skopeo = await skopeoIn(join(dir, 'skopeo'));
const host = `127.0.0.1:${sb.port}`;
const repo = 'e2e/app';

// The images: big (64 MiB random file in layer 1, a small file in layer 2) and small (one layer).
const bigFile = randomBytes(64 * MiB);
const bigFileSha = createHash('sha256').update(bigFile).digest('hex');
await buildImage(images, 'big', [{ 'data/random.bin': bigFile, 'etc/image-name': 'big\n' }, { 'etc/motd': `second layer ${tag}\n` }], join(dir, 'work'));
await buildImage(images, 'small', [{ 'etc/image-name': 'small\n', 'data/small.bin': randomBytes(100 * 1024) }], join(dir, 'work'));

t.comment(`skopeo runs ${skopeo.userns ? 'in its own user namespace (blob-info cache in the temp HOME)' : 'directly as this user'}`);

// ---------------------------------------------------------------- helpers

const UPLOAD_ROUTES = new Set(['ROUTE_0004', 'ROUTE_0005', 'ROUTE_0006', 'ROUTE_0007', 'ROUTE_0008']);
const isUploadReq = (r: RegistryRequest): boolean => r.path.includes('/blobs/uploads/');
const isWrite = (r: RegistryRequest): boolean => r.method === 'POST' || r.method === 'PATCH' || r.method === 'PUT' || r.method === 'DELETE';
const isRead = (r: RegistryRequest): boolean => (r.method === 'GET' || r.method === 'HEAD') && /\/(blobs|manifests)\//.test(r.path) && !isUploadReq(r);

/** Waits until the access log holds a line matching `want` after `from`, then until it stops growing. */
async function logSince(from: number, what: string, want: (l: AccessLine) => boolean): Promise<AccessLine[]> {
  const found = await waitFor(() => sb.accessLog().slice(from).some(want), 15_000);
  if (!found) throw new Error(`no access log line for ${what}; log since ${from}:\n${JSON.stringify(sb.accessLog().slice(from), null, 1)}`);
  let n = -1;
  await waitFor(
    () => {
      const m = sb.accessLog().length;
      const stable = m === n;
      n = m;
      return stable;
    },
    5000,
    200,
  );
  return sb.accessLog().slice(from);
}

interface Marks {
  log: number;
  python: number;
  go: number;
}
/**
 * Positions in the three access logs. The registries' logs arrive through a
 * pipe: wait until they stop growing first, so no earlier line lands after a mark.
 */
async function marks(): Promise<Marks> {
  let last = '';
  await waitFor(
    () => {
      const now = `${python.requests().length}/${go.requests().length}`;
      const stable = now === last;
      last = now;
      return stable;
    },
    5000,
    200,
  );
  return { log: sb.accessLog().length, python: python.requests().length, go: go.requests().length };
}
/** skopeo's requests (by User-Agent; the test's own direct checks are left out) that `owner`'s registry served since `m`. */
const regSince = (owner: OwnerName, m: Marks): RegistryRequest[] =>
  registries[owner]
    .requests()
    .slice(m[owner])
    .filter((x) => x.userAgent.startsWith('skopeo/'));
/** Waits for a registry access log line (it may trail the response), returns whether it came. */
const regSaw = (owner: OwnerName, m: Marks, want: (x: RegistryRequest) => boolean): Promise<boolean> => waitFor(() => regSince(owner, m).some(want), 10_000);

interface Round {
  readonly push: OwnerName;
  readonly pull: OwnerName;
  readonly image: string;
  readonly ref: string;
  readonly tagsSoFar: string[];
  /** Check the 64 MiB file after unpacking the pulled image. */
  readonly bigFile: boolean;
}

async function round(t: Test, r: Round): Promise<void> {
  const src = layoutManifest(images, r.image);
  const blobs = [src.manifest.config, ...src.manifest.layers];
  const dest = `docker://${host}/${repo}:${r.ref}`;

  // ------------------------------------------------ push
  const m0 = await marks();
  const digestFile = join(dir, `pushed-${r.ref}.digest`);
  await skopeo.ok(['copy', '--retry-times', '0', '--preserve-digests', '--dest-tls-verify=false', '--digestfile', digestFile, `oci:${images}:${r.image}`, dest]);
  t.equal(readFileSync(digestFile, 'utf8').trim(), src.descriptor.digest, 'skopeo pushed the source manifest unchanged (digest file)');

  const pushLog = await logSince(m0.log, `PUT manifest ${r.ref}`, (l) => l.method === 'PUT' && l.path === `/v2/${repo}/manifests/${r.ref}`);
  const uploads = pushLog.filter((l) => l.route_id !== null && UPLOAD_ROUTES.has(l.route_id));
  const manifestPuts = pushLog.filter((l) => l.capability === 'V2_PUSH');
  const pullChecks = pushLog.filter((l) => l.capability === 'V2_PULL');
  t.ok(uploads.length >= 3 * blobs.length, `push: ${uploads.length} upload requests for ${blobs.length} blobs`);
  t.same([...new Set(uploads.map((l) => l.owner))], [r.push], `push: every upload request (POST/PATCH/PUT) was handled by ${r.push}`);
  t.same(
    uploads.filter((l) => l.method === 'PUT').map((l) => l.status),
    blobs.map(() => 201),
    'push: each blob upload completed 201',
  );
  t.ok(
    uploads.filter((l) => l.method !== 'POST').every((l) => l.reason === 'upload_pin'),
    'push: PATCH/PUT of each session followed its upload pin',
  );
  t.match(manifestPuts, [{ method: 'PUT', path: `/v2/${repo}/manifests/${r.ref}`, owner: r.push, status: 201 }], `push: the manifest PUT was handled by ${r.push}`);
  t.equal(manifestPuts.length, 1, 'push: one manifest PUT');
  t.ok(pullChecks.length >= 1, `push: skopeo's ${pullChecks.length} blob-existence checks are V2_PULL traffic`);
  t.same([...new Set(pullChecks.map((l) => l.owner))], [r.pull], `push: …and went to the pull owner ${r.pull}`);
  t.same(
    pushLog.filter((l) => l.status >= 500 || l.error),
    [],
    'push: no proxy or upstream failures',
  );

  // The registries' own access logs agree.
  t.ok(await regSaw(r.push, m0, (x) => x.method === 'PUT' && x.path === `/v2/${repo}/manifests/${r.ref}` && x.status === 201), `push: ${r.push} registry stored the manifest`);
  t.equal(regSince(r.push, m0).filter((x) => isUploadReq(x) && x.method === 'PUT' && x.status === 201).length, blobs.length, `push: ${r.push} registry completed every upload`);
  t.ok(await regSaw(r.pull, m0, (x) => x.method === 'HEAD'), `push: ${r.pull} registry answered the existence checks`);
  t.same(regSince(r.pull, m0).filter(isWrite), [], `push: ${r.pull} registry received no write at all`);

  // Both instances see the pushed manifest (shared storage).
  for (const reg of [python, go]) {
    const head = await request(reg.port, {
      method: 'HEAD',
      path: `/v2/${repo}/manifests/${r.ref}`,
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    t.equal(head.status, 200, `${reg.name} registry has ${repo}:${r.ref}`);
    t.equal(head.header('docker-content-digest'), src.descriptor.digest, `${reg.name} registry: same manifest digest`);
  }

  // ------------------------------------------------ inspect, list-tags, pull
  const m1 = await marks();
  const inspect = JSON.parse((await skopeo.ok(['inspect', '--retry-times', '0', '--tls-verify=false', dest])).stdout) as { Digest: string; Layers: string[] };
  t.equal(inspect.Digest, src.descriptor.digest, 'skopeo inspect: manifest digest');
  t.same(
    inspect.Layers,
    src.manifest.layers.map((l) => l.digest),
    'skopeo inspect: layer digests',
  );
  const raw = (await skopeo.ok(['inspect', '--retry-times', '0', '--tls-verify=false', '--raw', dest])).stdout;
  t.equal(raw, src.bytes.toString('utf8'), 'skopeo inspect --raw: the manifest bytes are the pushed ones');
  const tags = JSON.parse((await skopeo.ok(['list-tags', '--retry-times', '0', '--tls-verify=false', `docker://${host}/${repo}`])).stdout) as {
    Repository: string;
    Tags: string[];
  };
  t.same([...tags.Tags].sort(), [...r.tagsSoFar].sort(), `skopeo list-tags: ${r.tagsSoFar.join(', ')}`);

  const out = join(dir, `pulled-${r.ref}`);
  await skopeo.ok(['copy', '--retry-times', '0', '--preserve-digests', '--src-tls-verify=false', dest, `oci:${out}:${r.ref}`]);
  const biggest = src.manifest.layers.reduce((a, l) => (l.size > a.size ? l : a));
  const pullLog = await logSince(m1.log, 'GET of the biggest layer', (l) => l.method === 'GET' && l.path === `/v2/${repo}/blobs/${biggest.digest}`);
  const pulls = pullLog.filter((l) => l.capability === 'V2_PULL');
  for (const b of blobs) {
    t.ok(
      pulls.some((l) => l.method === 'GET' && l.path === `/v2/${repo}/blobs/${b.digest}` && l.status === 200),
      `pull: GET blob ${b.digest.slice(0, 19)}… (${b.size} bytes)`,
    );
  }
  t.ok(
    pulls.some((l) => l.method === 'GET' && l.path === `/v2/${repo}/manifests/${r.ref}` && l.status === 200),
    'pull: GET manifest by tag',
  );
  t.same([...new Set(pulls.map((l) => l.owner))], [r.pull], `pull: every manifest/blob read was handled by ${r.pull}`);
  t.same(
    pullLog.filter((l) => l.capability === 'V2_PUSH' || l.capability === 'V2_UPLOAD'),
    [],
    'pull: no push traffic',
  );
  t.same(
    pullLog.filter((l) => l.status >= 500 || l.error),
    [],
    'pull: no proxy or upstream failures',
  );
  t.ok(
    await regSaw(r.pull, m1, (x) => x.method === 'GET' && x.path === `/v2/${repo}/blobs/${biggest.digest}` && x.status === 200),
    `pull: ${r.pull} registry itself served the biggest layer`,
  );
  t.same(regSince(r.push, m1).filter(isRead), [], `pull: ${r.push} registry served no manifest or blob read`);

  // ------------------------------------------------ the pulled image equals the pushed one
  const got = layoutManifest(out, r.ref);
  t.equal(got.descriptor.digest, src.descriptor.digest, 'pulled manifest digest = pushed');
  t.ok(got.bytes.equals(src.bytes), 'pulled manifest bytes = pushed');
  t.same(
    got.manifest.layers.map((l) => l.digest),
    src.manifest.layers.map((l) => l.digest),
    'pulled layer digests = pushed',
  );
  for (const b of blobs) {
    const p = blobPath(out, b.digest);
    t.equal(statSync(p).size, b.size, `pulled blob ${b.digest.slice(0, 19)}… has its size`);
    t.equal(await sha256File(p), b.digest, `pulled blob ${b.digest.slice(0, 19)}… hashes to its digest`);
    t.equal(await sha256File(blobPath(images, b.digest)), b.digest, 'and so does the source blob');
  }
  if (r.bigFile) {
    t.ok(biggest.size > 64 * MiB, `the big layer is ${(biggest.size / MiB).toFixed(1)} MiB`);
    const bundle = join(dir, `unpacked-${r.ref}`);
    await unpackImage(out, r.ref, bundle);
    const file = join(bundle, 'rootfs', 'data', 'random.bin');
    t.equal(statSync(file).size, 64 * MiB, 'unpacked 64 MiB file size');
    t.equal(await sha256File(file), `sha256:${bigFileSha}`, 'the 64 MiB file came back bit for bit');
    t.equal(readFileSync(join(bundle, 'rootfs', 'etc', 'motd'), 'utf8'), `second layer ${tag}\n`, 'the second layer is applied');
  }
}

// ---------------------------------------------------------------- the tests

t.test('round 1: push with V2_PUSH/V2_UPLOAD on python, pull with V2_PULL on go (64 MiB layer)', async (t) => {
  t.setTimeout(600_000);
  const st = await sb.status();
  t.equal(st.snapshot.version, 1, 'first snapshot');
  await round(t, { push: 'python', pull: 'go', image: 'big', ref: 'v1', tagsSoFar: ['v1'], bigFile: true });
});

t.test('round 2: owners swapped live (V2_PUSH go, V2_PULL python), small image', async (t) => {
  t.setTimeout(600_000);
  const before = await sb.version();
  const after = await sb.reconfigure({ migration: migration('go', 'python'), settings: { DEBUG_HEADERS: true } });
  t.ok(after > before, `new snapshot ${before} → ${after}`);
  await round(t, { push: 'go', pull: 'python', image: 'small', ref: 'v2', tagsSoFar: ['v1', 'v2'], bigFile: false });

  // v1 (written through python in round 1) is still readable, now through python as the pull owner.
  const v1 = await request(sb.port, { method: 'HEAD', path: `/v2/${repo}/manifests/v1`, headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  t.equal(v1.status, 200, 'v1 still served');
  t.equal(v1.header('x-switchboard-owner'), 'python', 'by python now');
  t.equal(v1.header('docker-content-digest'), layoutManifest(images, 'big').descriptor.digest, 'same v1 digest');
});
