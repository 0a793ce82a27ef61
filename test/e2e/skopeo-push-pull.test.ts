/**
 * A real client end to end: images built offline with umoci (one with a 64 MiB
 * layer) are pushed with skopeo through switchboard with V2_PUSH/V2_UPLOAD on
 * one owner and pulled back with V2_PULL on the other. Both owners are real
 * docker-registry processes sharing one storage directory. The access log
 * shows the split really happened; the pulled layers equal the pushed ones.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, tempDir, type TLike } from '../../switchboard/test/proxy/lib/harness.js';
import { requireTools, startRegistry, startSwitchboard } from '../lib/peers.js';

t.before(async () => {
  requireTools('docker-registry', 'skopeo', 'umoci');
  await buildOnce();
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  try {
    return execFileSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`);
  }
}

/** Builds an OCI image layout `dir:tag` whose single layer holds `files`. */
function buildImage(dir: string, tag: string, files: Record<string, Buffer>, env: NodeJS.ProcessEnv): void {
  run('umoci', ['init', '--layout', dir], env);
  run('umoci', ['new', '--image', `${dir}:${tag}`], env);
  const bundle = `${dir}-bundle`;
  run('umoci', ['unpack', '--rootless', '--image', `${dir}:${tag}`, bundle], env);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(bundle, 'rootfs', name), data);
  run('umoci', ['repack', '--image', `${dir}:${tag}`, bundle], env);
}

interface Layout { manifest: { layers: { digest: string; size: number }[]; config: { digest: string } } }

function readLayout(dir: string): Layout {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const m = index.manifests[0]!.digest.split(':')[1]!;
  return { manifest: JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', m), 'utf8')) as Layout['manifest'] };
}

function sha256File(path: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}

interface Access { method: string; path: string; owner: string; capability: string | null; status: number }

async function pushPull(t: TLike & { equal: Function; ok: Function; same: Function; match: Function }, pushOwner: string, pullOwner: string, layerMiB: number): Promise<void> {
  const dir = tempDir(t, 'swb-e2e-skopeo-');
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: home, REGISTRY_AUTH_FILE: join(home, 'auth.json'), TMPDIR: dir,
  };
  const storage = join(dir, 'storage');
  const python = await startRegistry(t, dir, storage, 'python-secret');
  const go = await startRegistry(t, dir, storage, 'go-secret');
  const sb = await startSwitchboard(t, dir, python, go, {
    ROUTE_OWNER_CAP_V2_PUSH: pushOwner, ROUTE_OWNER_CAP_V2_UPLOAD: pushOwner, ROUTE_OWNER_CAP_V2_PULL: pullOwner,
  });
  const src = join(dir, 'src');
  buildImage(src, 'v1', { 'big.bin': randomBytes(layerMiB * 1024 * 1024), 'hello.txt': Buffer.from(`pushed via ${pushOwner}\n`) }, env);
  const pushed = readLayout(src).manifest;
  const ref = `docker://127.0.0.1:${sb.port}/e2e/app-${pushOwner}:v1`;
  run('skopeo', ['--policy', policy, 'copy', '--dest-tls-verify=false', `oci:${src}:v1`, ref], env);
  // Pulls (and everything after this point) are V2_PULL traffic.
  const pullFrom = (await import('node:fs')).readFileSync(sb.accessLog, 'utf8').split('\n').filter(Boolean).length;
  const inspect = JSON.parse(run('skopeo', ['--policy', policy, 'inspect', '--tls-verify=false', ref], env)) as { Layers: string[] };
  t.same(inspect.Layers, pushed.layers.map((l) => l.digest), 'skopeo inspect sees the pushed layers');
  const tags = JSON.parse(run('skopeo', ['--policy', policy, 'list-tags', '--tls-verify=false', `docker://127.0.0.1:${sb.port}/e2e/app-${pushOwner}`], env)) as { Tags: string[] };
  t.same(tags.Tags, ['v1']);
  const out = join(dir, 'out');
  run('skopeo', ['--policy', policy, 'copy', '--src-tls-verify=false', ref, `oci:${out}:v1`], env);
  const pulled = readLayout(out).manifest;
  t.same(pulled.layers.map((l) => l.digest), pushed.layers.map((l) => l.digest), 'pulled layer digests equal the pushed ones');
  const big = pulled.layers.reduce((a, l) => (l.size > a.size ? l : a));
  t.ok(big.size > layerMiB * 1024 * 1024 * 0.9, `the big layer is ${Math.round(big.size / 1048576)} MiB`);
  t.equal(sha256File(join(out, 'blobs', 'sha256', big.digest.split(':')[1]!)), big.digest, 'its bytes hash to its digest');

  const lines = readFileSync(sb.accessLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Access);
  const pushLines = lines.slice(0, pullFrom);
  const pullLines = lines.slice(pullFrom);
  const uploads = pushLines.filter((l) => l.capability === 'V2_UPLOAD');
  const manifestPuts = pushLines.filter((l) => l.capability === 'V2_PUSH');
  t.ok(uploads.length >= 3, `${uploads.length} upload requests during the push`);
  t.ok(manifestPuts.length >= 1, 'a manifest PUT');
  t.ok([...uploads, ...manifestPuts].every((l) => l.owner === pushOwner), `every upload and manifest PUT went to ${pushOwner}`);
  const blobGets = pullLines.filter((l) => l.capability === 'V2_PULL' && l.method === 'GET');
  t.ok(blobGets.length >= 2, `${blobGets.length} GETs during the pull`);
  t.ok(blobGets.every((l) => l.owner === pullOwner), `every pull GET went to ${pullOwner}`);
  t.ok(lines.every((l) => l.status < 500), 'no server errors');
}

t.test('push with V2_PUSH on python, pull with V2_PULL on go (64 MiB layer)', async (t) => {
  t.setTimeout(300_000);
  await pushPull(t, 'python', 'go', 64);
});

t.test('and the other way round: push on go, pull on python', async (t) => {
  t.setTimeout(300_000);
  await pushPull(t, 'go', 'python', 8);
});
