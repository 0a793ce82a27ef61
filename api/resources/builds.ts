/**
 * /api/v1 GET rows: API_BUILD_READ (endpoints/api/build.py, trigger.py).
 *
 * There is no show_if on these rows: they exist whatever FEATURE_BUILD_SUPPORT
 * says. A build that is not in a terminal phase has its live status read
 * from Redis (BUILDLOGS_REDIS); when Redis cannot be read the phase is
 * `cannot_load`, as in Quay. Also the helpers the superuser build rows share
 * (api/resources/superuser.ts): Quay's JSON loads, Flask's jsonify, the
 * trigger view and the build status.
 */
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { pyInt } from '../call/params.js';
import { PyFloat, pythonJsonDumps, type PyJson, pythonJsonLoads } from '../../lib/python-json.js';
import { BuildData, BuildLogs, BuildStatusRetrievalError, type BuildRow, type TriggerRow } from '../../dal/portable/builds.js';
import { parseSqlTime } from '../../dal/model/time.js';
import { formatDate } from '../../domain/quay-dates.js';
import { GUNICORN_500_HTML, notFound, RawAnswer, ModelError } from '../wire/errors.js';
import { allowIfGlobalReadonlySuperuser, allowIfSuperuser, requireRepo } from './guards.js';

// ---------------------------------------------------------------------------
// Python's json.loads / Flask's jsonify

/** Quay's `try: json.loads(x) except: {}` (get_job_config, get_trigger_config). */
export function loadsOrEmpty(text: string | null): Record<string, PyJson> {
  if (text === null) return {};
  try {
    const v = pythonJsonLoads(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PyFloat) ? (v as Record<string, PyJson>) : {};
  } catch {
    return {};
  }
}

/** Flask's jsonify text: keys sorted, compact separators, ASCII only, a trailing newline. */
export function flaskJsonify(v: PyJson): string {
  const sortKeys = (x: PyJson): PyJson => {
    if (x === null || typeof x !== 'object' || x instanceof PyFloat) return x;
    if (Array.isArray(x)) return (x as readonly PyJson[]).map(sortKeys);
    const o = x as Record<string, PyJson | undefined>;
    const out: Record<string, PyJson> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = sortKeys(o[k]!);
    return out;
  };
  // pythonJsonDumps writes ", " and ": " between tokens; strings are the only place those can also occur.
  const spaced = pythonJsonDumps(sortKeys(v));
  let out = '';
  let inStr = false;
  for (let i = 0; i < spaced.length; i++) {
    const ch = spaced[i]!;
    out += ch;
    if (inStr) {
      if (ch === '\\') out += spaced[++i]!;
      else if (ch === '"') inStr = false;
    } else if (ch === '"') inStr = true;
    else if ((ch === ',' || ch === ':') && spaced[i + 1] === ' ') i++;
  }
  return `${out}\n`;
}

/** crossorigin()'s headers on a successful answer, for answers the surface sends as they are. */
export const CORS_ON_SUCCESS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'DELETE, GET, HEAD, OPTIONS, POST, PUT',
  'access-control-max-age': '21600',
  'access-control-allow-headers': 'AUTHORIZATION, CONTENT-TYPE, X-REQUESTED-WITH',
};

/** A jsonify() answer Quay's handler returned as is (with crossorigin's headers on a 2xx). */
export function jsonifyAnswer(status: number, v: PyJson): RawAnswer {
  return new RawAnswer(status, 'application/json', flaskJsonify(v), status < 300 ? CORS_ON_SUCCESS : {});
}

/** An exception escaping Flask: gunicorn's 500 page. */
export function gunicorn500(): RawAnswer {
  return new RawAnswer(500, 'text/html', GUNICORN_500_HTML);
}

// ---------------------------------------------------------------------------
// Views

/** Quay's get_app_url: PREFERRED_URL_SCHEME://SERVER_HOSTNAME. */
export function appUrl(c: ApiCall): string {
  return `${c.svc.settings.urlScheme}://${c.svc.settings.serverHostname}`;
}

