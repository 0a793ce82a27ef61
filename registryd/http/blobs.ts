/** GET/HEAD/DELETE /v2/<repo>/blobs/<digest> (ROUTE_0009–0011). */
import { pipeline } from 'node:stream/promises';
import { parseDigest } from '../digest.js';
import { RegistryError } from '../oci-errors.js';
import type { ByteRange } from '../storage/driver.js';
import type { Ctx } from './context.js';

const BLOB_CONTENT_TYPE = 'application/octet-stream';

/**
 * A single `bytes=` range against a blob of `size` bytes (RFC 9110 §14.1.2):
 * null for no header; a body-less 416 with `Content-Range: bytes *\/size` when
 * it is malformed, multi-part or unsatisfiable (Quay ignores Range and always
 * sends the whole blob; Distribution, like us, serves the range).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const unsatisfiable = (): RegistryError =>
    new RegistryError('INVALID_REQUEST', `range ${JSON.stringify(header)} cannot be served from ${size} bytes`, {
      status: 416, headers: { 'content-range': `bytes */${size}` }, emptyBody: true,
    });
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw unsatisfiable();
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable();
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) throw unsatisfiable();
  }
  if (start >= size || !Number.isSafeInteger(start)) throw unsatisfiable();
  return { start, end };
}

export async function getBlob(c: Ctx): Promise<void> {
  const head = c.method === 'HEAD';
  const digest = parseDigest(c.params.digest);
  const repo = await c.svc.readable(c.repoName());
  const blob = await c.svc.blob(repo, digest);
  const range = parseRange(c.req.headers.range, blob.size);
  const headers: Record<string, string | number> = {
    'docker-content-digest': digest,
    'content-type': BLOB_CONTENT_TYPE,
    'accept-ranges': 'bytes',
    'cache-control': head ? 'max-age=31436000' : 'max-age=31536000',
  };
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${blob.size}`;
    headers['content-length'] = range.end - range.start + 1;
  } else {
    headers['content-length'] = blob.size;
  }
  if (head) {
    c.res.writeHead(range ? 206 : 200, headers);
    c.res.end();
    return;
  }
  const body = await c.svc.openBlob(blob, range);
  c.res.writeHead(range ? 206 : 200, headers);
  try {
    await pipeline(body, c.res);
  } catch {
    // The client left or the storage failed mid-stream: the response is cut short (no way to report it now).
    c.res.destroy();
  }
}

export async function deleteBlob(c: Ctx): Promise<void> {
  parseDigest(c.params.digest);
  await c.svc.readable(c.repoName());
  // Quay does not delete blobs through /v2: unreferenced blobs are garbage-collected.
  throw new RegistryError('UNSUPPORTED', 'blob deletion is not supported; blobs are garbage-collected once no manifest references them');
}
