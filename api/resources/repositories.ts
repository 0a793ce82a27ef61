/**
 * /api/v1 GET rows of API_REPOSITORY_READ (endpoints/api/repository.py,
 * repository_models_pre_oci.py, signing.py): the repository list and one
 * repository. RepositorySignatures exists only with FEATURE_SIGNING (off:
 * its path falls through to Repository.get, as in Quay's routing).
 */
import { REPOSITORY_STATES, RepositoryReads, type RepoRow } from '../../dal/portable/repositories.js';
import { sqlTime } from '../../dal/model/time.js';
import { PyFloat } from '../../lib/python-json.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { formatDate } from '../../domain/quay-dates.js';
import { GUNICORN_500_HTML, ModelError, RawAnswer, invalidRequest, notFound } from '../wire/errors.js';
import { allowIfGlobalReadonlySuperuser, allowIfSuperuser, requireRepo } from './guards.js';
import { notYet } from './not-yet.js';

const REPOS_PER_PAGE = 100;
const MAX_DAYS_IN_3_MONTHS = 92;
const MAX_TAGS = 500;
const DAY_MS = 86_400_000;

const stateName = (s: number): string | null => REPOSITORY_STATES[s] ?? null;

function quotaLimit(c: ApiCall): number | null {
  const v = c.svc.settings.keys.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES;
  return typeof v === 'number' && v !== 0 ? v : null;
}

async function listRepos(c: ApiCall): Promise<unknown> {
  const a = c.args([
    { name: 'next_page', help: 'The page token for the next page', type: 'str' },
    { name: 'repo_kind', help: 'The kind of repositories to return', type: 'str', default: 'image' },
    { name: 'popularity', help: "Whether to include the repository's popularity metric.", type: 'bool', default: false },
    { name: 'last_modified', help: 'Whether to include when the repository was last modified.', type: 'bool', default: false },
    { name: 'public', help: 'Adds any repositories visible to the user by virtue of being public', type: 'bool', default: false },
    { name: 'starred', help: 'Filters the repositories returned to those starred by the user', type: 'bool', default: false },
    { name: 'namespace', help: 'Filters the repositories returned to this namespace', type: 'str' },
  ]);
  const namespace = (a.namespace as string | null) || null;
  const starred = a.starred as boolean;
  const includePublic = a.public as boolean;
  const kind = a.repo_kind as string;
  if (!namespace && !starred && !includePublic) throw invalidRequest('namespace, starred or public are required for this API call');
  const { caller, svc } = c;
  const user = caller.user;
  if (starred && !user) throw c.abort(400);
  const reads = new RepositoryReads(svc.sql);
  const token = svc.pages.decrypt(a.next_page as string | null, svc.now());
  let repos: RepoRow[];
  let next: Record<string, unknown> | null = null;
  if (starred) {
    if (!(await reads.kindExists(kind))) throw new ModelError('Unknown kind of repository');
    const all: RepoRow[] = [];
    for (const r of await reads.starred(user!.id, kind)) {
      if ((await caller.canReadRepo(r.namespace, r.name)) || r.visibility === 'public') all.push(r);
    }
    if (token && Object.keys(token).length > 0) {
      // Quay pages the starred list in memory by page index, one row more than a page each time.
      let index = typeof token.start_index === 'number' ? token.start_index : 1;
      if (index === 0) index = 1;
      const from = (index - 1) * REPOS_PER_PAGE;
      const to = Math.min(from + REPOS_PER_PAGE + 1, all.length);
      repos = all.slice(from, to);
      // Quay slices one more than a page, then asserts at most a page: an AssertionError, gunicorn's 500.
      if (repos.length > REPOS_PER_PAGE) throw new RawAnswer(500, 'text/html', GUNICORN_500_HTML);
      next = { start_index: index + 1, page_number: index + 1, is_datetime: false, offset_val: 0 };
    } else {
      repos = all.slice(0, REPOS_PER_PAGE - 1);
    }
  } else {
    // get_visible_repositories returns nothing for an anonymous caller without public=true, before it looks at the kind.
    if ((includePublic || user) && !(await reads.kindExists(kind))) throw new ModelError('Unknown repository kind');
    const superuser = allowIfGlobalReadonlySuperuser(c) || (svc.settings.feature('SUPERUSERS_FULL_ACCESS') && allowIfSuperuser(c));
    const start = token && typeof token.start_index === 'number' ? token.start_index : null;
    const found = await reads.visible({
      userId: user?.id ?? null,
      namespace,
      kind,
      includePublic,
      startId: start,
      limit: REPOS_PER_PAGE + 1,
      superuser,
      returnAll: superuser && !namespace,
    });
    repos = found.slice(0, REPOS_PER_PAGE);
    if (found.length > REPOS_PER_PAGE) {
      const pn = token && typeof token.page_number === 'number' && token.page_number ? token.page_number : null;
      next = { start_index: found[REPOS_PER_PAGE]!.id, page_number: pn ? pn + 1 : 1, is_datetime: false, offset_val: 0 };
    }
  }
  const ids = repos.map((r) => r.id);
  const lastModified = a.last_modified ? await reads.lastModified(ids, svc.now()) : new Map<number, number | null>();
  const sums = a.popularity ? await reads.actionSums(ids, sqlTime(svc.now() - 7 * DAY_MS)) : new Map<number, number>();
  const stars = user ? new Set((await reads.starred(user.id, kind)).map((r) => r.id)) : new Set<number>();
  const withQuota = svc.settings.feature('QUOTA_MANAGEMENT') && svc.settings.feature('EDIT_QUOTA');
  const sizes = withQuota ? await reads.sizes(ids) : new Map<number, number>();
  const limits = new Map<string, number | null>();
  const out: unknown[] = [];
  for (const r of repos) {
    const view: Record<string, unknown> = {
      namespace: r.namespace,
      name: r.name,
      description: r.description,
      is_public: r.visibility === 'public',
      kind,
      state: stateName(r.state),
    };
    if (a.last_modified) {
      const ms = lastModified.get(r.id);
      view.last_modified = ms === undefined || ms === null ? null : Math.floor(ms / 1000);
    }
    if (a.popularity) view.popularity = new PyFloat(sums.get(r.id) ?? 0);
    if (user) view.is_starred = stars.has(r.id);
    if (withQuota) {
      if (!limits.has(r.namespace)) limits.set(r.namespace, (await reads.namespaceQuotaLimit(r.namespace)) ?? quotaLimit(c));
      view.quota_report = { quota_bytes: sizes.get(r.id) ?? 0, configured_quota: limits.get(r.namespace) ?? null };
    }
    out.push(view);
  }
  const body: Record<string, unknown> = { repositories: out };
  if (next) body.next_page = svc.pages.encrypt(next as never, svc.now());
  return body;
}

