/**
 * What Quay records about registry activity besides the content itself: the
 * action log (`logentry3`) and the repository notifications a push queues
 * (`queueitem`). Each row is the one Quay writes for the same request, field
 * for field:
 *
 *   request                                   kind (metadata beyond repo, namespace, user-agent)
 *   manifest GET/HEAD by tag                  pull_repo   tag, mediaType
 *   manifest GET/HEAD by digest               pull_repo   manifest_digest, mediaType
 *   manifest PUT by tag                       push_repo   tag, mediaType   (+ repo_push notifications)
 *   manifest DELETE by tag                    delete_tag  tag, digest (= the tag, as Quay writes it)
 *   manifest DELETE by digest                 delete_tag  tag, digest      (one row per tag ended)
 *   refused pull/push/delete, when audited    pull_repo_failed / push_repo_failed / delete_tag_failed
 *   /v2/auth without scope (docker login)     login_success
 *
 * then the caller's public metadata (`username`, `is_robot`, app-token
 * fields) and `resolved_ip` (ip-resolver.ts), in Quay's key order, as
 * Python's json.dumps writes it (util/audit.py track_and_log; endpoints/api
 * log_unauthorized; endpoints/v2/v2auth.py). `account_id` is the namespace,
 * `performer_id` the caller (none when anonymous), `ip` the client's address.
 * Rows are committed before the response, as Quay does (concurrent requests
 * share a commit: metadata/group-commit.ts): a failed write fails the request,
 * unless ALLOW_WITHOUT_STRICT_LOGGING (or, for pulls and logins,
 * ALLOW_PULLS_WITHOUT_STRICT_LOGGING) says otherwise, and then the response
 * does not wait for the row.
 */
import { QUAY_DEFAULTS } from '../../owner-maps/quay-defaults.js';
import type { Logger } from '../../lib/log.js';
import type { AuthStore, UserRow } from '../../dal/model/auth-store.js';
import type { MetadataStore, RepositoryRef } from '../../dal/model/store.js';
import type { TokenClaims } from '../auth/tokens.js';
import { pythonJsonDumps, type PyJson } from '../../lib/python-json.js';
import { QUAY_QUEUES } from '../../dal/portable/quay-queues.js';
import type { IpResolver } from './ip-resolver.js';

/** The facts of a request Quay's logs record. */
export interface Requester {
  /** The client's address (Quay's request.remote_addr); null when unknown. */
  readonly ip: string | null;
  /** The User-Agent header as sent, '' when absent (Werkzeug's user_agent.string). */
  readonly userAgent: string;
  /** The registry token's claims; null without a token. */
  readonly claims: TokenClaims | null;
}

/** The logged-in entity of a request, as Quay's auth context describes it. */
interface Actor {
  /** `performer_id`: null when the user is disabled (Quay's authed_user). */
  readonly performerId: number | null;
  readonly user: UserRow;
  /** analytics_id_and_public_metadata: what every log of the request adds. */
  readonly metadata: Readonly<Record<string, PyJson>>;
}

export interface ActivitySettings {
  /** ACTION_LOG_AUDIT_PULL_FAILURES, ACTION_LOG_AUDIT_PUSH_FAILURES, ACTION_LOG_AUDIT_DELETE_FAILURES. */
  readonly auditFailures: { readonly pull: boolean; readonly push: boolean; readonly delete: boolean };
  /** ACTION_LOG_AUDIT_LOGINS (Quay's default: true). */
  readonly auditLogins: boolean;
  /** ACTION_LOG_AUDIT_LOGIN_FAILURES. */
  readonly auditLoginFailures: boolean;
  /** DISABLED_FOR_AUDIT_LOGS: namespaces nothing is logged for. */
  readonly disabledNamespaces: readonly string[];
  /** DISABLED_FOR_PULL_LOGS: namespaces pulls are not logged for. */
  readonly disabledPullNamespaces: readonly string[];
  /** SERVICE_LOG_ACCOUNT_ID: the account of logs without a namespace (default: the lowest user id). */
  readonly serviceLogAccountId: number | null;
  /** ALLOW_WITHOUT_STRICT_LOGGING, ALLOW_PULLS_WITHOUT_STRICT_LOGGING. */
  readonly lenient: { readonly all: boolean; readonly pulls: boolean };
  /** SERVER_HOSTNAME and PREFERRED_URL_SCHEME, for notification event data. */
  readonly serverHostname: string;
  readonly urlScheme: string;
  /** NOTIFICATION_QUEUE_NAME: the queue notifications are put on (Quay's default `notification`). */
  readonly notificationQueue: string;
}

