/**
 * /api/v1 GET rows: API_SEARCH (endpoints/api/search.py): entity lookup for
 * the permission pickers, the global search box (/find/all, scored by
 * LiquidMetal), and the repository search page (/find/repositories).
 * The queries are in dal/portable/search.ts.
 */
import { PyFloat, type PyJson } from '../../lib/python-json.js';
import { Search, type Entity, type RepoHit, type TeamHit } from '../../dal/portable/search.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import type { ParamSpec } from '../call/params.js';
import { orgAvatar, teamAvatar, userAvatar } from '../../domain/avatar.js';
import { naiveNow, sqlParam } from './logs.js';

const ENTITY_SEARCH_SCORE = 1;
const TEAM_SEARCH_SCORE = 2;
const REPOSITORY_SEARCH_SCORE = 4;
/** SEARCH_RESULTS_PER_PAGE / SEARCH_MAX_RESULT_PAGE_COUNT (search.py:394-395) with their defaults. */
const perPage = (c: ApiCall): number => (typeof c.svc.settings.keys.SEARCH_RESULTS_PER_PAGE === 'number' ? c.svc.settings.keys.SEARCH_RESULTS_PER_PAGE : 10);
const maxPages = (c: ApiCall): number => (typeof c.svc.settings.keys.SEARCH_MAX_RESULT_PAGE_COUNT === 'number' ? c.svc.settings.keys.SEARCH_MAX_RESULT_PAGE_COUNT : 10);

// ---------------------------------------------------------------------------
// LiquidMetal (the `stringscore` package's liquidmetal.score), written anew from the algorithm.

const SCORE_NO_MATCH = 0.0;
const SCORE_MATCH = 1.0;
const SCORE_TRAILING = 0.8;
const SCORE_TRAILING_BUT_STARTED = 0.9;
const SCORE_BUFFER = 0.85;
const WORD_SEPARATORS = ' \t_-';

const isUpper = (ch: string): boolean => ch !== ch.toLowerCase() && ch === ch.toUpperCase();

/**
 * How well `abbreviation` abbreviates `text`, 0..1: each abbreviation
 * character must be found in order (case-insensitively); matched characters
 * score 1, characters skipped before a match at a word start or capital
 * score 0.85 (0 otherwise), trailing characters 0.9 if the match started at
 * the first character, else 0.8; the score is the mean.
 */
export function liquidMetalScore(text: string, abbreviation: string): number {
  const str = Array.from(text);
  const abbr = Array.from(abbreviation.toLowerCase());
  if (abbr.length === 0) return SCORE_TRAILING;
  if (abbr.length > str.length) return SCORE_NO_MATCH;
  const lower = Array.from(text.toLowerCase());
  const scores = new Array<number>(str.length).fill(0);
  let last = -1;
  let started = false;
  for (const ch of abbr) {
    let index = -1;
    for (let k = last + 1; k < lower.length; k++) {
      if (lower[k] === ch) {
        index = k;
        break;
      }
    }
    if (index < 0) return SCORE_NO_MATCH;
    if (index === 0) started = true;
    if (index > 0 && WORD_SEPARATORS.includes(str[index - 1] ?? '\u0000')) {
      scores[index - 1] = 1.0;
      for (let k = last + 1; k < index - 1; k++) scores[k] = SCORE_BUFFER;
    } else if (isUpper(str[index] ?? '')) {
      for (let k = last + 1; k < index; k++) scores[k] = SCORE_BUFFER;
    } else {
      for (let k = last + 1; k < index; k++) scores[k] = SCORE_NO_MATCH;
    }
    scores[index] = SCORE_MATCH;
    last = index;
  }
  const trailing = started ? SCORE_TRAILING_BUT_STARTED : SCORE_TRAILING;
  for (let k = last + 1; k < scores.length; k++) scores[k] = trailing;
  let sum = 0;
  for (const s of scores) sum += s;
  return sum / scores.length;
}

/**
 * text_unidecode's ASCII transliteration, approximated: accents stripped
 * (NFKD), other non-ASCII characters dropped. Exact for ASCII input.
 */
function unidecodeApprox(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x00-\x7f]/g, '');
}

// ---------------------------------------------------------------------------
// Views.

/** search_entity_view (search.py:209). */
function searchEntityView(username: string | null, e: Entity, shortName?: string): Record<string, PyJson> {
  let kind = 'user';
  let title = 'user';
  let avatar: PyJson = { ...userAvatar(e) };
  let href = `/user/${e.username}`;
  if (e.organization) {
    kind = 'organization';
    title = 'org';
    avatar = { ...orgAvatar(e) };
    href = `/organization/${e.username}`;
  } else if (e.robot) {
    const owner = e.username.split('+')[0]!;
    href = owner === username ? `/user/${username}?tab=robots&showRobot=${e.username}` : `/organization/${owner}?tab=robots&showRobot=${e.username}`;
    kind = 'robot';
    title = 'robot';
    avatar = null;
  }
  const data: Record<string, PyJson> = { title, kind, avatar, name: e.username, score: ENTITY_SEARCH_SCORE, href };
  if (shortName !== undefined) data.short_name = shortName;
  return data;
}

