/**
 * Quay's action-log vocabulary, shared by the /api/v1 log rows and the
 * export worker (workers/programs/exportactionlogsworker.ts): one log entry
 * as Quay renders it (data/logs_model/datatypes.py `Log.to_dict`) and the
 * `%m/%d/%Y` dates its log requests carry.
 */
import { pythonJsonLoads, type PyJson } from '../lib/python-json.js';
import type { LogRow } from '../dal/portable/logs.js';
import { userAvatar } from './avatar.js';
import { formatDate } from './quay-dates.js';

/**
 * `Log.to_dict(avatar, include_namespace=False)`: kind (or `unknown`), the
 * metadata as Python's json.loads reads `metadata_json` (or `{}`), ip, the
 * RFC 2822 date, and the performer with its avatar when the row has one.
 * Keys in Quay's order, so `pythonJsonDumps` writes the text Quay writes.
 */
export function actionLogView(log: LogRow, kinds: ReadonlyMap<number, string>): Record<string, PyJson> {
  const view: Record<string, PyJson> = {
    kind: kinds.get(log.kindId) ?? 'unknown',
    metadata: pythonJsonLoads(log.metadataJson || '{}'),
    ip: log.ip,
    datetime: formatDate(Date.parse(`${log.datetime.slice(0, 19).replace(' ', 'T')}Z`)),
  };
  if (log.performer?.username) {
    const p = log.performer;
    view.performer = { kind: 'user', name: p.username, is_robot: p.robot, avatar: { ...userAvatar({ username: p.username, email: p.email, robot: p.robot }) } };
  }
  return view;
}

/**
 * Python's `datetime.strptime(s + " UTC", "%m/%d/%Y %Z")` as Quay's log
 * requests parse their dates (endpoints/api/logs.py `_parse_datetime`, the
 * export worker's `_parse_time`): midnight UTC in milliseconds, or null when
 * Python would raise ValueError.
 */
export function parseLogDate(s: string | null): number | null {
  if (!s) return null;
  const m = /^(1[0-2]|0[1-9]|[1-9])\/(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])\/(\d\d\d\d)\s+(utc|gmt)$/i.exec(`${s} UTC`);
  if (!m) return null;
  const [month, day, year] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < 1) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCDate() !== day) return null; // datetime() refuses 02/30
  return d.getTime();
}
