/**
 * Real OCI clients for the end-to-end tests (DESIGN §7): images built offline
 * with `umoci`, copied with `skopeo`, and OCI image layouts read back.
 *
 * skopeo runs with everything it would read or write redirected into a temp
 * directory: HOME, XDG_* dirs, REGISTRY_AUTH_FILE, CONTAINERS_REGISTRIES_CONF,
 * --registries.d, --tmpdir and --policy (insecureAcceptAnything). As root,
 * containers/image keeps its blob-info cache in /var/lib/containers/cache
 * whatever HOME says; to keep the machine's state out of the test (and the
 * test's out of the machine) skopeo runs in a fresh user namespace
 * (`unshare -U`, euid 65534 inside), where the cache goes under the temp
 * XDG_DATA_HOME. If user namespaces are unavailable it runs directly.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk, type RunResult } from './proc.js';

export interface OciDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

export interface OciManifest {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly config: OciDescriptor;
  readonly layers: OciDescriptor[];
}

/** sha256 of a file, streamed, as `sha256:<hex>`. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(`sha256:${h.digest('hex')}`));
  });
}

export function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(layout, 'blobs', alg as string, hex as string);
}

/** The manifest descriptor tagged `tag` in an OCI layout's index.json. */
export function layoutTag(layout: string, tag: string): OciDescriptor {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: OciDescriptor[] };
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!d) throw new Error(`no tag ${tag} in ${layout}/index.json: ${JSON.stringify(index)}`);
  return d;
}

/** The manifest (parsed, and its exact bytes) tagged `tag` in an OCI layout. */
export function layoutManifest(layout: string, tag: string): { descriptor: OciDescriptor; manifest: OciManifest; bytes: Buffer } {
  const descriptor = layoutTag(layout, tag);
  const bytes = readFileSync(blobPath(layout, descriptor.digest));
  return { descriptor, manifest: JSON.parse(bytes.toString('utf8')) as OciManifest, bytes };
}

// ---------------------------------------------------------------- umoci

/** One layer's content: files (relative to rootfs) and their bytes. */
export type LayerFiles = Record<string, Buffer | string>;

/**
 * Builds `layout:tag` offline: `umoci new`, `umoci unpack --rootless` into a
 * bundle, then per entry of `layers` writes the files into bundle/rootfs and
 * `umoci repack`s (with --refresh-bundle so each repack adds exactly one
 * layer holding that entry's changes). The layout is created if needed.
 */
export async function buildImage(layout: string, tag: string, layers: readonly LayerFiles[], workDir: string): Promise<void> {
  const opts = { timeoutMs: 300_000 };
  if (!existsLayout(layout)) await runOk('umoci', ['init', '--layout', layout], opts);
  await runOk('umoci', ['new', '--image', `${layout}:${tag}`], opts);
  const bundle = join(workDir, `bundle-${tag}-${Date.now()}`);
  await runOk('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle], opts);
  for (const files of layers) {
    for (const [name, data] of Object.entries(files)) {
      const p = join(bundle, 'rootfs', name);
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, data);
    }
    await runOk('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:${tag}`, bundle], opts);
  }
  // Drop the intermediate manifests and configs the repacks left behind.
  await runOk('umoci', ['gc', '--layout', layout], opts);
}

function existsLayout(layout: string): boolean {
  try {
    readFileSync(join(layout, 'oci-layout'));
    return true;
  } catch {
    return false;
  }
}

/** `umoci unpack --rootless` of `layout:tag` into `bundle`. */
export async function unpackImage(layout: string, tag: string, bundle: string): Promise<void> {
  await runOk('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle], { timeoutMs: 300_000 });
}

// ---------------------------------------------------------------- skopeo

export interface Skopeo {
  /** Whether skopeo runs in its own user namespace (see the file comment). */
  readonly userns: boolean;
  /** Runs `skopeo <global flags> <args>`; never throws on a non-zero exit. */
  run(args: readonly string[]): Promise<RunResult>;
  /** Same, but throws with skopeo's output unless it exits 0. */
  ok(args: readonly string[]): Promise<RunResult>;
}

let usernsWorks: boolean | null = null;
async function canUnshare(): Promise<boolean> {
  if (usernsWorks === null) {
    try {
      const r = await run('unshare', ['-U', 'true'], { timeoutMs: 10_000 });
      usernsWorks = r.code === 0;
    } catch {
      usernsWorks = false;
    }
  }
  return usernsWorks;
}

/** A skopeo whose every config, cache, credential and temp path is under `dir`. */
export async function skopeoIn(dir: string): Promise<Skopeo> {
  const home = join(dir, 'home');
  const runtime = join(dir, 'run');
  const registriesD = join(dir, 'registries.d');
  const tmp = join(dir, 'tmp');
  for (const d of [home, runtime, registriesD, tmp]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const auth = join(dir, 'auth.json');
  writeFileSync(auth, JSON.stringify({ auths: {} }));
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, 'unqualified-search-registries = []\n');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    REGISTRY_AUTH_FILE: auth,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    TMPDIR: tmp,
  };
  const userns = await canUnshare();
  const global = ['--policy', policy, '--registries.d', registriesD, '--tmpdir', tmp, '--command-timeout', '10m'];
  const exec = (args: readonly string[]): Promise<RunResult> =>
    userns
      ? run('unshare', ['-U', 'skopeo', ...global, ...args], { env, cwd: dir, timeoutMs: 660_000 })
      : run('skopeo', [...global, ...args], { env, cwd: dir, timeoutMs: 660_000 });
  return {
    userns,
    run: exec,
    async ok(args) {
      const r = await exec(args);
      if (r.code !== 0) throw new Error(`skopeo ${args.join(' ')} failed (exit ${String(r.code)}):\n${r.stdout}\n${r.stderr}`);
      return r;
    },
  };
}