/** repo_result_view (search.py:322). */
function repoResultView(
  repo: RepoHit,
  username: string | null,
  publicVisibility: number,
  usage?: { lastModified: number | null; stars: number; popularity: number },
): Record<string, PyJson> {
  const view: Record<string, PyJson> = {
    kind: 'repository',
    title: 'repo',
    namespace: searchEntityView(username, repo.namespace),
    name: repo.name,
    description: repo.description,
    is_public: repo.visibilityId === publicVisibility,
    score: REPOSITORY_SEARCH_SCORE,
    href: `/repository/${repo.namespace.username}/${repo.name}`,
  };
  if (usage) {
    if (usage.lastModified !== null) view.last_modified = usage.lastModified;
    view.stars = usage.stars;
    view.popularity = new PyFloat(usage.popularity);
  }
  return view;
}

/**
 * get_filtered_matching_repositories: anonymous callers page the public
 * matches directly; a user pages the matches (ids, chunks of twice the
 * need) and keeps those visible to it, in the matches' order.
 */
async function filteredMatching(dal: Search, lookup: string, username: string | null, limit: number, offset: number): Promise<RepoHit[]> {
  if (username === null) return (await dal.sortedMatching(lookup, { includePrivate: false, idsOnly: false, limit, offset })) as RepoHit[];
  const user = await dal.accountByName(username);
  if (!user) return [];
  const need = offset + limit;
  const chunk = need * 2;
  const encountered = new Set<number>();
  const out: RepoHit[] = [];
  for (let page = 1, iteration = 0; iteration < 10 && out.length < need; iteration++, page++) {
    const found = (await dal.sortedMatching(lookup, { includePrivate: true, idsOnly: true, limit: chunk, offset: (page - 1) * chunk })) as number[];
    const fresh = [...new Set(found)].filter((id) => !encountered.has(id));
    if (fresh.length === 0) break;
    for (const id of fresh) encountered.add(id);
    const visible = await dal.visibleAmong(fresh, user.id);
    visible.sort((a, b) => found.indexOf(a.id) - found.indexOf(b.id));
    out.push(...visible);
    if (found.length < chunk) break;
  }
  return out.slice(offset, offset + limit);
}

// ---------------------------------------------------------------------------
// The rows.

/** EntitySearch.get: teams (with includeTeams, members of the org), users and robots, the org itself (includeOrgs). */
async function entitySearch(c: ApiCall): Promise<unknown> {
  const args = c.args([
    { name: 'includeOrgs', help: 'Whether to include orgs names.', type: 'bool', default: false },
    { name: 'includeTeams', help: 'Whether to include team names.', type: 'bool', default: false },
    { name: 'namespace', help: 'Namespace to use when querying for org entities.', type: 'str', default: '' },
  ]);
  const prefix = unidecodeApprox(c.params.prefix ?? '')
    .replace(/ /g, '')
    .toLowerCase();
  const namespace = args.namespace as string;
  const dal = new Search(c.svc.sql);
  let teams: TeamHit[] = [];
  const orgData: Record<string, PyJson>[] = [];
  let robotNamespace: string | null = null;
  const organization = await dal.organization(namespace);
  if (organization) {
    if (await c.caller.isOrgMember(namespace)) {
      robotNamespace = namespace;
      if (args.includeTeams) teams = await dal.matchingTeams(prefix, organization.id);
      // A flask_principal Permission's truth value is can(): org admins only (search.py:114).
      if (args.includeOrgs && (await c.caller.canAdminOrg(namespace)) && namespace.startsWith(prefix)) {
        orgData.push({ name: namespace, kind: 'org', is_org_member: true, avatar: { ...orgAvatar(organization) } });
      }
    }
  } else {
    const user = c.caller.user;
    if (user && user.username === namespace && c.caller.canAdminUser(user.username)) robotNamespace = namespace;
  }
  // get_matching_users: the exact match first, then the rest by prefix (PARTIAL_USER_AUTOCOMPLETE).
  const exactOnly = !c.svc.settings.feature('PARTIAL_USER_AUTOCOMPLETE');
  const orgId = organization ? organization.id : null;
  const exact = await dal.matchingUsers({ prefix, robotNamespace, organizationId: orgId, limit: 1, exact: true });
  const users = [...exact];
  const remaining = 10 - exact.length;
  if (remaining > 0) {
    for (const u of await dal.matchingUsers({ prefix, robotNamespace, organizationId: orgId, limit: remaining, exact: exactOnly })) {
      if (exact.length > 0 && u.username === exact[0]!.username) continue;
      users.push(u);
    }
  }
  const teamData = teams.map((t) => ({ name: t.name, kind: 'team', is_org_member: true, avatar: { ...teamAvatar(t.name) } }));
  const userData = users.map((u) => {
    const view: Record<string, PyJson> = { name: u.username, kind: 'user', is_robot: u.robot, avatar: { ...userAvatar(u) } };
    // `user.robot or user.is_org_member`, where is_org_member is `robot is not None`: always true (user.py:1112).
    if (organization) view.is_org_member = true;
    return view;
  });
  return { results: [...teamData, ...userData, ...orgData] };
}