/**
 * userfiles.get_file_url for a build pack: local storage has no direct
 * download URL, so it is the userfiles handler's URL on the app.
 */
export function userfileUrl(c: ApiCall, fileId: string): string {
  return `${appUrl(c)}/userfiles/${encodeURIComponent(fileId)}`;
}

/** user_view in build.py and superuser_models_interface.py. */
export function buildUserView(u: { readonly username: string; readonly robot: boolean }): PyJson {
  return { name: u.username, kind: 'user', is_robot: u.robot };
}

/** util.slash_join. */
function slashJoin(...parts: string[]): string {
  return parts.map((p) => p.replace(/^\//, '').replace(/\/$/, '')).join('/');
}

/** The part of trigger_view that comes from BuildTriggerHandler: config, is_active, get_repository_url. */
export function triggerHandler(c: ApiCall, t: TriggerRow): { config: Record<string, PyJson>; buildSource: PyJson | undefined; isActive: boolean; repoUrl: () => string | null } {
  const config = loadsOrEmpty(t.config);
  const buildSource = config.build_source;
  const endpoint = (key: string, name: string, dflt: string): string => {
    const conf = c.svc.settings.keys[key];
    const v = conf !== null && typeof conf === 'object' ? (conf as Record<string, unknown>)[name] : undefined;
    return typeof v === 'string' ? v : dflt;
  };
  switch (t.service) {
    case 'github':
      return {
        config,
        buildSource,
        isActive: 'hook_id' in config,
        repoUrl: () => slashJoin(endpoint('GITHUB_TRIGGER_CONFIG', 'GITHUB_ENDPOINT', 'https://github.com'), String(buildSource)),
      };
    case 'gitlab':
      return {
        config,
        buildSource,
        isActive: 'hook_id' in config,
        repoUrl: () => slashJoin(endpoint('GITLAB_TRIGGER_CONFIG', 'GITLAB_ENDPOINT', 'https://gitlab.com'), String(buildSource)),
      };
    case 'bitbucket':
      return {
        config,
        buildSource,
        isActive: 'webhook_id' in config,
        repoUrl: () => {
          const parts = String(buildSource).split('/');
          // bitbuckethandler.py:517 unpacks exactly two parts: anything else is a ValueError (500).
          if (parts.length !== 2) throw gunicorn500();
          return `https://bitbucket.org/${parts[0]}/${parts[1]}`;
        },
      };
    case 'custom-git':
      return { config, buildSource, isActive: 'credentials' in config, repoUrl: () => null };
    default:
      // BuildTriggerHandler.get_handler: InvalidServiceException, unhandled.
      throw gunicorn500();
  }
}

/** build.py trigger_view (superuser: false) or superuser_models_interface BuildTrigger.to_dict (superuser: true). */
export function triggerView(c: ApiCall, t: TriggerRow | null, o: { canRead: boolean; canAdmin: boolean; forBuild: boolean; superuser?: boolean }): PyJson {
  if (!t || !t.uuid) return null;
  const h = triggerHandler(c, t);
  const repoUrl = pyTruthy(h.buildSource ?? null) ? h.repoUrl() : null;
  const canRead = o.canRead || o.canAdmin;
  const view: Record<string, PyJson> = {
    id: t.uuid,
    service: t.service,
    is_active: h.isActive,
    build_source: canRead ? (h.buildSource ?? null) : null,
    repository_url: canRead ? repoUrl : null,
    config: o.canAdmin ? h.config : {},
    can_invoke: o.canAdmin,
  };
  if (!o.superuser) {
    view.enabled = t.enabled;
    view.disabled_reason = t.disabledReason;
  }
  if (!o.forBuild && o.canAdmin && t.pullRobot) view.pull_robot = buildUserView(t.pullRobot);
  return view;
}

const TERMINAL_PHASES = new Set(['complete', 'error', 'internalerror', 'cancelled']);

/** The BUILDLOGS_REDIS connection settings (or the old BUILDLOGS_REDIS_HOSTNAME). */
export function buildLogs(c: ApiCall): BuildLogs {
  const conf = c.svc.settings.keys.BUILDLOGS_REDIS;
  return new BuildLogs(conf !== null && typeof conf === 'object' ? (conf as Record<string, unknown>) : { host: c.svc.settings.keys.BUILDLOGS_REDIS_HOSTNAME });
}

/** build.py _get_build_status: the phase (Redis-aware), live status and error. */
export async function buildStatus(c: ApiCall, b: BuildRow, logs: BuildLogs, data: BuildData): Promise<{ phase: string; status: PyJson; error: string | null }> {
  let phase = b.phase;
  let status: PyJson = {};
  let error: string | null = null;
  if (!TERMINAL_PHASES.has(phase)) {
    try {
      const s = await logs.getStatus(b.uuid);
      status = s ? parseOr500(s) : null;
    } catch (e) {
      if (!(e instanceof BuildStatusRetrievalError)) throw gunicorn500();
      phase = 'cannot_load';
      error = allowIfSuperuser(c) ? e.message : 'Redis may be down. Please contact support.';
    }
    if (phase !== 'cannot_load' && status !== null && typeof status === 'object' && !Array.isArray(status) && !(status instanceof PyFloat) && 'heartbeat' in status) {
      const hb = (status as Record<string, PyJson>).heartbeat;
      const seconds = hb instanceof PyFloat ? hb.value : typeof hb === 'number' ? hb : null;
      if (pyTruthy(hb ?? null) && seconds !== null && c.svc.now() - seconds * 1000 > 60_000) phase = 'internalerror';
    }
  }
  if (phase === 'internalerror') {
    const retry = b.queueId ? await data.hasRetriesRemaining(b.queueId) : false;
    if (!retry) phase = 'expired';
  }
  return { phase, status, error };
}

/** JSON read from Redis as Python's json.loads gives it; a bad one is an unhandled ValueError. */
function parseOr500(text: string): PyJson {
  try {
    return pythonJsonLoads(text);
  } catch {
    throw gunicorn500();
  }
}

/** Python's truthiness of a JSON value. */
export function pyTruthy(v: PyJson): boolean {
  if (v === null) return false;
  if (v instanceof PyFloat) return v.value !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

/** build.py build_status_view. */
export async function buildStatusView(c: ApiCall, b: BuildRow, logs: BuildLogs, data: BuildData): Promise<PyJson> {
  const { phase, status, error } = await buildStatus(c, b, logs, data);
  const canRead = await c.caller.canReadRepo(b.namespace, b.repository);
  const canWrite = await c.caller.canWriteRepo(b.namespace, b.repository);
  const canAdmin = await c.caller.canAdminRepo(b.namespace, b.repository);
  const job = loadsOrEmpty(b.jobConfig);
  const resp: Record<string, PyJson> = {
    id: b.uuid,
    phase,
    started: formatDate(parseSqlTime(b.started)),
    display_name: b.displayName,
    status: pyTruthy(status) ? status : {},
    subdirectory: job.build_subdir ?? '',
    dockerfile_path: job.build_subdir ?? '',
    context: job.context ?? '',
    tags: job.docker_tags ?? [],
    manual_user: job.manual_user ?? null,
    is_writer: canWrite,
    trigger: triggerView(c, b.trigger, { canRead, canAdmin, forBuild: true }),
    trigger_metadata: canRead ? (job.trigger_metadata ?? null) : null,
    resource_key: b.resourceKey,
    pull_robot: b.pullRobot ? buildUserView(b.pullRobot) : null,
    repository: { namespace: b.namespace, name: b.repository },
    error,
  };
  if (canWrite || c.svc.settings.feature('READER_BUILD_LOGS')) {
    if (b.resourceKey !== null) resp.archive_url = userfileUrl(c, b.resourceKey);
    else if (pyTruthy(job.archive_url ?? null)) resp.archive_url = job.archive_url!;
  }
  return resp;
}

/** build.py get_logs_or_log_url. */
export async function logsOrLogUrl(c: ApiCall, b: BuildRow, logs: BuildLogs): Promise<PyJson> {
  // The log archive (LOG_ARCHIVE_LOCATION/PATH) on local storage: its handler's URL on the app.
  if (b.logsArchived) return { logs_url: `${appUrl(c)}/logarchive/${encodeURIComponent(b.uuid)}` };
  const raw = c.query.get('start');
  let start = 0;
  if (raw !== null) {
    try {
      start = pyInt(raw);
    } catch {
      throw gunicorn500(); // int() raising ValueError inside the view
    }
  }
  let count = 0;
  let entries: string[] = [];
  try {
    [count, entries] = await logs.getLogEntries(b.uuid, start);
  } catch (e) {
    if (!(e instanceof BuildStatusRetrievalError)) throw gunicorn500();
  }
  return { start, total: count, logs: entries.map(parseOr500) };
}

// ---------------------------------------------------------------------------
// Handlers

const SU_REPO = { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true } as const;

async function withLogs<T>(c: ApiCall, f: (logs: BuildLogs, data: BuildData) => Promise<T>): Promise<T> {
  const logs = buildLogs(c);
  try {
    return await f(logs, new BuildData(c.svc.sql));
  } finally {
    logs.close();
  }
}

/** The `limit`/`since` query params (@query_param type=int), last decorator first. */
function intParam(c: ApiCall, name: string, help: string, dflt: number | null): number | null {
  return c.args([{ name, help, type: 'int', default: dflt }])[name] as number | null;
}

/** Python's datetime.utcfromtimestamp(n) as Quay's columns hold it. */
function utcFromTimestamp(n: number): string {
  const d = new Date(n * 1000);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) throw gunicorn500();
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

async function repositoryBuildList(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'read', SU_REPO);
  // @query_param since, then limit (listed bottom-up).
  const since = intParam(c, 'since', 'Returns all builds since the given unix timecode', null);
  const limit = intParam(c, 'limit', 'The maximum number of builds to return', 5)!;
  return withLogs(c, async (logs, data) => {
    const builds = await data.builds(r.namespace, r.repository, { limit, since: since === null ? null : utcFromTimestamp(since) });
    const out: PyJson[] = [];
    for (const b of builds) out.push(await buildStatusView(c, b, logs, data));
    return { builds: out };
  });
}

function inRepo(b: BuildRow | null, r: { namespace: string; repository: string }): b is BuildRow {
  return b !== null && b.repository === r.repository && b.namespace === r.namespace;
}

async function repositoryBuild(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'read', SU_REPO);
  return withLogs(c, async (logs, data) => {
    const b = await data.build(c.params.build_uuid ?? '');
    if (!inRepo(b, r)) throw notFound();
    return buildStatusView(c, b, logs, data);
  });
}

async function repositoryBuildStatus(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'read', SU_REPO);
  return withLogs(c, async (logs, data) => {
    const uuid = c.params.build_uuid ?? '';
    const b = await data.build(uuid);
    // build.py:469: get_repository_build raises InvalidRepositoryBuildException (a DataModelException).
    if (!b) throw new ModelError(`Unable to locate a build by id: ${uuid}`);
    if (!inRepo(b, r)) throw notFound();
    return buildStatusView(c, b, logs, data);
  });
}

