/**
 * Dates as Quay's API writes them. `formatDate` is endpoints/api format_date:
 * RFC 2822 through Python's email.utils.formatdate(timegm(d.utctimetuple())),
 * which writes GMT as `-0000`: `Tue, 02 Jan 2024 03:04:05 -0000`.
 */
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** RFC 2822 with `-0000`, seconds truncated (null stays null). */
export function formatDate(ms: number | null): string | null {
  if (ms === null) return null;
  const d = new Date(Math.floor(ms / 1000) * 1000);
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCFullYear()).padStart(4, '0')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} -0000`;
}

/** Python's `datetime.isoformat()` of a naive UTC datetime: microseconds only when non-zero. */
export function isoFormat(ms: number, micros = (ms % 1000) * 1000): string {
  const iso = new Date(ms).toISOString().slice(0, 19);
  return micros ? `${iso}.${String(Math.round(micros)).padStart(6, '0')}` : iso;
}
