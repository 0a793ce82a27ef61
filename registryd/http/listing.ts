/** GET /v2/, /v2/_catalog, /v2/<repo>/tags/list, /v2/<repo>/referrers/<digest> (ROUTE_0001, 0002, 0018, 0019). */
import { isSha256Digest } from '../../domain/digest.js';
import { RegistryError } from '../oci/errors.js';
import { RegistryService } from '../service/registry.js';
import type { Page } from '../../dal/model/store.js';
import { OCI_INDEX } from '../content/media-types.js';
import type { Ctx } from './context.js';
import { API_VERSION_HEADER, sendJson } from './respond.js';

/** Page size when the client gives none, and the most one page may hold. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 100;

/**
 * `n` as Quay's oci_tag_paginate reads it (Werkzeug `type=int`, i.e. Python
 * int(): surrounding spaces, a sign and `_` between digits are accepted);
 * anything else is a full page. The result is clamped to 0–MAX_PAGE, never refused.
 */
export function pageSize(nRaw: string | null): number {
  if (nRaw === null) return DEFAULT_PAGE;
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(nRaw);
  if (!m) return MAX_PAGE;
  if (m[1] === '-') return 0; // a negative number clamps to 0 (-0 is 0)
  return Math.min(Number(m[2]!.replace(/_/g, '')), MAX_PAGE);
}

function page(c: Ctx): Page {
  const q = c.query();
  const n = pageSize(q.get('n'));
  const last = q.get('last')?.trim() ?? null;
  return last === null || last === '' ? { n } : { n, last };
}

/**
 * One page, asked for with one extra row (as Quay does): `Link: <path?n=&last=>; rel="next"`
 * only when something really follows.
 */
async function paged(p: Page, fetch: (p: Page) => Promise<string[]>, path: string): Promise<{ items: string[]; headers: Record<string, string> }> {
  if (p.n === 0) return { items: [], headers: {} };
  const rows = await fetch({ ...p, n: p.n + 1 });
  if (rows.length <= p.n) return { items: rows, headers: {} };
  const items = rows.slice(0, p.n);
  return { items, headers: { link: `<${path}?n=${p.n}&last=${encodeURIComponent(items[items.length - 1]!)}>; rel="next"` } };
}

/**
 * A Docker client Quay's default BLACKLIST_V2_SPEC (`<1.6.0`) turns away
 * from /v2/, found as util/registry/dockerver.py finds it: `docker/X.Y[.Z]`
 * anywhere in the User-Agent (leading zeros of date versions such as 17.03
 * dropped), or the exact `Go 1.1 package http` of a 1.5 client asking for a
 * token. An unknown User-Agent is never turned away.
 */
export function blacklistedDockerClient(userAgent: string | undefined): boolean {
  if (userAgent === undefined) return false;
  const m = /docker\/([0-9]+(?:\.[0-9]+){1,2})/.exec(userAgent);
  if (!m) return /^Go 1\.1 package http$/.test(userAgent);
  const [major = 0, minor = 0] = m[1]!.split('.').map(Number);
  return major < 1 || (major === 1 && minor < 6);
}

/** GET /v2/: Quay answers `true` and says it does not accept sparse manifest lists. */
export async function base(c: Ctx): Promise<void> {
  if (blacklistedDockerClient(c.req.headers['user-agent'])) {
    // Quay's abort(404): the client falls back to the v1 protocol.
    throw new RegistryError('UNSUPPORTED', 'the v2 API is not offered to Docker clients older than 1.6.0', { status: 404 });
  }
  // With auth, Quay answers `true` either way: 200 with a valid token, else 401, and the challenge on both.
  // The body is a Flask string response, so text/html (not JSON) as in Quay.
  const ok = await c.auth.baseAuthorized(c.authorization);
  const challenge = c.auth.enabled ? c.auth.challenge() : {};
  sendJson(
    c.res,
    ok ? 200 : 401,
    'true',
    {
      'content-type': 'text/html; charset=utf-8',
      [API_VERSION_HEADER[0]]: API_VERSION_HEADER[1],
      'x-sparse-manifest-support': 'false',
      ...challenge,
    },
    c.method === 'HEAD',
  );
}

export async function catalog(c: Ctx): Promise<void> {
  const viewer = await c.auth.catalogViewer(c.authorization);
  const list = viewer.all ? (p: Page) => c.svc.catalog(p) : (p: Page) => c.auth.visibleRepositories(viewer.userId, viewer.includePublic, p);
  const { items, headers } = await paged(page(c), list, '/v2/_catalog');
  sendJson(c.res, 200, JSON.stringify({ repositories: items }), headers);
}

export async function tagsList(c: Ctx): Promise<void> {
  const repo = await c.svc.readable(c.repoName());
  const { items, headers } = await paged(page(c), (p) => c.svc.tags(repo, p), `${c.repoPath()}/tags/list`);
  sendJson(c.res, 200, JSON.stringify({ name: `${repo.namespace}/${repo.name}`, tags: items }), headers);
}

export async function referrers(c: Ctx): Promise<void> {
  const asked = c.params.manifest_ref ?? c.params.digest ?? '';
  const repo = await c.svc.readable(c.repoName());
  // The route takes any `<algorithm>:<hex>`; one that is not a sha256 Quay could hold names no
  // subject, and Quay answers an unknown subject with 400 MANIFEST_INVALID (detail: the lookup's
  // message, empty). An unknown sha256 subject gets the empty index OCI 1.1 asks for (README).
  if (!isSha256Digest(asked)) throw new RegistryError('MANIFEST_INVALID', `no manifest ${asked} in ${repo.namespace}/${repo.name}`, { detail: '' });
  const subject = asked;
  const artifactType = c.query().get('artifactType');
  const refs = await c.svc.referrers(repo, subject, artifactType);
  sendJson(c.res, 200, RegistryService.referrersIndex(refs), {
    'content-type': OCI_INDEX,
    ...(artifactType !== null ? { 'oci-filters-applied': 'artifactType' } : {}),
  });
}
