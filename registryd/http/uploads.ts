/**
 * Blob uploads (ROUTE_0004–0008): start (plain, monolithic `?digest=`,
 * cross-repository `?mount=&from=`), PATCH chunks, status, final PUT, cancel.
 * Response headers reproduce Quay's, quirks included (quay-schema.md §5):
 * POST answers `Range: bytes=0--1`, GET `Range: bytes=0-<byte_count>`, PATCH
 * `Range: 0-<byte_count-1>`, a gapped chunk gets a body-less 416 with
 * `Range: 0-<byte_count>`.
 */
import type { IncomingMessage } from 'node:http';
import { parseDigest } from '../../domain/digest.js';
import { RegistryError, fromDomain } from '../oci/errors.js';
import { DomainError } from '../../domain/errors.js';
import { parseRepositoryPath } from '../../domain/names.js';
import type { ChunkInput, ChunkRange } from '../service/uploads.js';
import type { Ctx } from './context.js';
import { sendEmpty } from './respond.js';

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return Number(len) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** `Content-Range: <start>-<end>` exactly as Quay accepts it (inclusive; no `bytes` prefix, no total). */
export function parseContentRange(v: string | undefined): ChunkRange | null {
  if (v === undefined) return null;
  const m = /^(\d+)-(\d+)$/.exec(v);
  if (!m || Number(m[2]) < Number(m[1])) throw new RegistryError('INVALID_REQUEST', `invalid Content-Range ${JSON.stringify(v)}: expected <start>-<end>`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** The request path without its query: Quay's Location on PATCH and 416 answers. */
function requestPath(c: Ctx): string {
  const url = c.req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function chunkOf(c: Ctx, range: ChunkRange | null): ChunkInput {
  return { body: c.req, range, signal: c.signal };
}

function blobCreated(c: Ctx, digest: string): void {
  sendEmpty(c.res, 201, { location: `${c.repoPath()}/blobs/${digest}`, 'docker-content-digest': digest });
}

export async function startUpload(c: Ctx): Promise<void> {
  const repo = await c.svc.writable(c.repoName(), true);
  const q = c.query();
  const mount = q.get('mount');
  if (mount !== null) {
    const digest = parseDigest(mount, 'mount');
    const from = q.get('from');
    let source = null;
    try {
      source = from === null ? null : parseRepositoryPath(from, c.settings.libraryNamespace);
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'NAME_INVALID')) throw e;
    }
    // As in Quay, a source the client may not read is no error: the mount just does not happen (202, upload as usual).
    if (source !== null && (await c.mayRead(source))) {
      const blob = await c.svc.mount(repo, source, digest);
      if (blob) {
        blobCreated(c, digest);
        return;
      }
    }
  }
  const digestParam = q.get('digest');
  const digest = digestParam === null ? null : parseDigest(digestParam);
  const row = await c.uploads.start(repo, c.clientKey());
  if (digest !== null) {
    try {
      await c.uploads.finish(repo, row.uuid, digest, hasBody(c.req) ? chunkOf(c, null) : null);
    } catch (e) {
      await c.uploads.cancel(repo, row.uuid).catch(() => {});
      throw e;
    }
    blobCreated(c, digest);
    return;
  }
  sendEmpty(c.res, 202, {
    location: `${c.repoPath()}/blobs/uploads/${row.uuid}`,
    range: 'bytes=0--1',
    'docker-upload-uuid': row.uuid,
  });
}

export async function uploadStatus(c: Ctx): Promise<void> {
  const repo = await c.svc.writable(c.repoName());
  const row = await c.uploads.get(repo, c.params.upload_uuid ?? '');
  sendEmpty(c.res, 204, {
    location: `${c.repoPath()}/blobs/uploads/${row.uuid}`,
    range: `bytes=0-${row.byteCount}`,
    'docker-upload-uuid': row.uuid,
  });
}

export async function patchUpload(c: Ctx): Promise<void> {
  const repo = await c.svc.writable(c.repoName());
  const range = parseContentRange(c.req.headers['content-range']);
  const row = await c.uploads.chunk(repo, c.params.upload_uuid ?? '', chunkOf(c, range)).catch((e: unknown) => {
    throw withLocation(e, requestPath(c));
  });
  sendEmpty(c.res, 202, { location: requestPath(c), range: `0-${row.byteCount - 1}`, 'docker-upload-uuid': row.uuid });
}

/** A 416 for a gapped chunk carries the upload's Location, as Quay's does. */
function withLocation(e: unknown, location: string): unknown {
  if (e instanceof DomainError && e.code === 'BLOB_UPLOAD_RANGE_INVALID') {
    const oci = fromDomain(e);
    return new RegistryError(oci.code, oci.message, { detail: oci.detail, status: oci.status, headers: { ...oci.headers, location }, emptyBody: true });
  }
  return e;
}

export async function finishUpload(c: Ctx): Promise<void> {
  const repo = await c.svc.writable(c.repoName());
  const digestParam = c.query().get('digest');
  if (digestParam === null) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'missing digest parameter on the final PUT', { detail: { reason: 'Missing digest arg on monolithic upload' } });
  }
  let digest: string;
  try {
    digest = parseDigest(digestParam);
  } catch (e) {
    // Quay takes a malformed digest as one that does not match: the final PUT is refused and
    // the upload cancelled (BLOB_UPLOAD_UNKNOWN first when there is no such upload).
    await c.uploads.cancel(repo, c.params.upload_uuid ?? '');
    throw e;
  }
  const range = parseContentRange(c.req.headers['content-range']);
  await c.uploads.finish(repo, c.params.upload_uuid ?? '', digest, hasBody(c.req) ? chunkOf(c, range) : null);
  blobCreated(c, digest);
}

export async function cancelUpload(c: Ctx): Promise<void> {
  const repo = await c.svc.writable(c.repoName());
  await c.uploads.cancel(repo, c.params.upload_uuid ?? '');
  sendEmpty(c.res, 204);
}
