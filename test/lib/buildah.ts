/**
 * A real `buildah` (Debian's) for the end-to-end tests, with everything it
 * reads or writes redirected into a temp directory:
 *
 * - storage: `--root`, `--runroot`, `--storage-driver vfs` (no overlay, no
 *   kernel mounts: `buildah mount` just names a directory) and a
 *   CONTAINERS_STORAGE_CONF saying the same;
 * - config: CONTAINERS_CONF (netavark with its network_config_dir, lock
 *   included, in the temp dir instead of /etc/containers/networks and
 *   /etc/cni/net.d; image_copy_tmp_dir), CONTAINERS_REGISTRIES_CONF,
 *   REGISTRY_AUTH_FILE, HOME, XDG_* and TMPDIR;
 * - `--signature-policy` (insecureAcceptAnything) on every subcommand that
 *   takes it, and the same policy in $HOME/.config/containers/policy.json;
 * - BUILDAH_ISOLATION=chroot (only `buildah run` would use it).
 *
 * As root, containers/image and common still pick a few fixed paths whatever
 * the environment says: the blob-info cache (/var/lib/containers/cache), the
 * short-name alias cache (/var/cache/containers) and netavark's run dir
 * (/run/containers/networks). skopeo (test/lib/oci.ts) avoids them with a
 * fresh user namespace; buildah cannot run that way (unmapped there, it is
 * "rootless" and must create a nested user namespace, which the kernel
 * refuses). So buildah runs as root in a private mount namespace
 * (`unshare --mount`) where /var/lib, /var/cache and /run are bind mounts of
 * directories under `dir`/host: the machine's state stays out of the test and
 * the test's out of the machine. If mount namespaces are unavailable it runs
 * directly (and may leave those caches behind).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunResult } from './proc.js';

export interface Buildah {
  /** The directory everything lives in. */
  readonly dir: string;
  /** Graph root (`--root`) and run root (`--runroot`). */
  readonly root: string;
  readonly runroot: string;
  /** Whether buildah runs in its own mount namespace (see the file comment). */
  readonly isolated: boolean;
  /** Runs `buildah <global flags> <args>`; never throws on a non-zero exit. */
  run(args: readonly string[]): Promise<RunResult>;
  /** Same, but throws with buildah's output unless it exits 0. */
  ok(args: readonly string[]): Promise<RunResult>;
  /** `ok(args)`'s stdout, trimmed (a container name, an image id, a mount point...). */
  out(args: readonly string[]): Promise<string>;
}

/** Subcommands of buildah 1.28 that take `--signature-policy`. */
const POLICY_SUBCOMMANDS = new Set(['from', 'commit', 'push', 'pull', 'bud', 'build']);

/** Bind mounts $0/{var-lib,var-cache,run} over /var/lib, /var/cache, /run, then runs "$@". */
const SHADOW = 'set -e; mount --bind "$0/var-lib" /var/lib; mount --bind "$0/var-cache" /var/cache; mount --bind "$0/run" /run; exec "$@"';
const UNSHARE = ['--mount', '--propagation', 'private', 'sh', '-c', SHADOW];

/** Whether the shadowing mount namespace can be set up here (tried for real, with `true` as the command). */
async function canShadow(host: string): Promise<boolean> {
  try {
    return (await run('unshare', [...UNSHARE, host, 'true'], { timeoutMs: 10_000 })).code === 0;
  } catch {
    return false;
  }
}

/** A buildah whose storage, config, caches and temp files are all under `dir`. */
export async function buildahIn(dir: string): Promise<Buildah> {
  const home = join(dir, 'home');
  const runtime = join(dir, 'xdg-run');
  const tmp = join(dir, 'tmp');
  const root = join(dir, 'storage');
  const runroot = join(dir, 'runroot');
  const networks = join(dir, 'networks');
  const host = join(dir, 'host');
  const configDir = join(home, '.config', 'containers');
  for (const d of [home, runtime, tmp, root, runroot, networks, configDir, join(host, 'var-lib'), join(host, 'var-cache'), join(host, 'run')]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  const policyJson = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] });
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, policyJson);
  writeFileSync(join(configDir, 'policy.json'), policyJson);
  const auth = join(dir, 'auth.json');
  writeFileSync(auth, JSON.stringify({ auths: {} }));
  const registriesConf = join(dir, 'registries.conf');
  writeFileSync(registriesConf, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
  const storageConf = join(dir, 'storage.conf');
  writeFileSync(storageConf, `[storage]\ndriver = "vfs"\ngraphroot = ${JSON.stringify(root)}\nrunroot = ${JSON.stringify(runroot)}\n`);
  const containersConf = join(dir, 'containers.conf');
  writeFileSync(
    containersConf,
    [
      '[containers]',
      '[network]',
      'network_backend = "netavark"',
      `network_config_dir = ${JSON.stringify(networks)}`,
      '[engine]',
      `image_copy_tmp_dir = ${JSON.stringify(tmp)}`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    REGISTRY_AUTH_FILE: auth,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_CONF: containersConf,
    STORAGE_DRIVER: 'vfs',
    BUILDAH_ISOLATION: 'chroot',
    TMPDIR: tmp,
  };
  const isolated = await canShadow(host);
  const global = ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs'];
  const argv = (args: readonly string[]): string[] => {
    const [sub, ...rest] = args;
    if (sub === undefined) return [...global];
    return POLICY_SUBCOMMANDS.has(sub) ? [...global, sub, '--signature-policy', policy, ...rest] : [...global, sub, ...rest];
  };
  const exec = (args: readonly string[]): Promise<RunResult> =>
    isolated
      ? run('unshare', [...UNSHARE, host, 'buildah', ...argv(args)], { env, cwd: dir, timeoutMs: 600_000 })
      : run('buildah', argv(args), { env, cwd: dir, timeoutMs: 600_000 });
  const ok = async (args: readonly string[]): Promise<RunResult> => {
    const r = await exec(args);
    if (r.code !== 0) throw new Error(`buildah ${args.join(' ')} failed (exit ${String(r.code)}${r.signal ? `, ${r.signal}` : ''}):\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  return { dir, root, runroot, isolated, run: exec, ok, out: async (args) => (await ok(args)).stdout.trim() };
}
