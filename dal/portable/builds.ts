/**
 * Repository builds and build triggers as Quay's build model reads them
 * (data/model/build.py), written once for both dialects, and the build
 * status and log entries Quay's builders keep in Redis (data/buildlogs.py
 * RedisBuildLogs on BUILDLOGS_REDIS).
 */
import { Redis } from 'ioredis';
import { bool, type PortableSql } from '../model/portable-sql.js';

export interface TriggerRow {
  readonly id: number;
  readonly uuid: string;
  readonly service: string;
  /** The trigger's config column as stored (JSON text). */
  readonly config: string | null;
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  readonly pullRobot: { readonly username: string; readonly robot: boolean } | null;
  readonly connectedUser: string | null;
  readonly namespace: string;
  readonly repository: string;
}

export interface BuildRow {
  readonly uuid: string;
  readonly phase: string;
  /** Quay's naive-UTC text. */
  readonly started: string;
  readonly displayName: string;
  readonly jobConfig: string | null;
  readonly resourceKey: string | null;
  readonly logsArchived: boolean;
  readonly queueId: string | null;
  readonly pullRobot: { readonly username: string; readonly robot: boolean } | null;
  readonly namespace: string;
  readonly repository: string;
  readonly trigger: TriggerRow | null;
}

const BUILD_SELECT = `SELECT b.uuid, b.phase, b.started, b.display_name, b.job_config, b.resource_key, b.logs_archived, b.queue_id,
    pr.username AS pr_username, pr.robot AS pr_robot, n.username AS ns, r.name AS repo,
    t.id AS t_id, t.uuid AS t_uuid, s.name AS t_service, t.config AS t_config, t.enabled AS t_enabled, dr.name AS t_disabled_reason,
    tpr.username AS tpr_username, tpr.robot AS tpr_robot, cu.username AS t_connected
  FROM repositorybuild b
  JOIN repository r ON r.id = b.repository_id
  JOIN "user" n ON n.id = r.namespace_user_id
  LEFT JOIN "user" pr ON pr.id = b.pull_robot_id
  LEFT JOIN repositorybuildtrigger t ON t.id = b.trigger_id
  LEFT JOIN buildtriggerservice s ON s.id = t.service_id
  LEFT JOIN disablereason dr ON dr.id = t.disabled_reason_id
  LEFT JOIN "user" tpr ON tpr.id = t.pull_robot_id
  LEFT JOIN "user" cu ON cu.id = t.connected_user_id`;

interface BuildDbRow {
  uuid: string;
  phase: string;
  started: string;
  display_name: string;
  job_config: string | null;
  resource_key: string | null;
  logs_archived: unknown;
  queue_id: string | null;
  pr_username: string | null;
  pr_robot: unknown;
  ns: string;
  repo: string;
  t_id: number | null;
  t_uuid: string | null;
  t_service: string | null;
  t_config: string | null;
  t_enabled: unknown;
  t_disabled_reason: string | null;
  tpr_username: string | null;
  tpr_robot: unknown;
  t_connected: string | null;
}

const TRIGGER_SELECT = `SELECT t.id AS t_id, t.uuid AS t_uuid, s.name AS t_service, t.config AS t_config, t.enabled AS t_enabled,
    dr.name AS t_disabled_reason, tpr.username AS tpr_username, tpr.robot AS tpr_robot, cu.username AS t_connected,
    n.username AS ns, r.name AS repo
  FROM repositorybuildtrigger t
  JOIN buildtriggerservice s ON s.id = t.service_id
  JOIN repository r ON r.id = t.repository_id
  JOIN "user" n ON n.id = r.namespace_user_id
  LEFT JOIN disablereason dr ON dr.id = t.disabled_reason_id
  LEFT JOIN "user" tpr ON tpr.id = t.pull_robot_id
  LEFT JOIN "user" cu ON cu.id = t.connected_user_id`;

type TriggerDbRow = Pick<
  BuildDbRow,
  't_id' | 't_uuid' | 't_service' | 't_config' | 't_enabled' | 't_disabled_reason' | 'tpr_username' | 'tpr_robot' | 't_connected' | 'ns' | 'repo'
>;

function trigger(r: TriggerDbRow): TriggerRow | null {
  if (r.t_id === null || r.t_uuid === null) return null;
  return {
    id: r.t_id,
    uuid: r.t_uuid,
    service: r.t_service ?? '',
    config: r.t_config,
    enabled: bool(r.t_enabled),
    disabledReason: r.t_disabled_reason,
    pullRobot: r.tpr_username === null ? null : { username: r.tpr_username, robot: bool(r.tpr_robot) },
    connectedUser: r.t_connected,
    namespace: r.ns,
    repository: r.repo,
  };
}

function build(r: BuildDbRow): BuildRow {
  return {
    uuid: r.uuid,
    phase: r.phase,
    started: r.started,
    displayName: r.display_name,
    jobConfig: r.job_config,
    resourceKey: r.resource_key,
    logsArchived: bool(r.logs_archived),
    queueId: r.queue_id,
    pullRobot: r.pr_username === null ? null : { username: r.pr_username, robot: bool(r.pr_robot) },
    namespace: r.ns,
    repository: r.repo,
    trigger: trigger(r),
  };
}

export class BuildData {
  constructor(private readonly sql: PortableSql) {}

  /** get_repository_build: one build by uuid, or null. */
  async build(uuid: string): Promise<BuildRow | null> {
    const r = await this.sql.one<BuildDbRow>(`${BUILD_SELECT} WHERE b.uuid = @uuid ORDER BY b.started DESC LIMIT 1`, { uuid });
    return r ? build(r) : null;
  }

