/**
 * Quay's work queue (data/queue.py WorkQueue) on its `queueitem` table,
 * written once for both dialects, so items put by real Quay are claimed by
 * the TS workers and the reverse, and two runtimes working one queue never
 * process an item twice.
 *
 * The protocol, as Quay's:
 *  - An item's `queue_name` is `<queue>/<part>/…/` (parts joined by "/", a
 *    trailing "/"); a worker takes any item whose name starts with `<queue>/`.
 *  - Available: `available_after <= now`, and either `available` or its
 *    processing time has expired (a worker that died holding it), and
 *    `retries_remaining > 0`. Running: not available and not yet expired.
 *  - Claim: pick one of the first 50 available items at random (or, ordered,
 *    the lowest id whose exact name has nothing running), then a
 *    compare-and-swap on `id` + `state_id`: one UPDATE, one changed row or
 *    nobody's. The claim takes a retry and sets `processing_expires`.
 *  - Every update writes a fresh `state_id` (Quay's save hook does), which is
 *    what makes the compare-and-swap safe against any other writer.
 *  - Complete deletes the row; incomplete makes it available again after
 *    `retry_after`, optionally giving the claim's retry back.
 *
 * Where this differs from Quay's, and why:
 *  - Quay selects rows for update and saves them in a transaction
 *    (incomplete, extend); here one UPDATE does the same change atomically,
 *    which SQLite can do too (it has no SELECT … FOR UPDATE).
 *  - Name prefixes are matched with LIKE with `%` and `_` escaped. Quay's
 *    purge by namespace does not escape them, so purging `my_org` also
 *    deletes the items of `myxorg`; this one deletes only `my_org`'s.
 *  - `fail` (ours): an item whose body cannot be read is marked spent
 *    (no retries left) at once instead of being retried until its retries
 *    run out; queuecleanupworker removes it after a day, as it does Quay's.
 */
import { randomUUID } from 'node:crypto';
import { likeEscape, type PortableSql } from '../model/portable-sql.js';
import { parseSqlTime, sqlTime } from '../model/time.js';

/** Quay's defaults (WorkQueue.get, incomplete, extend_processing; QueueItem.retries_remaining). */
export const QUEUE_DEFAULTS = {
  processingSeconds: 300,
  retryAfterSeconds: 300,
  retries: 5,
  minimumExtensionSeconds: 20,
  /** Unordered claims pick at random among this many available items. */
  candidates: 50,
} as const;

/** A claimed item, as WorkQueue.get returns it. */
export interface ClaimedItem {
  readonly id: number;
  readonly queueName: string;
  readonly body: string;
  /** After this claim's retry was taken. */
  readonly retriesRemaining: number;
}

export interface QueueStats {
  /** Items a worker could claim now. */
  readonly available: number;
  /** Items being processed (claimed, not expired). */
  readonly running: number;
  /** Items with no retries left (spent or failed), kept until queuecleanupworker removes them. */
  readonly spent: number;
  /** When the longest-waiting available item became available (ms since the epoch), or null. */
  readonly oldestAvailableMs: number | null;
}

export interface PutOptions {
  /** Seconds before a worker may take it (Quay's available_after). */
  readonly availableAfterSeconds?: number;
  readonly retries?: number;
}

/** `<queue>/<part>/…/`: Quay's canonical name. */
export function canonicalName(queue: string, parts: readonly string[]): string {
  return [queue, ...parts].join('/') + '/';
}

const AVAILABLE = `q.available_after <= @now AND (q.available = @yes OR q.processing_expires <= @now) AND q.retries_remaining > 0`;
const RUNNING = `q.available = @no AND q.processing_expires > @now`;

interface Row {
  id: number | string;
  queue_name: string;
  body: string;
  retries_remaining: number | string;
  state_id: string;
}

export class WorkQueue {
  /** LIKE pattern for this queue's items. */
  private readonly pattern: string;

