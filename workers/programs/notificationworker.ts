/**
 * notificationworker: Quay's repository and namespace notifications, from
 * the `notification` queue (workers/notificationworker/, notifications/).
 * An item's body is Quay's: `{"notification_uuid", "event_data",
 * "performer_data"[, "notification_type": "namespace"]}`, put by whichever
 * runtime saw the event.
 *
 * Per item, as Quay's worker: the notification must exist with fewer than 3
 * failures (else the item is done, silently); the event's filter
 * (should_perform) may skip it; the method delivers; a delivery that worked
 * resets the notification's failure count, one that failed adds one and the
 * item is retried (JobError) after 30 s.
 *
 * Methods:
 *  - webhook: POST of `json.dumps(event_data)` (Python's serialisation, byte
 *    for byte) with `Content-type: application/json`, NOTIFICATION_SEND_TIMEOUT
 *    (10 s), redirects followed as Python requests follows them; not to
 *    localhost, 127.0.0.1 or WEBHOOK_HOSTNAME_BLACKLIST (logged, dropped).
 *    Not built: the `template` option (Quay's JSONTemplate) is a failed
 *    delivery here, and the client certificate Quay presents under
 *    PREFERRED_URL_SCHEME https (its ssl.cert/ssl.key) is not sent.
 *  - quay_notification: in-app notifications (`notification` rows) for the
 *    target user, organisation or team's members, the event data as metadata.
 *  - email, slack, flowdock, hipchat: their messages are rendered from Quay's
 *    templates, which the TS side does not build yet: each is a failed
 *    delivery (counted, retried), which is what Quay's own worker does when
 *    it cannot reach the mail server or the service (no mail server
 *    configured, no internet).
 */
import { Script } from 'node:vm';
import type { Logger } from '../../lib/log.js';
import { pythonJsonDumps, pythonJsonLoads, type PyJson } from '../../lib/python-json.js';
import type { Notifications, NotificationRow } from '../../dal/portable/notifications.js';
import { quayQueueName } from '../../dal/portable/quay-queues.js';
import { JobError } from '../queue-worker.js';

export interface NotificationSettings {
  /** NOTIFICATION_QUEUE_NAME (default `notification`). */
  readonly queueName: string;
  /** NOTIFICATION_SEND_TIMEOUT, seconds. */
  readonly sendTimeoutSeconds: number;
  /** localhost and 127.0.0.1, plus WEBHOOK_HOSTNAME_BLACKLIST. */
  readonly hostnameBlacklist: readonly string[];
}

export function notificationSettings(quayConfig: Readonly<Record<string, unknown>>): NotificationSettings {
  const extra = quayConfig.WEBHOOK_HOSTNAME_BLACKLIST;
  const timeout = quayConfig.NOTIFICATION_SEND_TIMEOUT;
  return {
    queueName: quayQueueName(quayConfig, 'notification'),
    sendTimeoutSeconds: typeof timeout === 'number' && timeout > 0 ? timeout : 10,
    hostnameBlacklist: ['localhost', '127.0.0.1', ...(Array.isArray(extra) ? extra.filter((h): h is string => typeof h === 'string') : [])],
  };
}

const REF_MATCH = new Script('new RegExp(pattern).test(ref)');

/** util/secscan PRIORITY_LEVELS indexes: lower is more severe. */
const PRIORITY_INDEX: Readonly<Record<string, number>> = { Critical: 0, High: 1, Medium: 2, Low: 3, Negligible: 4, Unknown: 5 };
const BUILD_EVENTS = new Set(['build_queued', 'build_start', 'build_success', 'build_failure', 'build_cancelled']);
const KNOWN_EVENTS = new Set([
  'repo_push',
  'repo_mirror_sync_started',
  'repo_mirror_sync_success',
  'repo_mirror_sync_failed',
  'vulnerability_found',
  ...BUILD_EVENTS,
  'repo_image_expiry',
  'quota_warning',
  'quota_error',
]);
const KNOWN_METHODS = new Set(['quay_notification', 'email', 'webhook', 'flowdock', 'hipchat', 'slack']);

type Obj = { readonly [k: string]: PyJson | undefined };
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function parseConfig(text: string | null): Obj {
  const v = pythonJsonLoads(text || '{}');
  return isObj(v) ? v : {};
}

/** The event's should_perform (notifications/notificationevent.py). */
export function shouldPerform(event: string, eventData: Obj, eventConfig: Obj): boolean {
  if (event === 'vulnerability_found') {
    if (!('level' in eventConfig)) return true;
    if ('vulnerable_index_report_created' in eventData) return true;
    const vuln = eventData.vulnerability;
    if (vuln === undefined) return false;
    const priority = isObj(vuln) && typeof vuln.priority === 'string' ? vuln.priority : 'Unknown';
    const index = PRIORITY_INDEX[priority];
    if (index === undefined) return false;
    return index <= Number(eventConfig.level);
  }
  if (BUILD_EVENTS.has(event)) {
    if (Object.keys(eventConfig).length === 0) return true;
    const refRegex = eventConfig['ref-regex'];
    if (refRegex === undefined || refRegex === null || refRegex === '' || refRegex === false) return true;
    const meta = eventData.trigger_metadata;
    const ref = isObj(meta) ? meta.ref : undefined;
    if (ref === undefined || ref === null) return false;
    try {
      // Python's re.match: anchored at the start only. The pattern is a repository admin's: it runs
      // under a time limit (a catastrophic one must not stall the process that also serves the
      // registry), and one that does not compile or does not finish fails the filter.
      return REF_MATCH.runInNewContext({ pattern: `^(?:${String(refRegex)})`, ref: String(ref).slice(0, 4096) }, { timeout: 100 }) === true;
    } catch {
      return false;
    }
  }
  return true;
}

