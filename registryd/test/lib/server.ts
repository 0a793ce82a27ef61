/** An in-process registryd on port 0 over a fresh data directory, for component tests. */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createLogger } from '../../../lib/log.js';
import { openGoSide as openRegistry, type GoSide as Registry, type GoSideOptions as RegistryOptions } from '../../../quay/runtime.js';
import { request, tempDir, type Reply, type RequestOptions, type TLike } from '../../../test/lib/proc.js';

export interface TestRegistry {
  readonly reg: Registry;
  readonly port: number;
  readonly dataDir: string;
  readonly logs: string[];
  req(o: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

export const sha256 = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

export async function startTestRegistry(t: TLike & { teardown(fn: () => unknown): void }, opts: Omit<RegistryOptions, 'dataDir' | 'log'> = {}): Promise<TestRegistry> {
  const dataDir = tempDir(t, 'registryd-test-');
  const logs: string[] = [];
  const reg = await openRegistry({ dataDir, log: createLogger({}, { write: (l) => logs.push(l) }), ...opts });
  const server = http.createServer(reg.handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await reg.close();
  };
  t.teardown(close);
  return { reg, port, dataDir, logs, req: (o) => request(port, o), close };
}

export function storageFile(dataDir: string, digest: string): string {
  const hex = digest.slice(7);
  return join(dataDir, 'storage', 'sha256', hex.slice(0, 2), hex);
}

/** Push a blob monolithically; returns its digest. */
export async function pushBlob(r: TestRegistry, repo: string, data: Buffer | string): Promise<string> {
  const digest = sha256(data);
  const res = await r.req({ method: 'POST', path: `/v2/${repo}/blobs/uploads/?digest=${digest}`, body: data, headers: { 'content-type': 'application/octet-stream' } });
  if (res.status !== 201) throw new Error(`push blob: ${res.status} ${res.text()}`);
  return digest;
}

/** A small OCI image manifest over the given config and layers (already pushed). */
export function imageManifest(config: string, configSize: number, layers: { digest: string; size: number }[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configSize },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
      ...extra,
    }),
  );
}