/** ConductSearch.get: teams, robots (signed in), repositories and namespaces, scored by LiquidMetal. */
async function conductSearch(c: ApiCall): Promise<unknown> {
  const args = c.args([{ name: 'query', help: 'The search query.', type: 'str', default: '' }]);
  const query = args.query as string;
  if (!query) return { results: [] };
  const dal = new Search(c.svc.sql);
  const user = c.caller.user;
  const username = user ? user.username : null;
  const results: Record<string, PyJson>[] = [];
  const teamView = (t: TeamHit, org: Entity): Record<string, PyJson> => ({
    kind: 'team',
    name: t.name,
    organization: searchEntityView(username, org),
    avatar: { ...teamAvatar(t.name) },
    score: TEAM_SEARCH_SCORE,
    href: `/organization/${org.username}/teams/${t.name}`,
  });
  if (user) {
    const encountered = new Set<number>();
    // conduct_team_search, then conduct_admined_team_search: a team found by both is listed once.
    const teams = [...(await dal.userTeams(user.id, query, 5)), ...(await dal.adminedTeams(user.username, query, 5))];
    const orgs = await dal.accountsById([...new Set(teams.map((t) => t.organizationId))]);
    for (const t of teams) {
      if (encountered.has(t.id)) continue;
      encountered.add(t.id);
      const org = orgs.get(t.organizationId);
      if (org) results.push(teamView(t, org));
    }
    for (const robot of await dal.matchingRobots(user.username, query, 5)) {
      results.push(searchEntityView(username, robot, robot.username.split('+')[1] ?? ''));
    }
  }
  const ids = await dal.lookupIds();
  for (const repo of await filteredMatching(dal, query, username, 5, 0)) results.push(repoResultView(repo, username, ids.publicVisibility));
  const namespaceUser = username !== null ? await dal.accountByName(username) : null;
  for (const e of await dal.matchingNamespaces(query, namespaceUser ? namespaceUser.id : null, 5)) results.push(searchEntityView(username, e));
  const scored = results.map((r) => {
    const name = (r.short_name ?? r.name) as string;
    const lm = liquidMetalScore(name, query) || 0.5;
    return { ...r, score: (r.score as number) * lm };
  });
  const sorted = scored.map((r, i) => ({ r, i })).sort((a, b) => b.r.score - a.r.score || a.i - b.i);
  return { results: sorted.map(({ r }) => ({ ...r, score: new PyFloat(r.score) })) };
}

/** ConductRepositorySearch.get: a page of repositories, optionally with usage (last modified, stars, popularity). */
async function conductRepositorySearch(c: ApiCall): Promise<unknown> {
  const specs: ParamSpec[] = [
    { name: 'includeUsage', help: 'Whether to include usage metadata', type: 'bool', default: false },
    { name: 'page', help: 'The page.', type: 'int', default: 1 },
    { name: 'query', help: 'The search query.', type: 'str', default: '' },
  ];
  const args = c.args(specs);
  const query = args.query as string;
  const size = perPage(c);
  const page = Math.min(Math.max(1, args.page as number), maxPages(c));
  const offset = (page - 1) * size;
  const username = c.caller.user ? c.caller.user.username : null;
  const dal = new Search(c.svc.sql);
  let repos = await filteredMatching(dal, query, username, size + 1, offset);
  const hasAdditional = repos.length > size;
  repos = repos.slice(0, size);
  const ids = await dal.lookupIds();
  let usage: ((id: number) => { lastModified: number | null; stars: number; popularity: number }) | undefined;
  if (args.includeUsage) {
    const repoIds = repos.map((r) => r.id);
    const lastModified = await dal.lastModifiedMs(repoIds, c.svc.now());
    const stars = await dal.stars(repoIds);
    const sums = await dal.actionSums(repoIds, sqlParam(naiveNow(c) - 7 * 86_400_000));
    usage = (id) => {
      const ms = lastModified.get(id);
      return { lastModified: ms === undefined || ms === null ? null : Math.floor(ms / 1000), stars: stars.get(id) ?? 0, popularity: sums.get(id) ?? 0 };
    };
  }
  return {
    results: repos.map((r) => repoResultView(r, username, ids.publicVisibility, usage ? usage(r.id) : undefined)),
    has_additional: hasAdditional,
    page,
    page_size: size,
    start_index: offset,
  };
}

export const SEARCH_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0062 /api/v1/entities/{prefix}
  { quayHandler: 'EntitySearch.get', handle: entitySearch },
  // ROUTE_0066 /api/v1/find/all
  { quayHandler: 'ConductSearch.get', handle: conductSearch },
  // ROUTE_0067 /api/v1/find/repositories
  { quayHandler: 'ConductRepositorySearch.get', handle: conductRepositorySearch },
];