/** The repository's tags as getRepo shows them (Tag.to_dict of repository_models_interface.py). */
function tagView(t: { name: string; layersCompressedSize: number | null; lifetimeStartMs: number | null; lifetimeEndMs: number | null; digest: string }): Record<string, unknown> {
  const v: Record<string, unknown> = { name: t.name, size: t.layersCompressedSize };
  const start = t.lifetimeStartMs === null ? 0 : Math.floor(t.lifetimeStartMs / 1000);
  if (start > 0) v.last_modified = formatDate(start * 1000);
  const end = t.lifetimeEndMs === null ? null : Math.floor(t.lifetimeEndMs / 1000);
  if (end) v.expiration = formatDate(end * 1000);
  v.manifest_digest = t.digest;
  return v;
}

async function getRepo(c: ApiCall): Promise<unknown> {
  const a = c.args([
    { name: 'includeTags', help: 'Whether to include repository tags', type: 'bool', default: true },
    { name: 'includeStats', help: 'Whether to include action statistics', type: 'bool', default: false },
  ]);
  const { namespace, repository } = await requireRepo(c, 'read', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
  const { caller, svc } = c;
  const reads = new RepositoryReads(svc.sql);
  const repo = await reads.repository(namespace, repository);
  if (!repo) throw notFound();
  const isPublic = repo.visibility === 'public';
  const view: Record<string, unknown> = {
    namespace,
    name: repository,
    kind: repo.kind,
    description: repo.description,
    is_public: isPublic,
    is_organization: repo.namespaceIsOrg,
    is_starred: caller.user ? await reads.isStarred(caller.user.id, repo.id) : false,
    status_token: isPublic ? '' : repo.badgeToken,
    trust_enabled: svc.settings.feature('SIGNING') && repo.trustEnabled,
    tag_expiration_s: repo.namespaceTagExpirationS,
    is_free_account: repo.namespaceStripeId === null,
    state: stateName(repo.state),
  };
  const nowMs = svc.now();
  if (a.includeTags) {
    const tags = (await reads.tagHistory(repo.id, { page: 1, pageSize: MAX_TAGS, activeOnly: true, nowMs })).slice(0, MAX_TAGS);
    view.tags = Object.fromEntries(tags.map((t) => [t.name, tagView(t)]));
  }
  const isNormal = repo.state === 0;
  view.can_write = (await caller.canWriteRepo(namespace, repository)) && isNormal;
  view.can_admin = await caller.canAdminRepo(namespace, repository);
  if (allowIfGlobalReadonlySuperuser(c)) view.can_admin = true;
  else if (svc.settings.feature('SUPERUSERS_FULL_ACCESS') && allowIfSuperuser(c)) {
    view.can_admin = true;
    if (isNormal) view.can_write = true;
  }
  if (a.includeStats) {
    const counts = await reads.actionCounts(repo.id, sqlTime(nowMs - MAX_DAYS_IN_3_MONTHS * DAY_MS));
    const stats: unknown[] = [];
    const found = new Set<string>();
    for (const ct of counts) {
      stats.push({ date: ct.date, count: ct.count });
      const [, m, d] = ct.date.split('-').map(Number);
      found.add(`${m}/${d}`);
    }
    for (let day = 1; day < MAX_DAYS_IN_3_MONTHS; day++) {
      const d = new Date(nowMs - day * DAY_MS);
      const key = `${d.getUTCMonth() + 1}/${d.getUTCDate()}`;
      if (!found.has(key)) stats.push({ date: d.toISOString().slice(0, 10), count: 0 });
    }
    view.stats = stats;
  }
  return view;
}

export const REPOSITORY_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0169 /api/v1/repository
  { quayHandler: 'RepositoryList.get', handle: listRepos },
  // ROUTE_0173 /api/v1/repository/{repository}
  { quayHandler: 'Repository.get', handle: getRepo },
  // ROUTE_0226 /api/v1/repository/{repository}/signatures: FEATURE_SIGNING only (the TUF server is not served by the go side).
  { quayHandler: 'RepositorySignatures.get', handle: notYet, registered: (s) => s.feature('SIGNING') },
];