  /**
   * list_repository_builds (newest first, `limit` of them, started at or
   * after `since`), or list_trigger_builds with `triggerUuid`.
   */
  async builds(namespace: string, repository: string, o: { limit: number; since?: string | null; triggerUuid?: string }): Promise<BuildRow[]> {
    const where = ['r.name = @repo', 'n.username = @ns'];
    if (o.since !== undefined && o.since !== null) where.push('b.started >= @since');
    if (o.triggerUuid !== undefined) where.push('t.uuid = @trigger');
    const rows = await this.sql.all<BuildDbRow>(`${BUILD_SELECT} WHERE ${where.join(' AND ')} ORDER BY b.started DESC LIMIT @lim`, {
      repo: repository,
      ns: namespace,
      since: o.since ?? null,
      trigger: o.triggerUuid ?? null,
      lim: o.limit,
    });
    return rows.map(build);
  }

  /** list_build_triggers of a repository. */
  async triggers(namespace: string, repository: string): Promise<TriggerRow[]> {
    const rows = await this.sql.all<TriggerDbRow>(`${TRIGGER_SELECT} WHERE n.username = @ns AND r.name = @repo`, { ns: namespace, repo: repository });
    return rows.map(trigger).filter((t): t is TriggerRow => t !== null);
  }

  /** get_build_trigger: by uuid in any repository (its connected user must exist: Quay's inner join). */
  async trigger(uuid: string): Promise<TriggerRow | null> {
    const r = await this.sql.one<TriggerDbRow>(`${TRIGGER_SELECT} WHERE t.uuid = @uuid AND cu.id IS NOT NULL`, { uuid });
    return r ? trigger(r) : null;
  }

  /** WorkQueue.has_retries_remaining: the queue item exists and has retries left. */
  async hasRetriesRemaining(queueId: string): Promise<boolean> {
    const r = await this.sql.one<{ retries_remaining: unknown }>('SELECT q.retries_remaining FROM queueitem q WHERE q.id = @id', { id: queueId });
    return r !== null && Number(r.retries_remaining) > 0;
  }
}

/** Quay's BuildStatusRetrievalError: Redis could not be read; the message is Quay's. */
export class BuildStatusRetrievalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildStatusRetrievalError';
  }
}

/** errno and strerror of the socket errors redis-py reports as "Error <n> connecting to <host>:<port>. <text>." */
const ERRNO: Readonly<Record<string, readonly [number, string]>> = {
  ECONNREFUSED: [111, 'Connection refused'],
  EHOSTUNREACH: [113, 'No route to host'],
  ENETUNREACH: [101, 'Network is unreachable'],
  ECONNRESET: [104, 'Connection reset by peer'],
  ENOTFOUND: [-2, 'Name or service not known'],
  EAI_AGAIN: [-3, 'Temporary failure in name resolution'],
};

/**
 * RedisBuildLogs: one connection per use (Quay keeps one per process; the
 * answers are the same), 1 s to connect, 2 s per command, no retries. Every
 * failure becomes BuildStatusRetrievalError with redis-py's wording.
 */
export class BuildLogs {
  private client: Redis | null = null;
  private connecting: Promise<Redis> | null = null;
  /** The socket error behind ioredis's "Connection is closed." (emitted as an 'error' event first). */
  private lastError: unknown = null;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly config: Readonly<Record<string, unknown>>) {
    this.host = typeof config.host === 'string' ? config.host : 'localhost';
    this.port = typeof config.port === 'number' ? config.port : 6379;
  }

  /** The connection, made on first use; a failure to connect is the command's failure, as in redis-py. */
  private redis(): Promise<Redis> {
    if (!this.connecting) {
      const client = this.makeClient();
      this.connecting = client.connect().then(() => client);
    }
    return this.connecting;
  }

  private makeClient(): Redis {
    if (!this.client) {
      const c = this.config;
      this.client = new Redis({
        host: this.host,
        port: this.port,
        db: typeof c.db === 'number' ? c.db : 0,
        password: typeof c.password === 'string' ? c.password : undefined,
        username: typeof c.username === 'string' ? c.username : undefined,
        tls: c.ssl === true ? {} : undefined,
        lazyConnect: true,
        connectTimeout: 1000,
        commandTimeout: 2000,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: true,
        retryStrategy: () => null,
      });
      this.client.on('error', (e: unknown) => {
        this.lastError = e; // reported through the command that failed
      });
    }
    return this.client;
  }

  private failure(e: unknown, what: string): BuildStatusRetrievalError {
    const err = ((e as { code?: string }).code === undefined && this.lastError ? this.lastError : e) as { code?: string; message?: string };
    const known = err.code ? ERRNO[err.code] : undefined;
    let text: string;
    if (known) text = `Error ${known[0]} connecting to ${this.host}:${this.port}. ${known[1]}.`;
    else if (/timed? ?out/i.test(err.message ?? '')) text = 'Timeout connecting to server';
    else text = err.message ?? String(e);
    return new BuildStatusRetrievalError(`Cannot retrieve ${what}: ${text}`);
  }

  /** get_status: the status JSON text (the caller parses it), or null when there is none. */
  async getStatus(buildUuid: string): Promise<string | null> {
    try {
      return await (await this.redis()).get(`builds/${buildUuid}/status`);
    } catch (e) {
      throw this.failure(e, 'build status');
    }
  }

  /** get_log_entries: the list's length and the entries (JSON texts) from `start` on. */
  async getLogEntries(buildUuid: string, start: number): Promise<[number, string[]]> {
    const key = `builds/${buildUuid}/logs`;
    try {
      const redis = await this.redis();
      const llen = await redis.llen(key);
      const entries = await redis.lrange(key, start, -1);
      return [llen, entries];
    } catch (e) {
      throw this.failure(e, 'build logs');
    }
  }

  close(): void {
    this.client?.disconnect();
    this.client = null;
    this.connecting = null;
  }
}