/** A URL for a log line: without its credentials. */
function redacted(u: URL): string {
  const c = new URL(u.toString());
  c.username = '';
  c.password = '';
  return c.toString();
}

export interface NotificationDeps {
  readonly notifications: Notifications;
  readonly settings: NotificationSettings;
  readonly log: Logger;
  readonly now?: () => number;
  /** The HTTP client (tests may pass their own); default global fetch. */
  readonly fetch?: typeof fetch;
}

/** The work of one `notification` queue item. */
export function notificationJob(d: NotificationDeps): (job: Record<string, unknown>) => Promise<void> {
  const doFetch = d.fetch ?? fetch;
  const now = d.now ?? Date.now;

  async function webhook(n: NotificationRow, config: Obj, eventData: Obj): Promise<void> {
    const url = typeof config.url === 'string' ? config.url : '';
    if (!url) return;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      d.log.error('invalid webhook URL: dropped', { notification: n.uuid });
      return;
    }
    // Python's urlparse gives an IPv6 host without its brackets; the blacklist holds hosts as Quay reads them.
    const host = parsed.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || d.settings.hostnameBlacklist.includes(host)) {
      d.log.error('invalid webhook URL: dropped', { notification: n.uuid, url: redacted(parsed) });
      return;
    }
    // Python requests sends a URL's user:password as Basic auth; fetch refuses a URL holding them.
    const headers: Record<string, string> = { 'Content-type': 'application/json' };
    if (parsed.username || parsed.password) {
      headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    const target = parsed.toString();
    if (config.template) throw new JobError('webhook body templates (JSONTemplate) are not built on the TS side: this delivery fails as an unrenderable template does');
    let resp: Response;
    try {
      resp = await doFetch(target, {
        method: 'POST',
        headers,
        body: pythonJsonDumps(eventData),
        signal: AbortSignal.timeout(d.settings.sendTimeoutSeconds * 1000),
        redirect: 'follow',
      });
    } catch (e) {
      throw new JobError(`webhook to ${target} was not sent: ${(e as Error).cause ? String((e as Error).cause) : (e as Error).message}`);
    }
    await resp.arrayBuffer().catch(() => undefined);
    if (Math.floor(resp.status / 100) !== 2) throw new JobError(`${resp.status} response for webhook to url: ${target}`);
  }

  async function inApp(n: NotificationRow & { readonly repository: string | null }, config: Obj, eventData: Obj): Promise<void> {
    const target = config.target;
    // Quay's find_targets: a missing target, an unknown user, organisation or team send nothing and are no failure.
    if (!isObj(target) || !target.kind) return;
    const name = typeof target.name === 'string' ? target.name : '';
    let ids: number[];
    if (target.kind === 'user') {
      // Quay: an unknown user is "just to be safe" an error message with status True: nothing sent, no failure.
      const id = /^[\x00-\x7f]*$/.test(name) ? await d.notifications.plainUserId(name) : null;
      ids = id === null ? [] : [id];
    } else if (target.kind === 'org') {
      const id = await d.notifications.organizationId(name);
      if (id === null) ids = [];
      // Quay fails here outside its JobException handling (find_targets returns a pair where three values are
      // unpacked): no failure is counted and the item comes back after its reservation. A plain error does the same.
      else if (name !== n.namespace) throw new Error('Organization name must match repository namespace');
      else ids = [id];
    } else if (target.kind === 'team') {
      ids = (await d.notifications.teamMemberIds(n.namespace, name)) ?? [];
    } else throw new Error(`unknown notification target kind ${String(target.kind)}`); // as above: Quay's find_targets returns None
    if (ids.length === 0) return;
    await d.notifications.createUserNotifications(n.event, [...new Set(ids)], pythonJsonDumps(eventData), now());
  }

  return async (job) => {
    const kind = job.notification_type === 'namespace' ? 'namespace' : 'repository';
    const uuid = job.notification_uuid;
    if (typeof uuid !== 'string') throw new JobError('the item has no notification_uuid');
    const n = await d.notifications.enabledForDelivery(kind, uuid);
    if (n === null) return;
    if (!KNOWN_METHODS.has(n.method)) throw new JobError(`Cannot find notification method: Unable to find method: ${n.method}`);
    if (!KNOWN_EVENTS.has(n.event)) throw new JobError(`Cannot find notification event: Unable to find event: ${n.event}`);
    // The body as Python's json.loads read it (queue-worker.ts): floats and key order are written back exactly as put.
    const eventData = (job as Obj).event_data;
    if (!isObj(eventData)) {
      // Quay reads job_details["event_data"] before its delivery's try block: a KeyError no failure count sees.
      throw new JobError('the item has no event_data');
    }
    if (!shouldPerform(n.event, eventData, parseConfig(n.eventConfigJson))) return;
    const config = parseConfig(n.configJson);
    try {
      switch (n.method) {
        case 'webhook':
          await webhook(n, config, eventData);
          break;
        case 'quay_notification':
          await inApp(n, config, eventData);
          break;
        default:
          throw new JobError(`the ${n.method} method's message is rendered from Quay's templates, which the TS side does not build: not delivered`);
      }
    } catch (e) {
      if (e instanceof JobError) await d.notifications.recordDelivery(kind, n.id, false);
      throw e;
    }
    await d.notifications.recordDelivery(kind, n.id, true);
  };
}
