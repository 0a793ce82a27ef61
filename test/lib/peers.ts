/**
 * Real peers for end-to-end tests (used by skopeo-push-pull): CNCF Distribution (`docker-registry`, the
 * legacy stand-in) processes, and the switchboard proxy in front of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { configYaml, startServe, waitFor, writeAtomic, type ServeProcess, type TLike } from '../../switchboard/test/proxy/lib/harness.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export function requireTools(...tools: string[]): void {
  const missing = tools.filter((t) => !existsSync(`/usr/bin/${t}`));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: apt-get install -y docker-registry skopeo umoci`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface Registry { readonly url: string; readonly port: number; readonly child: ChildProcess }

/** Starts `docker-registry serve` on `storage` (shared between instances) with its own http.secret. */
export async function startRegistry(t: TLike, dir: string, storage: string, secret: string): Promise<Registry> {
  requireTools('docker-registry');
  const port = await freePort();
  mkdirSync(storage, { recursive: true });
  const conf = join(dir, `registry-${secret}.yml`);
  writeFileSync(conf, `version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: ${storage}}
  delete: {enabled: true}
http: {addr: "127.0.0.1:${port}", secret: "${secret}"}
health: {storagedriver: {enabled: false}}
`);
  const child = spawn(REGISTRY_BIN, ['serve', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });
  const url = `http://127.0.0.1:${port}`;
  const up = await waitFor(async () => {
    try { return (await fetch(`${url}/v2/`)).status === 200; } catch { return false; }
  }, 20_000, 50);
  if (!up) throw new Error(`docker-registry did not start:\n${err}`);
  return { url, port, child };
}

/** The switchboard proxy (real process) in front of python and go registries. */
export async function startSwitchboard(
  t: TLike, dir: string, python: Registry, go: Registry, migration: Record<string, unknown>, settings: Record<string, unknown> = {},
): Promise<ServeProcess & { rewrite(m: Record<string, unknown>): Promise<void>; accessLog: string }> {
  const file = join(dir, 'config.yaml');
  const accessLog = join(dir, 'access.log');
  const spec = (m: Record<string, unknown>) => configYaml({
    migration: m,
    upstreams: { python: python.url, go: go.url },
    settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', DEBUG_HEADERS: true, ACCESS_LOG: accessLog, ...settings },
  });
  writeAtomic(file, spec(migration));
  const sb = await startServe(t, file);
  const version = async (): Promise<number> => (await (await fetch(`http://127.0.0.1:${sb.adminPort}/status`)).json() as { snapshot: { version: number } }).snapshot.version;
  return {
    ...sb,
    accessLog,
    async rewrite(m) {
      const before = await version();
      writeAtomic(file, spec(m));
      if (!(await waitFor(async () => (await version()) > before, 10_000, 20))) throw new Error('config change not installed');
    },
  };
}