async function repositoryBuildLogs(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'read', SU_REPO);
  const canWrite = await c.caller.canWriteRepo(r.namespace, r.repository);
  const s = c.svc.settings;
  if (!s.feature('READER_BUILD_LOGS') && !canWrite && !allowIfGlobalReadonlySuperuser(c) && !(s.feature('SUPERUSERS_FULL_ACCESS') && allowIfSuperuser(c))) throw c.unauthorized();
  return withLogs(c, async (logs, data) => {
    const uuid = c.params.build_uuid ?? '';
    const b = await data.build(uuid);
    if (!b) throw new ModelError(`Unable to locate a build by id: ${uuid}`);
    if (!inRepo(b, r)) throw notFound();
    return logsOrLogUrl(c, b, logs);
  });
}

const TRIGGER_ADMIN = { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true } as const;

async function buildTriggerList(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'admin', TRIGGER_ADMIN);
  const triggers = await new BuildData(c.svc.sql).triggers(r.namespace, r.repository);
  return { triggers: triggers.map((t) => triggerView(c, t, { canRead: false, canAdmin: true, forBuild: false })) };
}

async function buildTrigger(c: ApiCall): Promise<unknown> {
  await requireRepo(c, 'admin', TRIGGER_ADMIN);
  // trigger.py:110: the trigger is looked up by uuid alone, in any repository (Quay's behaviour, kept).
  const t = await new BuildData(c.svc.sql).trigger(c.params.trigger_uuid ?? '');
  if (!t) throw notFound();
  return triggerView(c, t, { canRead: false, canAdmin: true, forBuild: false });
}

