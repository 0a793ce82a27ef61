/**
 * The registry client of the registry and auth benchmarks: blob pushes the
 * way skopeo and containerd make them, pulls with curl, and small images.
 * Every request carries the peer's headers (its bearer token, if any).
 *
 * Blob content is generated, never read from disk: 1 MiB blocks of a fixed
 * pattern with the block index and a seed in their first 8 bytes, so every
 * seed is new content (no registry can skip the write) and the client costs
 * one memcpy per MiB.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { pinned, rssKiB } from './procs.js';
import type { Peer } from './peers.js';

const MIB = 1048576;
const PATTERN = Buffer.alloc(MIB);
for (let i = 0; i < MIB; i += 4) PATTERN.writeUInt32LE((i * 2654435761) >>> 0, i);

export interface GeneratedBlob {
  readonly mib: number;
  readonly seed: number;
  readonly size: number;
  readonly digest: string;
}

function block(seed: number, i: number): Buffer {
  const b = Buffer.from(PATTERN);
  b.writeUInt32LE(i, 0);
  b.writeUInt32LE(seed, 4);
  return b;
}

/** `mib` MiB of content only `seed` gives, and its digest. */
export function generatedBlob(mib: number, seed: number): GeneratedBlob {
  const h = createHash('sha256');
  for (let i = 0; i < mib; i++) h.update(block(seed, i));
  return { mib, seed, size: mib * MIB, digest: `sha256:${h.digest('hex')}` };
}

/** MiB blocks [from, to) of the blob as a stream. */
function body(blob: GeneratedBlob, from: number, to: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = from; i < to; i++) yield block(blob.seed, i);
    })(),
    { objectMode: false },
  );
}

/** One request on a fresh connection; resolves once the response is read (its body discarded). */
export function send(url: URL, method: string, headers: http.OutgoingHttpHeaders, payload?: Readable | Buffer): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('error', reject);
    if (payload instanceof Readable) payload.pipe(req);
    else req.end(payload);
  });
}

function expect(p: Peer, what: string, res: http.IncomingMessage, status: number): void {
  if (res.statusCode !== status) throw new Error(`${p.name} ${what}: ${res.statusCode} (expected ${status})`);
}

/**
 * Pushes the blob: POST, then PATCHes, then PUT ?digest=. `chunkMiB` absent:
 * one PATCH streaming the whole blob (skopeo's and containerd's way);
 * otherwise PATCHes of that many MiB with `Content-Range: start-end`, each
 * on the Location the previous answer gave. Returns seconds.
 */
export async function pushBlob(p: Peer, repo: string, blob: GeneratedBlob, chunkMiB?: number): Promise<number> {
  const t0 = performance.now();
  const start = await send(new URL(`${p.base}/v2/${repo}/blobs/uploads/`), 'POST', { ...p.headers, 'content-length': 0 });
  expect(p, 'POST upload', start, 202);
  let loc = new URL(String(start.headers.location), p.base);
  const step = chunkMiB ?? blob.mib;
  for (let from = 0; from < blob.mib; from += step) {
    const to = Math.min(from + step, blob.mib);
    const headers: http.OutgoingHttpHeaders = { ...p.headers, 'content-type': 'application/octet-stream', 'content-length': (to - from) * MIB };
    if (chunkMiB !== undefined) headers['content-range'] = `${from * MIB}-${to * MIB - 1}`;
    const patch = await send(loc, 'PATCH', headers, body(blob, from, to));
    expect(p, 'PATCH', patch, 202);
    loc = new URL(String(patch.headers.location), p.base);
  }
  loc.searchParams.set('digest', blob.digest);
  expect(p, 'PUT', await send(loc, 'PUT', { ...p.headers, 'content-length': 0 }), 201);
  return (performance.now() - t0) / 1000;
}

/** A small blob in one request (POST, then PUT ?digest= with the body); returns its digest. */
export async function pushBytes(p: Peer, repo: string, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const start = await send(new URL(`${p.base}/v2/${repo}/blobs/uploads/`), 'POST', { ...p.headers, 'content-length': 0 });
  expect(p, 'POST upload', start, 202);
  const loc = new URL(String(start.headers.location), p.base);
  loc.searchParams.set('digest', digest);
  expect(p, 'PUT blob', await send(loc, 'PUT', { ...p.headers, 'content-type': 'application/octet-stream', 'content-length': data.length }, data), 201);
  return digest;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * A one-layer OCI image (4 KiB layer) tagged with each of `tags`; returns
 * the layer's digest (a small blob to GET).
 */
export async function pushSmallImage(p: Peer, repo: string, tags: readonly string[]): Promise<string> {
  const layer = Buffer.alloc(4096, 7);
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layerDigest = await pushBytes(p, repo, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await pushBytes(p, repo, cfg), size: cfg.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  });
  for (const tag of tags) {
    const put = await fetch(`${p.base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { ...p.headers, 'content-type': OCI_MANIFEST }, body: manifest });
    if (put.status !== 201) throw new Error(`${p.name} manifest PUT ${tag}: ${put.status} ${await put.text()}`);
  }
  return layerDigest;
}

/**
 * GET the blob with curl on cpu 0 (a C client, so the client is not what
 * limits a fast server), the server's RSS sampled meanwhile. Returns seconds
 * and the RSS growth in MiB.
 */
export async function pullBlob(p: Peer, repo: string, blob: { digest: string; size: number }): Promise<{ secs: number; rssGrowthMiB: number }> {
  const base = rssKiB(p.pid);
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(p.pid));
  }, 50);
  const headers = Object.entries(p.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const [cmd, args] = pinned('0', '/usr/bin/curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{size_download} %{time_total}',
    ...headers,
    `${p.base}/v2/${repo}/blobs/${blob.digest}`,
  ]);
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    c.stdout.on('data', (d: Buffer) => {
      s += d.toString();
    });
    c.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`curl exited ${code}`))));
  });
  clearInterval(sampler);
  const [status, n, secs] = out.trim().split(' ').map(Number) as [number, number, number];
  if (status !== 200 || n !== blob.size) throw new Error(`${p.name} pull: ${status}, ${n} bytes of ${blob.size}`);
  return { secs, rssGrowthMiB: (peak - base) / 1024 };
}
