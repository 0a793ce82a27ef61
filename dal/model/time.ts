/**
 * Quay's timestamp columns are `timestamp without time zone` holding naive
 * UTC; in SQLite they are text in that same rendering, which sorts like time.
 */
export function sqlTime(ms: number): string {
  // 2026-11-28T07:45:36.123Z → 2026-11-28 07:45:36.123000
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** A timestamp as Quay's columns hold it (sqlTime of a Date). */
export function formatQuayTimestamp(d: Date): string {
  return sqlTime(d.getTime());
}

/**
 * The process's local time in the same rendering: what Python's naive
 * `datetime.now()` writes, the default of `logentry3.datetime` (the one
 * column Quay fills with local time; the same as sqlTime where TZ is UTC,
 * as in Quay's container).
 */
export function sqlLocalTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`;
}

export function parseSqlTime(v: string | Date | null): number {
  if (v === null) return 0;
  if (v instanceof Date) return v.getTime();
  return Date.parse(v.replace(' ', 'T') + (v.endsWith('Z') ? '' : 'Z'));
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * Python's `date.today() + timedelta(days=days)` at `ms`: the process's local
 * calendar day (UTC in Quay's container), as `YYYY-MM-DD`, the text Python
 * sends for a `date`.
 */
export function localDay(ms: number, days = 0): string {
  const t = new Date(ms);
  const d = new Date(t.getFullYear(), t.getMonth(), t.getDate() + days);
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