  constructor(
    private readonly sql: PortableSql,
    /** Quay's queue name: `notification`, `repositorygc`, … */
    readonly name: string,
    private readonly opts: { readonly hasNamespace: boolean; readonly now?: () => number } = { hasNamespace: false },
  ) {
    this.pattern = `${likeEscape(name)}/%`;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** WorkQueue.put: the new item's id. */
  async put(parts: readonly string[], body: string, o: PutOptions = {}): Promise<number> {
    const row = await this.sql.one<{ id: number | string }>(
      `INSERT INTO queueitem (queue_name, body, available_after, available, processing_expires, retries_remaining, state_id)
      VALUES (@name, @body, @after, @yes, NULL, @retries, @sid) RETURNING id`,
      {
        name: canonicalName(this.name, parts),
        body,
        after: sqlTime(this.now() + (o.availableAfterSeconds ?? 0) * 1000),
        yes: true,
        retries: o.retries ?? QUEUE_DEFAULTS.retries,
        sid: randomUUID(),
      },
    );
    return Number(row!.id);
  }

  /**
   * WorkQueue.get: claim an available item for `processingSeconds`, or null
   * when there is none or another worker claimed the one picked (as Quay,
   * the caller polls again rather than retrying at once).
   */
  async get(o: { readonly processingSeconds?: number; readonly ordered?: boolean } = {}): Promise<ClaimedItem | null> {
    const nowMs = this.now();
    const p = { now: sqlTime(nowMs), yes: true, no: false, pattern: this.pattern };
    const picked = o.ordered
      ? await this.sql.one<Row>(
          `SELECT q.id, q.queue_name, q.body, q.retries_remaining, q.state_id FROM queueitem q
          WHERE q.queue_name LIKE @pattern ESCAPE '\\' AND ${AVAILABLE}
            AND q.queue_name NOT IN (SELECT q.queue_name FROM queueitem q WHERE q.queue_name LIKE @pattern ESCAPE '\\' AND ${RUNNING})
          ORDER BY q.id LIMIT 1`,
          p,
        )
      : await this.sql.one<Row>(
          `SELECT i.id, i.queue_name, i.body, i.retries_remaining, i.state_id FROM queueitem i
          JOIN (SELECT q.id FROM queueitem q WHERE q.queue_name LIKE @pattern ESCAPE '\\' AND ${AVAILABLE} LIMIT ${QUEUE_DEFAULTS.candidates}) j ON j.id = i.id
          ORDER BY random() LIMIT 1`,
          p,
        );
    if (picked === null) return null;
    const claimed = await this.sql.run(
      `UPDATE queueitem SET available = @no, processing_expires = @expires, retries_remaining = retries_remaining - 1, state_id = @sid
      WHERE id = @id AND state_id = @seen`,
      {
        no: false,
        expires: sqlTime(nowMs + (o.processingSeconds ?? QUEUE_DEFAULTS.processingSeconds) * 1000),
        sid: randomUUID(),
        id: Number(picked.id),
        seen: picked.state_id,
      },
    );
    if (claimed !== 1) return null;
    return { id: Number(picked.id), queueName: picked.queue_name, body: picked.body, retriesRemaining: Number(picked.retries_remaining) - 1 };
  }

  /** WorkQueue.complete: the item is done and deleted. False when it was already gone. */
  async complete(item: Pick<ClaimedItem, 'id'>): Promise<boolean> {
    return (await this.sql.run('DELETE FROM queueitem WHERE id = @id', { id: item.id })) > 0;
  }

  /**
   * WorkQueue.incomplete: available again after `retryAfterSeconds`; with
   * `restoreRetry` the claim's retry is given back (the worker, not the item,
   * was at fault). True when the item has retries left.
   */
  async incomplete(item: Pick<ClaimedItem, 'id'>, o: { readonly retryAfterSeconds?: number; readonly restoreRetry?: boolean } = {}): Promise<boolean> {
    const row = await this.sql.one<{ retries_remaining: number | string }>(
      `UPDATE queueitem SET available_after = @after, available = @yes, retries_remaining = retries_remaining + @restore, state_id = @sid
      WHERE id = @id RETURNING retries_remaining`,
      {
        after: sqlTime(this.now() + (o.retryAfterSeconds ?? QUEUE_DEFAULTS.retryAfterSeconds) * 1000),
        yes: true,
        restore: o.restoreRetry ? 1 : 0,
        sid: randomUUID(),
        id: item.id,
      },
    );
    return row !== null && Number(row.retries_remaining) > 0;
  }

  /**
   * WorkQueue.extend_processing: push the item's expiry to `secondsFromNow`
   * if that moves it by more than the minimum extension (20 s), and replace
   * its body when `body` is given and differs. True when anything changed.
   */
  async extend(item: Pick<ClaimedItem, 'id'>, secondsFromNow: number, o: { readonly body?: string; readonly minimumExtensionSeconds?: number } = {}): Promise<boolean> {
    const nowMs = this.now();
    const next = nowMs + secondsFromNow * 1000;
    const threshold = sqlTime(next - (o.minimumExtensionSeconds ?? QUEUE_DEFAULTS.minimumExtensionSeconds) * 1000);
    const changed = await this.sql.run(
      `UPDATE queueitem SET
        processing_expires = CASE WHEN processing_expires < @threshold THEN @next ELSE processing_expires END,
        body = COALESCE(CAST(@body AS TEXT), body),
        state_id = @sid
      WHERE id = @id AND (processing_expires < @threshold OR (CAST(@body AS TEXT) IS NOT NULL AND body <> CAST(@body AS TEXT)))`,
      { threshold, next: sqlTime(next), body: o.body ?? null, sid: randomUUID(), id: item.id },
    );
    return changed > 0;
  }

  /** Ours: an item that can never succeed (its body is unreadable) is spent at once: no retries left, not running. */
  async fail(item: Pick<ClaimedItem, 'id'>): Promise<boolean> {
    return (
      (await this.sql.run(`UPDATE queueitem SET retries_remaining = 0, available = @yes, processing_expires = @now, state_id = @sid WHERE id = @id`, {
        yes: true,
        now: sqlTime(this.now()),
        sid: randomUUID(),
        id: item.id,
      })) > 0
    );
  }

  /**
   * WorkQueue.delete_namespaced_items: every item under `<queue>/<namespace>/`
   * (or `<queue>/<namespace>/<subpath>/`); the number deleted, or null for a
   * queue whose names carry no namespace (Quay returns False).
   */
  async deleteNamespaced(namespace: string, subpath?: string): Promise<number | null> {
    if (!this.opts.hasNamespace) return null;
    const prefix = `${this.name}/${namespace}/${subpath ? `${subpath}/` : ''}`;
    return this.sql.run(`DELETE FROM queueitem WHERE queue_name LIKE @p ESCAPE '\\'`, { p: `${likeEscape(prefix)}%` });
  }

  /** WorkQueue.alive: an item with exactly this name is available or running. */
  async alive(parts: readonly string[]): Promise<boolean> {
    const r = await this.sql.one(`SELECT q.id FROM queueitem q WHERE q.queue_name = @name AND ((${AVAILABLE}) OR (${RUNNING})) LIMIT 1`, {
      name: canonicalName(this.name, parts),
      now: sqlTime(this.now()),
      yes: true,
      no: false,
    });
    return r !== null;
  }

  /** WorkQueue.num_alive_jobs: items under `<queue>/<parts…>` with retries left. */
  async aliveCount(parts: readonly string[]): Promise<number> {
    const prefix = [this.name, ...parts.map((p) => p.replace(/^\/+/, ''))].join('/');
    const r = await this.sql.one<{ n: number | string }>(`SELECT COUNT(*) AS n FROM queueitem WHERE queue_name LIKE @p ESCAPE '\\' AND retries_remaining > 0`, {
      p: `${likeEscape(prefix)}%`,
    });
    return Number(r?.n ?? 0);
  }

  /** Depth and age of the queue, for metrics. */
  async stats(): Promise<QueueStats> {
    const r = await this.sql.one<{ available: number | string | null; running: number | string | null; spent: number | string | null; oldest: string | Date | null }>(
      `SELECT
        SUM(CASE WHEN ${AVAILABLE} THEN 1 ELSE 0 END) AS available,
        SUM(CASE WHEN ${RUNNING} THEN 1 ELSE 0 END) AS running,
        SUM(CASE WHEN q.retries_remaining <= 0 THEN 1 ELSE 0 END) AS spent,
        MIN(CASE WHEN ${AVAILABLE} THEN q.available_after END) AS oldest
      FROM queueitem q WHERE q.queue_name LIKE @pattern ESCAPE '\\'`,
      { now: sqlTime(this.now()), yes: true, no: false, pattern: this.pattern },
    );
    return {
      available: Number(r?.available ?? 0),
      running: Number(r?.running ?? 0),
      spent: Number(r?.spent ?? 0),
      oldestAvailableMs: r?.oldest ? parseSqlTime(r.oldest) : null,
    };
  }
}

/**
 * queuecleanupworker's delete_expired: items whose processing expired before
 * `expiredBeforeMs`, in one batch of at most `batchSize`, and only when the
 * batch holds at least `deletionThreshold` of them. The number deleted.
 */
export async function deleteExpiredItems(sql: PortableSql, expiredBeforeMs: number, deletionThreshold: number, batchSize: number): Promise<number> {
  const p = { t: sqlTime(expiredBeforeMs), n: batchSize };
  const batch = `SELECT id FROM queueitem WHERE processing_expires <= @t LIMIT @n`;
  const r = await sql.one<{ n: number | string }>(`SELECT COUNT(*) AS n FROM (${batch}) b`, p);
  const found = Number(r?.n ?? 0);
  if (found === 0 || found < deletionThreshold) return 0;
  return sql.run(`DELETE FROM queueitem WHERE id IN (${batch})`, p);
}
