/**
 * repositoryactioncounter (Quay's workers/repositoryactioncounter.py, with
 * data/model/repositoryactioncount.py): every 4 hours, each repository that
 * has no count for yesterday gets one — its rows in the three log tables on
 * that day — and its search score is recomputed from its stored counts.
 *
 * "Yesterday" and "today" are the process's local calendar days, as Python's
 * `date.today()` reads them (UTC in Quay's container); the clock is `now`.
 * Two workers of either runtime never count a repository twice: the
 * (repository, date) unique index decides, and the loser moves on.
 */
import type { Logger } from '../../lib/log.js';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import { localDay, sqlLocalTime } from '../../dal/model/time.js';
import { ActionCounts } from '../../dal/portable/action-counts.js';
import type { WorkerProgram } from '../runner.js';

/** Quay's POLL_PERIOD_SECONDS. */
export const ACTION_COUNTER_EVERY_MS = 4 * 60 * 60 * 1000;

/**
 * Quay's SEARCH_BUCKETS: days back from today where each bucket ends, and
 * its weight. A bucket spans [today - days, today - previous bucket's days).
 */
export const SEARCH_BUCKETS: readonly (readonly [days: number, weight: number])[] = [
  [1, 0.01087],
  [7, 0.062815],
  [31, 0.21604],
  [183, 0.71028],
];

/** RAC_RETENTION_PERIOD: counts older than this go when FEATURE_CLEAR_EXPIRED_RAC_ENTRIES is on. */
export const RAC_RETENTION_DAYS = 365;

/** Repositories read per query while looking for missing counts. */
const BATCH = 100;

/** update_repository_score's arithmetic: each bucket's mean daily count times its weight, summed, ×100, truncated. */
export function searchScore(buckets: readonly { readonly sum: number | null; readonly days: number }[]): number {
  let score = 0.0;
  buckets.forEach((b, i) => {
    if (b.sum === null || !b.days) return;
    score += (b.sum / b.days) * SEARCH_BUCKETS[i]![1];
  });
  return Math.trunc(score * 100.0);
}

export interface ActionCounterDeps {
  readonly sql: PortableSql;
  readonly log: Logger;
  readonly quayConfig: Readonly<Record<string, unknown>>;
  readonly now?: () => number;
}

export function repositoryActionCounter(d: ActionCounterDeps): WorkerProgram {
  const now = d.now ?? Date.now;
  const program = 'repositoryactioncounter';
  const data = new ActionCounts(d.sql);
  const clearExpired = d.quayConfig.FEATURE_CLEAR_EXPIRED_RAC_ENTRIES === true;
  const logsModel = typeof d.quayConfig.LOGS_MODEL === 'string' ? d.quayConfig.LOGS_MODEL : 'database';
  let said = false;

  /** _count_repository_actions and update_repository_score for one repository; false when another worker got there first. */
  const countOne = async (id: number): Promise<{ counted: boolean; expired: number }> => {
    const at = now();
    const yesterday = localDay(at, -1);
    const actions = await data.countActions(id, yesterday, localDay(at, 0));
    if (!(await data.store(id, yesterday, actions))) return { counted: false, expired: 0 };
    const scoredAt = now();
    const today = localDay(scoredAt, 0);
    const buckets = [];
    let endDays = 0;
    for (const [days] of SEARCH_BUCKETS) {
      buckets.push(await data.totals(id, localDay(scoredAt, -days), localDay(scoredAt, -endDays)));
      endDays = days;
    }
    if (!(await data.saveScore(id, searchScore(buckets), sqlLocalTime(scoredAt), today))) return { counted: false, expired: 0 };
    const expired = clearExpired ? await data.deleteExpired(id, localDay(now(), -RAC_RETENTION_DAYS)) : 0;
    return { counted: true, expired };
  };

  return {
    program,
    everyMs: ACTION_COUNTER_EVERY_MS,
    async run(active) {
      if (logsModel !== 'database') {
        // Quay's worker asks its logs model (Elasticsearch, Splunk…); the TS side reads only the database's log tables.
        if (!said) d.log.warn(`${program}: idle: LOGS_MODEL is ${logsModel}; the TS side counts only the database's log tables (leave it with python)`, { program });
        said = true;
        return null;
      }
      const yesterday = localDay(now(), -1);
      if ((await data.repositoryIdRange()) === null) return null;
      if ((await data.countedOn(yesterday)) >= (await data.repositoryCount())) return null;
      let counted = 0;
      let taken = 0;
      let expired = 0;
      let after = 0;
      for (;;) {
        const ids = await data.missing(yesterday, after, BATCH);
        if (ids.length === 0) break;
        for (const id of ids) {
          if (!active()) return { day: yesterday, counted, taken_by_another: taken, expired_deleted: expired, stopped: true };
          const r = await countOne(id);
          if (r.counted) counted++;
          else taken++;
          expired += r.expired;
          after = id;
        }
      }
      return { day: yesterday, counted, taken_by_another: taken, expired_deleted: expired };
    },
  };
}
