/**
 * The SQL of Quay's repository action counter (data/model/repositoryactioncount.py
 * and the table logs model's count_repository_actions): one row per
 * repository and calendar day in `repositoryactioncount` (unique on
 * repository and date), and one popularity score per repository in
 * `repositorysearchscore` (unique on repository), which search orders by.
 *
 * Days are `YYYY-MM-DD` text, as Python's `date` reaches both databases
 * (SQLite stores that text; PostgreSQL's `date` column reads it). The log
 * tables' timestamps compare with a day as with its midnight in both.
 */
import type { PortableSql } from '../model/portable-sql.js';

/** A repository's stored counts over a span of days. */
export interface BucketTotals {
  /** SUM(count) over the days, or null when there are none. */
  readonly sum: number | null;
  readonly days: number;
}

export class ActionCounts {
  constructor(private readonly sql: PortableSql) {}

  /** Lowest and highest repository id, or null without repositories. */
  async repositoryIdRange(): Promise<{ min: number; max: number } | null> {
    const r = await this.sql.one<{ lo: number | null; hi: number | null }>('SELECT MIN(id) AS lo, MAX(id) AS hi FROM repository');
    return r?.lo === null || r?.lo === undefined || r.hi === null ? null : { min: Number(r.lo), max: Number(r.hi) };
  }

  /** get_repository_count: every repository, whatever its state. */
  async repositoryCount(): Promise<number> {
    return Number((await this.sql.one<{ n: number | string }>('SELECT COUNT(*) AS n FROM repository'))?.n ?? 0);
  }

  /** found_entry_count: how many repositories have a count for `day`. */
  async countedOn(day: string): Promise<number> {
    return Number((await this.sql.one<{ n: number | string }>('SELECT COUNT(*) AS n FROM repositoryactioncount WHERE date = @day', { day }))?.n ?? 0);
  }

  /** missing_counts_query: ids of repositories above `afterId` without a count for `day`, lowest first. */
  async missing(day: string, afterId: number, limit: number): Promise<number[]> {
    const rows = await this.sql.all<{ id: number }>(
      `SELECT r.id FROM repository r LEFT OUTER JOIN repositoryactioncount rac ON rac.repository_id = r.id AND rac.date = @day
        WHERE rac.id IS NULL AND r.id > @after ORDER BY r.id LIMIT @limit`,
      { day, after: afterId, limit },
    );
    return rows.map((r) => Number(r.id));
  }

  /** count_repository_actions: the repository's rows in the three log tables from `day`'s midnight to `nextDay`'s. */
  async countActions(repositoryId: number, day: string, nextDay: string): Promise<number> {
    const one = (table: string): string => `(SELECT COUNT(*) FROM ${table} WHERE repository_id = @r AND datetime >= @day AND datetime < @next)`;
    const r = await this.sql.one<{ n: number | string }>(`SELECT ${one('logentry3')} + ${one('logentry2')} + ${one('logentry')} AS n`, {
      r: repositoryId,
      day,
      next: nextDay,
    });
    return Number(r?.n ?? 0);
  }

  /** store_repository_action_count: false when the repository already has a count for `day` (another worker's). */
  async store(repositoryId: number, day: string, count: number): Promise<boolean> {
    const n = await this.sql.run('INSERT INTO repositoryactioncount (repository_id, count, date) VALUES (@r, @count, @day) ON CONFLICT (repository_id, date) DO NOTHING', {
      r: repositoryId,
      count,
      day,
    });
    return n === 1;
  }

  /** The counts stored for days in [start, end). */
  async totals(repositoryId: number, start: string, end: string): Promise<BucketTotals> {
    const r = await this.sql.one<{ total: number | string | null; days: number | string }>(
      'SELECT SUM(count) AS total, COUNT(id) AS days FROM repositoryactioncount WHERE date >= @start AND date < @end AND repository_id = @r',
      { r: repositoryId, start, end },
    );
    return { sum: r?.total === null || r?.total === undefined ? null : Number(r.total), days: Number(r?.days ?? 0) };
  }

  /**
   * update_repository_score's write: an existing row takes the score and
   * `updatedAt` (Quay: datetime.now()); a new one is created with `today`
   * (Quay: date.today()). False when another worker created it meanwhile.
   */
  async saveScore(repositoryId: number, score: number, updatedAt: string, today: string): Promise<boolean> {
    const updated = await this.sql.run('UPDATE repositorysearchscore SET score = @score, last_updated = @at WHERE repository_id = @r', {
      r: repositoryId,
      score,
      at: updatedAt,
    });
    if (updated > 0) return true;
    const created = await this.sql.run(
      'INSERT INTO repositorysearchscore (repository_id, score, last_updated) VALUES (@r, @score, @today) ON CONFLICT (repository_id) DO NOTHING',
      { r: repositoryId, score, today },
    );
    return created === 1;
  }

  /**
   * delete_expired_entries: the repository's counts dated before `beforeDay`.
   * Quay compares the date column with a datetime (now less the retention),
   * which Peewee's DateField turns into that datetime's date first: the
   * count of that very day stays. Returns how many went.
   */
  deleteExpired(repositoryId: number, beforeDay: string): Promise<number> {
    return this.sql.run('DELETE FROM repositoryactioncount WHERE repository_id = @r AND date < @before', { r: repositoryId, before: beforeDay });
  }
}
