/**
 * /api/v1 GET rows of API_TAG_READ (endpoints/api/tag.py): the tag history
 * of a repository, alive and dead. RepositoryTagPullStatistics exists only
 * with FEATURE_IMAGE_PULL_STATS (off: its path falls through to Repository.get).
 */
import { ManifestPresence, RepositoryReads, type TagHistoryRow } from '../../dal/portable/repositories.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { formatDate } from '../../domain/quay-dates.js';
import { notFound } from '../wire/errors.js';
import { requireRepo } from './guards.js';
import { notYet } from './not-yet.js';

/** Quay's MANIFEST_LIST_TYPES. */
export const MANIFEST_LIST_TYPES = new Set(['application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.index.v1+json']);

/** _get_sparse_manifest_info: which children of a list the repository holds with content. */
async function sparseInfo(presence: ManifestPresence, manifestId: number, repositoryId: number): Promise<[boolean, number, number, Record<string, boolean>]> {
  const none: [boolean, number, number, Record<string, boolean>] = [false, 0, 0, {}];
  const bytes = await presence.bytes(manifestId, repositoryId);
  if (!bytes) return none;
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes);
  } catch {
    return none;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return none;
  const entries = (parsed as { manifests?: unknown }).manifests;
  const digests = (Array.isArray(entries) ? entries : []).filter((e): e is { digest: string } => e !== null && typeof e === 'object' && 'digest' in e).map((e) => e.digest);
  if (digests.length === 0) return none;
  const present = await presence.present(repositoryId, digests);
  const map: Record<string, boolean> = {};
  let count = 0;
  for (const d of digests) {
    const here = present.has(d);
    map[d] = here;
    if (here) count++;
  }
  return [count < digests.length, digests.length, count, map];
}

/** tag.py _tag_dict. */
async function tagDict(c: ApiCall, t: TagHistoryRow, repositoryId: number, presence: ManifestPresence): Promise<Record<string, unknown>> {
  const start = t.lifetimeStartMs === null ? null : Math.floor(t.lifetimeStartMs / 1000);
  const end = t.lifetimeEndMs === null ? null : Math.floor(t.lifetimeEndMs / 1000);
  const v: Record<string, unknown> = { name: t.name, reversion: t.reversion };
  if (c.svc.settings.feature('IMMUTABLE_TAGS')) v.immutable = t.immutable;
  if (start) v.start_ts = start;
  if (end) v.end_ts = end;
  const isList = MANIFEST_LIST_TYPES.has(t.mediaType);
  v.manifest_digest = t.digest;
  v.is_manifest_list = isList;
  v.size = t.layersCompressedSize;
  if (start) v.last_modified = formatDate(start * 1000);
  if (end !== null) v.expiration = formatDate(end * 1000);
  if (isList) {
    const [sparse, children, present, map] = await sparseInfo(presence, t.manifestId, repositoryId);
    Object.assign(v, { is_sparse: sparse, child_manifest_count: children, present_child_count: present, child_manifests_presence: map });
  }
  return v;
}

async function listRepoTags(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepo(c, 'read', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
  const a = c.args([
    { name: 'onlyActiveTags', help: 'Filter to only active tags.', type: 'bool', default: false },
    { name: 'page', help: 'Page index for the results. Default 1.', type: 'int', default: 1 },
    { name: 'limit', help: 'Limit to the number of results to return per page. Max 100.', type: 'int', default: 50 },
    { name: 'filter_tag_name', help: "Syntax: <op>:<name> Filters the tag names based on the operation.<op> can be 'like' or 'eq'.", type: 'str', default: '' },
    { name: 'specificTag', help: 'Filters the tags to the specific tag.', type: 'str', default: '' },
  ]);
  const specific = (a.specificTag as string) || null;
  const filter = (a.filter_tag_name as string) || null;
  const page = Math.max(1, a.page as number);
  const limit = Math.min(100, Math.max(1, a.limit as number));
  const reads = new RepositoryReads(c.svc.sql);
  const repo = await reads.repository(namespace, repository);
  if (!repo) throw notFound();
  let like: string | null = null;
  let eq: string | null = null;
  if (filter !== null) {
    const colon = filter.indexOf(':');
    if (colon < 0) {
      throw c.abort(400, "Unsupported syntax for filter_tag_name. Expected <operation>:<tag_name> where <operation>can be 'like' or 'eq'.");
    }
    const op = filter.slice(0, colon);
    if (op === 'like') like = filter.slice(colon + 1);
    else if (op === 'eq') eq = filter.slice(colon + 1);
  }
  const rows = await reads.tagHistory(repo.id, { page, pageSize: limit, activeOnly: a.onlyActiveTags as boolean, nowMs: c.svc.now(), specificTag: specific, like, eq });
  const presence = new ManifestPresence(c.svc.sql);
  const tags = [];
  for (const t of rows.slice(0, limit)) tags.push(await tagDict(c, t, repo.id, presence));
  return { tags, page, has_additional: rows.length > limit };
}

export const TAG_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0227 /api/v1/repository/{repository}/tag/
  { quayHandler: 'ListRepositoryTags.get', handle: listRepoTags },
  // ROUTE_0231 /api/v1/repository/{repository}/tag/{tag}/pull_statistics: FEATURE_IMAGE_PULL_STATS only (the pull-statistics tables are not served by the go side).
  { quayHandler: 'RepositoryTagPullStatistics.get', handle: notYet, registered: (s) => s.feature('IMAGE_PULL_STATS') },
];