async function triggerBuildList(c: ApiCall): Promise<unknown> {
  const r = await requireRepo(c, 'admin', TRIGGER_ADMIN);
  const limit = intParam(c, 'limit', 'The maximum number of builds to return', 5)!;
  return withLogs(c, async (logs, data) => {
    const builds = await data.builds(r.namespace, r.repository, { limit, triggerUuid: c.params.trigger_uuid ?? '' });
    const out: PyJson[] = [];
    for (const b of builds) out.push(await buildStatusView(c, b, logs, data));
    return { builds: out };
  });
}

async function buildTriggerSourceNamespaces(c: ApiCall): Promise<unknown> {
  await requireRepo(c, 'admin', TRIGGER_ADMIN);
  const t = await new BuildData(c.svc.sql).trigger(c.params.trigger_uuid ?? '');
  if (!t) throw notFound();
  if (!t.connectedUser || !c.caller.canAdminUser(t.connectedUser)) throw c.unauthorized();
  switch (t.service) {
    case 'custom-git':
      // customhandler.py: list_build_source_namespaces raises NotImplementedError → decorated.py's 501.
      throw jsonifyAnswer(501, { message: '' });
    case 'github':
    case 'gitlab':
    case 'bitbucket':
      // Quay asks the git service's API here. Where it cannot be reached (no network, as on the
      // fixture) the connection error escapes every handler and gunicorn closes the connection
      // without an answer (api/notes/probes.md "0246"); the go side does the same and does not
      // call out.
      c.req.socket.destroy();
      throw gunicorn500();
    default:
      throw gunicorn500();
  }
}