export const DEFAULT_ACTIVITY: ActivitySettings = {
  auditFailures: { pull: QUAY_DEFAULTS.ACTION_LOG_AUDIT_PULL_FAILURES, push: QUAY_DEFAULTS.ACTION_LOG_AUDIT_PUSH_FAILURES, delete: QUAY_DEFAULTS.ACTION_LOG_AUDIT_DELETE_FAILURES },
  auditLogins: QUAY_DEFAULTS.ACTION_LOG_AUDIT_LOGINS,
  auditLoginFailures: QUAY_DEFAULTS.ACTION_LOG_AUDIT_LOGIN_FAILURES,
  disabledNamespaces: [],
  disabledPullNamespaces: [],
  serviceLogAccountId: null,
  lenient: { all: false, pulls: false },
  serverHostname: 'localhost',
  urlScheme: 'http',
  notificationQueue: QUAY_QUEUES.notification.fallback,
};

/** Kinds a failed write may be skipped for under ALLOW_PULLS_WITHOUT_STRICT_LOGGING (data/model/log.py). */
const PULL_LIKE: ReadonlySet<string> = new Set(['pull_repo', 'login_failure', 'pull_repo_failed', 'login_success', 'logout_success']);
/** Quay's message for an Unauthorized (endpoints/v2/errors.py). */
const UNAUTHORIZED_TEXT = 'access to the requested resource is not authorized';
const FAILED_KIND = { pull: 'pull_repo_failed', push: 'push_repo_failed', delete: 'delete_tag_failed' } as const;
/** Quay's Digest.parse_digest pattern: a reference that matches is a digest, anything else a tag. */
const DIGEST = /^[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+$/;

export type RefusedAction = keyof typeof FAILED_KIND;

export interface ActivityDeps {
  readonly store: MetadataStore;
  readonly users: AuthStore;
  readonly ips: IpResolver;
  readonly settings: ActivitySettings;
  readonly log: Logger;
  readonly now: () => number;
}

export class ActivityLog {
  private readonly actors = new WeakMap<TokenClaims, Promise<Actor | null>>();
  private readonly disabled: ReadonlySet<string>;
  private readonly disabledPulls: ReadonlySet<string>;

  constructor(private readonly d: ActivityDeps) {
    this.disabled = new Set(d.settings.disabledNamespaces);
    this.disabledPulls = new Set(d.settings.disabledPullNamespaces);
  }

  /** pull_repo for a manifest served (GET or HEAD), by tag or by digest, with the media type served. */
  async pulled(repo: RepositoryRef, who: Requester, ref: { readonly tag: string } | { readonly digest: string }, mediaType: string): Promise<void> {
    const kwargs: Record<string, PyJson> = 'tag' in ref ? { tag: ref.tag, mediaType } : { manifest_digest: ref.digest, mediaType };
    await this.track('pull_repo', repo, who, kwargs);
  }

  /** push_repo for a manifest stored under a tag, then the repository's repo_push notifications. */
  async pushed(repo: RepositoryRef, who: Requester, tag: string, mediaType: string): Promise<void> {
    const actor = await this.track('push_repo', repo, who, { tag, mediaType });
    await this.notifyPush(repo, tag, actor);
  }

  /** delete_tag for each tag a manifest DELETE ended; `reference` is the path's tag or digest. */
  async tagsDeleted(repo: RepositoryRef, who: Requester, tags: readonly string[], reference: string): Promise<void> {
    for (const tag of tags) await this.track('delete_tag', repo, who, { tag, digest: reference });
  }

  /** Whether refusals of `action` are audited (ACTION_LOG_AUDIT_*_FAILURES). */
  audits(action: RefusedAction): boolean {
    return this.d.settings.auditFailures[action];
  }

  /**
   * A request refused for want of permission (not for a bad token): Quay's
   * log_unauthorized, when the action is audited. `reference` is the
   * manifest route's tag or digest (null on the upload route).
   */
  async refused(action: RefusedAction, namespace: string, name: string, reference: string | null, who: Requester): Promise<void> {
    if (!this.d.settings.auditFailures[action]) return;
    const metadata: Record<string, PyJson> = { namespace, repo: name };
    if (reference !== null) metadata[DIGEST.test(reference) ? 'manifest_digest' : 'tag'] = reference;
    const accountId = await this.d.store.namespaceId(namespace);
    const repo = accountId === null ? null : await this.d.store.lookupRepository(namespace, name);
    metadata.message = accountId === null ? 'Namespace does not exist' : repo === null ? 'Repository does not exist' : UNAUTHORIZED_TEXT;
    const actor = await this.actor(who.claims);
    await this.write(FAILED_KIND[action], accountId === null ? null : namespace, {
      accountId: accountId ?? this.d.settings.serviceLogAccountId,
      performerId: actor?.performerId ?? null,
      repositoryId: repo?.id ?? null,
      ip: who.ip,
      metadata,
    });
  }

  /**
   * login_success for a /v2/auth request without any `scope` (docker login),
   * when ACTION_LOG_AUDIT_LOGINS is on: the account is the user's, or the
   * robot's owner; the performer the one logged in; no resolved_ip.
   */
  async loggedIn(
    p: { readonly kind: 'user' | 'robot' | 'appspecifictoken'; readonly user: UserRow; readonly title?: string },
    ip: string | null,
    userAgent: string,
  ): Promise<void> {
    if (!this.d.settings.auditLogins) return;
    const metadata: Record<string, PyJson> =
      p.kind === 'user'
        ? { kind: 'user' }
        : p.kind === 'robot'
          ? { kind: 'robot', robot: p.user.username }
          : { kind: 'app_specific_token', app_specific_token_title: p.title ?? '' };
    metadata.type = 'v2auth';
    metadata.useragent = userAgent;
    const account = p.kind === 'robot' ? p.user.username.split('+')[0]! : p.user.username;
    const performerId = p.user.enabled ? p.user.id : null;
    await this.write('login_success', account, { accountId: await this.d.store.namespaceId(account), performerId, repositoryId: null, ip, metadata });
  }

  /**
   * login_failure for a refused /v2/auth login, when ACTION_LOG_AUDIT_LOGIN_FAILURES
   * is on (domain/auth/credentials.ts builds the metadata per case, as auth/credentials.py does):
   * `account` a user or namespace name, null for none (SERVICE_LOG_ACCOUNT_ID or
   * the lowest user id); no resolved_ip.
   */
  async loginFailed(account: string | null, performerId: number | null, metadata: Readonly<Record<string, string>>, ip: string | null): Promise<void> {
    if (!this.d.settings.auditLoginFailures) return;
    const accountId = account === null ? this.d.settings.serviceLogAccountId : await this.d.store.namespaceId(account);
    await this.write('login_failure', account, { accountId, performerId, repositoryId: null, ip, metadata });
  }

  /** Quay's track_and_log: the row for `repo`, with the request's facts; the caller it resolved. */
  private async track(kind: string, repo: RepositoryRef, who: Requester, kwargs: Record<string, PyJson>): Promise<Actor | null> {
    const actor = await this.actor(who.claims);
    const metadata: Record<string, PyJson> = { repo: repo.name, namespace: repo.namespace, 'user-agent': who.userAgent, ...kwargs, ...actor?.metadata };
    const resolved = this.d.ips.resolve(who.ip);
    if (resolved !== null) metadata.resolved_ip = { ...resolved };
    await this.write(kind, repo.namespace, { accountId: repo.namespaceId, performerId: actor?.performerId ?? null, repositoryId: repo.id, ip: who.ip, metadata });
    return actor;
  }

  /**
   * One row, unless the namespace is exempt (should_skip_logging). Strict
   * (Quay's default): the caller waits for the commit and a failure fails it.
   * Lenient for this kind: a failure could not change the answer, so the row
   * is written behind it and a failure only logged.
   */
  private async write(
    kind: string,
    namespace: string | null,
    e: {
      readonly accountId: number | null;
      readonly performerId: number | null;
      readonly repositoryId: number | null;
      readonly ip: string | null;
      readonly metadata: Readonly<Record<string, PyJson>>;
    },
  ): Promise<void> {
    if (namespace !== null && (this.disabled.has(namespace) || (kind === 'pull_repo' && this.disabledPulls.has(namespace)))) return;
    const written = this.d.store.logAction({
      kind,
      accountId: e.accountId,
      performerId: e.performerId,
      repositoryId: e.repositoryId,
      ip: e.ip,
      metadataJson: pythonJsonDumps(e.metadata),
      nowMs: this.d.now(),
    });
    const lenient = this.d.settings.lenient.all || (this.d.settings.lenient.pulls && PULL_LIKE.has(kind));
    if (!lenient) return written;
    written.catch((err: unknown) => this.d.log.error('action log write failed', { kind, namespace, error: String(err) }));
  }

  /**
   * The caller a token names (its `context`: Quay's SignedAuthContext), once
   * per token: AuthService hands out one claims object per token while it
   * trusts it, so this costs a lookup per token, not per request. An entity
   * that no longer exists is anonymous, as in Quay.
   */
  private actor(claims: TokenClaims | null): Promise<Actor | null> {
    if (claims === null) return Promise.resolve(null);
    let a = this.actors.get(claims);
    if (!a) {
      a = this.resolveActor(claims.context ?? {});
      this.actors.set(claims, a);
      a.catch(() => this.actors.delete(claims));
    }
    return a;
  }

  private async resolveActor(ctx: Record<string, unknown>): Promise<Actor | null> {
    const ref = ctx.entity_reference;
    if (typeof ref !== 'string') return null;
    const actor = (user: UserRow, metadata: Record<string, PyJson>): Actor => ({ performerId: user.enabled ? user.id : null, user, metadata });
    switch (ctx.entity_kind) {
      case 'user': {
        const u = await this.d.users.userByUuid(ref);
        return u ? actor(u, { username: u.username }) : null;
      }
      case 'robot': {
        const u = await this.d.users.userByName(ref);
        return u?.robot ? actor(u, { username: u.username, is_robot: true }) : null;
      }
      case 'appspecifictoken': {
        const t = await this.d.users.appTokenByUuid(ref, this.d.now());
        return t ? actor(t.user, { app_specific_token: t.uuid, app_specific_token_title: t.title, username: t.user.username }) : null;
      }
      default:
        return null;
    }
  }

  /**
   * Quay's spawn_notification(repo, "repo_push", {"updated_tags": [tag]}):
   * a `notification/<ns>/<repo>/repo_push/` queue item per notification the
   * repository has for the event, performer_data naming the caller.
   */
  private async notifyPush(repo: RepositoryRef, tag: string, actor: Actor | null): Promise<void> {
    const uuids = await this.d.store.repositoryNotifications(repo.id, 'repo_push');
    if (uuids.length === 0) return;
    const full = `${repo.namespace}/${repo.name}`;
    const host = this.d.settings.serverHostname;
    const eventData: Record<string, PyJson> = {
      repository: full,
      namespace: repo.namespace,
      name: repo.name,
      docker_url: `${host}/${full}`,
      homepage: `${this.d.settings.urlScheme}://${host}/repository/${full}`,
      updated_tags: [tag],
    };
    const performer: Record<string, PyJson> = actor && actor.performerId !== null ? { entity_id: actor.user.id, entity_name: actor.user.username } : {};
    await this.d.store.enqueue(
      uuids.map((uuid) => ({
        queueName: `${this.d.settings.notificationQueue}/${repo.namespace}/${repo.name}/repo_push/`,
        body: pythonJsonDumps({ notification_uuid: uuid, event_data: eventData, performer_data: performer }),
      })),
      this.d.now(),
    );
  }
}
