/**
 * decide(snapshot, request) → decision: DESIGN §3, a pure function (no I/O,
 * no clock). Order: kill switch → upload pin → route → capability → family →
 * default; a `canary` value is settled by the selectors of its own scope.
 */
import type { Snapshot } from './snapshot.js';
import type { CanaryPlan, Plan, SelectorPlan } from './owner-map.js';
import { murmurHash2, inPercent } from './murmur2.js';
import { namespaceFromParams, repoFromParams, subjectFromParams, userFromAuthorization } from './subject.js';
import type { CanaryCheck, CanaryOutcome, Decision, DecisionRequest, Owner, Reason, Selector, TraceEntry, WorkerDecision } from './types.js';
import { normalizePath } from '../../owner-maps/route-table.js';

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const TWO_POW_32 = 4294967296;

function familyByPrefix(snapshot: Snapshot, rawPath: string): string | null {
  const path = normalizePath(rawPath);
  for (const { prefix, family } of snapshot.owner_map.prefixes) {
    if (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)) return family;
  }
  return null;
}

function decision(
  s: Snapshot,
  plan: Plan,
  owner: Owner,
  reason: Reason,
  trace: readonly TraceEntry[],
  params: Readonly<Record<string, string>>,
  slash: boolean,
  canary: CanaryOutcome | null,
): Decision {
  return {
    owner,
    route_id: plan.route?.id ?? null,
    capability: plan.route?.capability ?? null,
    family: plan.family,
    reason,
    snapshot_version: s.version,
    trace,
    canary,
    params,
    slash_redirect: slash,
  };
}

function listCheck(sel: CanaryPlan['orgs'], subject: string | null): CanaryCheck {
  return {
    selector: sel.selector,
    key: sel.key,
    value: sel.listValue,
    subject,
    matched: sel.list !== null && subject !== null && sel.list.has(subject),
  };
}

/** Settles a canary: org, repo and user lists first, then the sticky percent bucket. */
export function evaluateCanary(plan: CanaryPlan, s: Snapshot, params: Readonly<Record<string, string>>, req: DecisionRequest): CanaryOutcome {
  const subj = subjectFromParams(params, s.owner_map.libraryNamespace);
  const user = req.user ?? userFromAuthorization(req.authorization);
  const orgs = listCheck(plan.orgs, subj.namespace);
  const repos = listCheck(plan.repos, subj.repo);
  const users = listCheck(plan.users, user);
  let kind: 'namespace' | 'user' | 'client' | null = null;
  let key: string | null = null;
  if (subj.namespace !== null) {
    kind = 'namespace';
    key = subj.namespace;
  } else if (user !== null) {
    kind = 'user';
    key = user;
  } else if (req.clientAddress) {
    kind = 'client';
    key = req.clientAddress;
  }
  const p = plan.percent.percent;
  const hash = key === null ? null : murmurHash2(key);
  const percent: CanaryCheck = {
    selector: 'percent',
    key: plan.percent.key,
    value: p,
    subject: key,
    subject_kind: kind,
    bucket: hash === null ? null : Math.floor((hash / TWO_POW_32) * 10000) / 100,
    matched: p !== null && (p >= 100 || (hash !== null && inPercent(hash, p))),
  };
  const checks = [orgs, repos, users, percent];
  const hit = checks.find((c) => c.matched);
  return { scope: plan.scope, selected_by: hit ? hit.selector : null, checks };
}

/**
 * `s` is on the selector's list. A short list is scanned rather than hashed:
 * `s` is a new string on every request, and hashing it costs more than a few
 * comparisons that mostly stop at the length.
 */
function listed(sel: SelectorPlan, s: string): boolean {
  const few = sel.listValue;
  if (few === null) return false;
  return few.length <= 8 ? few.includes(s) : sel.list!.has(s);
}

/** The trace of a canary's outcome, read by name (see canaryReason). */
function canaryTrace(plan: CanaryPlan, sel: Selector | null): readonly TraceEntry[] {
  const t = plan.traces;
  switch (sel) {
    case null:
      return t.none;
    case 'orgs':
      return t.orgs;
    case 'repos':
      return t.repos;
    case 'users':
      return t.users;
    case 'percent':
      return t.percent;
  }
}