export const BUILD_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0183 /api/v1/repository/{repository:apirepopath}/build/
  { quayHandler: 'RepositoryBuildList.get', handle: repositoryBuildList },
  // ROUTE_0186 /api/v1/repository/{repository:apirepopath}/build/{build_uuid}
  { quayHandler: 'RepositoryBuildResource.get', handle: repositoryBuild },
  // ROUTE_0187 /api/v1/repository/{repository:apirepopath}/build/{build_uuid}/logs
  { quayHandler: 'RepositoryBuildLogs.get', handle: repositoryBuildLogs },
  // ROUTE_0188 /api/v1/repository/{repository:apirepopath}/build/{build_uuid}/status
  { quayHandler: 'RepositoryBuildStatus.get', handle: repositoryBuildStatus },
  // ROUTE_0238 /api/v1/repository/{repository:apirepopath}/trigger/
  { quayHandler: 'BuildTriggerList.get', handle: buildTriggerList },
  // ROUTE_0240 /api/v1/repository/{repository:apirepopath}/trigger/{trigger_uuid}
  { quayHandler: 'BuildTrigger.get', handle: buildTrigger },
  // ROUTE_0244 /api/v1/repository/{repository:apirepopath}/trigger/{trigger_uuid}/builds
  { quayHandler: 'TriggerBuildList.get', handle: triggerBuildList },
  // ROUTE_0246 /api/v1/repository/{repository:apirepopath}/trigger/{trigger_uuid}/namespaces
  { quayHandler: 'BuildTriggerSourceNamespaces.get', handle: buildTriggerSourceNamespaces },
];
