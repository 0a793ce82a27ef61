/** GET/HEAD/PUT/DELETE /v2/<repo>/manifests/<tag or digest> (ROUTE_0012–0017). */
import { isSha256Digest, parseDigest } from '../../domain/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { Ctx } from './context.js';
import { readBody, sendEmpty } from './respond.js';

/** A reference is a digest when it has a colon (the route's regex decides which row matched). */
function reference(c: Ctx): { ref: string; byDigest: boolean } {
  const ref = c.params.manifest_ref ?? '';
  if (ref.includes(':')) return { ref: parseDigest(ref, 'manifest reference'), byDigest: true };
  return { ref, byDigest: false };
}

/**
 * The reference to look up (GET, HEAD, DELETE): Quay's digest rule takes any
 * `<algorithm>:<hex>` and compares it as a string, so another algorithm or
 * upper-case hex is a digest that names no manifest (404 MANIFEST_UNKNOWN once
 * the repository is known), never a 400.
 */
function lookup(c: Ctx): { ref: string; byDigest: boolean; names: boolean } {
  const ref = c.params.manifest_ref ?? '';
  if (!ref.includes(':')) return { ref, byDigest: false, names: true };
  return { ref, byDigest: true, names: isSha256Digest(ref) };
}

function unknown(ref: string, repo: { namespace: string; name: string }): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} is not in ${repo.namespace}/${repo.name}`, { detail: {} });
}

export async function getManifest(c: Ctx): Promise<void> {
  const { ref, byDigest, names } = lookup(c);
  const repo = await c.svc.readable(c.repoName());
  if (!names) throw unknown(ref, repo);
  const m = await c.svc.manifest(repo, ref, byDigest, c.requester());
  const body = Buffer.from(m.text, 'utf8');
  c.res.writeHead(200, {
    'content-type': m.mediaType,
    'content-length': body.length,
    'docker-content-digest': m.digest,
  });
  c.res.end(c.method === 'HEAD' ? undefined : body);
}

export async function putManifest(c: Ctx): Promise<void> {
  const { ref, byDigest } = reference(c);
  const repo = await c.svc.writable(c.repoName());
  const max = c.svc.settings.maxManifestBytes;
  const bytes = await readBody(c.req, max, () => new RegistryError('MANIFEST_INVALID', `manifest is larger than ${max} bytes`));
  const m = await c.svc.putManifest(repo, ref, byDigest, bytes, c.req.headers['content-type'], c.requester());
  const headers: Record<string, string> = {
    location: `${c.repoPath()}/manifests/${m.digest}`,
    'docker-content-digest': m.digest,
  };
  if (m.subject) headers['oci-subject'] = m.subject.digest;
  // Quay answers a manifest PUT with the text `OK` (a Flask string response, hence text/html).
  c.res.writeHead(201, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': 2 });
  c.res.end('OK');
}

export async function deleteManifest(c: Ctx): Promise<void> {
  const { ref, byDigest, names } = lookup(c);
  const repo = await c.svc.writable(c.repoName());
  if (!names) throw unknown(ref, repo);
  await c.svc.deleteManifest(repo, ref, byDigest, c.requester());
  sendEmpty(c.res, 202);
}