/** A selector's reason, by a switch: a keyed look-up on a literal object would be a megamorphic load per request. */
function canaryReason(sel: Selector): Reason {
  switch (sel) {
    case 'orgs':
      return 'canary_org';
    case 'repos':
      return 'canary_repo';
    case 'users':
      return 'canary_user';
    case 'percent':
      return 'canary_percent';
  }
}

/**
 * The hot path of a canary: which selector (if any) sends the request to go,
 * without building the explanation. The Authorization header is decoded only
 * when a users list is set or the percent subject falls back to the user.
 */
export function selectCanary(plan: CanaryPlan, s: Snapshot, params: Readonly<Record<string, string>>, req: DecisionRequest): Selector | null {
  const lib = s.owner_map.libraryNamespace;
  const ns = namespaceFromParams(params, lib);
  if (ns !== null && listed(plan.orgs, ns)) return 'orgs';
  if (plan.repos.list !== null) {
    const repo = repoFromParams(params, lib);
    if (repo !== null && listed(plan.repos, repo)) return 'repos';
  }
  let user: string | null | undefined;
  if (plan.users.list !== null) {
    user = req.user ?? userFromAuthorization(req.authorization);
    if (user !== null && listed(plan.users, user)) return 'users';
  }
  const p = plan.percent.percent;
  if (p === null || p <= 0) return null;
  if (p >= 100) return 'percent';
  let key = ns;
  if (key === null) {
    if (user === undefined) user = req.user ?? userFromAuthorization(req.authorization);
    key = user ?? (req.clientAddress || null);
  }
  return key !== null && murmurHash2(key) < plan.percent.threshold ? 'percent' : null;
}

export function decide(s: Snapshot, req: DecisionRequest): Decision {
  const om = s.owner_map;
  // The trie walk, not the table's match cache: a request's path is a new
  // string, and a cache look-up hashes all of it and keeps what it caches
  // alive (old-generation churn); on bench:decide's mix the walk is cheaper.
  const match = om.table.matchUncached(req.method, req.path);
  let plan: Plan;
  if (match) plan = om.routePlans[match.route.index]!;
  else {
    const fam = familyByPrefix(s, req.path);
    plan = (fam !== null ? om.familyPlans.get(fam) : undefined) ?? om.defaultPlan;
  }
  const params = match ? match.params : NO_PARAMS;
  const slash = match ? match.slashRedirect : false;

  if (s.hard_failure) return decision(s, plan, 'python', 'hard_failure', plan.trace, params, slash, null);
  if (om.forcePython.value) return decision(s, plan, 'python', 'force_python', plan.trace, params, slash, null);

  if (req.uploadPin !== undefined && params.upload_uuid !== undefined) {
    const pin: TraceEntry = { level: 'upload_pin', key: params.upload_uuid, value: req.uploadPin, won: true };
    const trace = [plan.trace[0]!, pin, ...plan.levelsOutranked];
    return decision(s, plan, req.uploadPin, 'upload_pin', trace, params, slash, null);
  }

  if (plan.value !== 'canary') return decision(s, plan, plan.value, plan.reason, plan.trace, params, slash, null);

  const canary = plan.canary!;
  if (req.explain) {
    const outcome = evaluateCanary(canary, s, params, req);
    const sel = outcome.selected_by;
    return decision(s, plan, sel ? 'go' : 'python', sel ? canaryReason(sel) : 'canary_miss', canaryTrace(canary, sel), params, slash, outcome);
  }
  const sel = selectCanary(canary, s, params, req);
  return decision(s, plan, sel ? 'go' : 'python', sel ? canaryReason(sel) : 'canary_miss', canaryTrace(canary, sel), params, slash, null);
}

/** Which implementation runs a background program: WORKER_OWNER_<PROGRAM>, python by default. */
export function decideWorker(s: Snapshot, program: string): WorkerDecision | null {
  const w = s.owner_map.workers.get(program);
  if (!w) return null;
  const base = { program, key: w.key, origin: w.origin, snapshot_version: s.version };
  if (s.hard_failure) return { ...base, owner: 'python', reason: 'hard_failure' };
  if (s.owner_map.forcePython.value) return { ...base, owner: 'python', reason: 'force_python' };
  return { ...base, owner: w.owner, reason: w.origin.source === 'default' ? 'default' : 'worker_switch' };
}
